// The per-user XDG directories and the bundled-resource lookup (engine/core/xdg_dirs.h,
// engine/core/resource_dir.h). The installed layout itself is exercised end to end by
// scripts/check-package, which runs the packaged binaries from a prefix outside the source tree.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/core/error.h"
#include "engine/core/resource_dir.h"
#include "engine/core/xdg_dirs.h"
#include "engine/io/hf_cache.h"

namespace fs = std::filesystem;

namespace {

// Sets (or unsets, with nullopt) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

fs::path temp_dir(const char* name) {
  const fs::path d = fs::temp_directory_path() / (std::string(name) + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(XdgDirs, DefaultsUnderHome) {
  ScopedEnv home("HOME", "/home/ada");
  ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  ScopedEnv config("XDG_CONFIG_HOME", std::nullopt);
  EXPECT_EQ(bb::xdg::app_data_dir(), "/home/ada/.local/share/bigbird-studio");
  EXPECT_EQ(bb::xdg::app_config_dir(), "/home/ada/.config/bigbird-studio");
}

TEST(XdgDirs, AbsoluteXdgVariablesWin) {
  ScopedEnv home("HOME", "/home/ada");
  ScopedEnv data("XDG_DATA_HOME", "/srv/data");
  ScopedEnv config("XDG_CONFIG_HOME", "/srv/config");
  EXPECT_EQ(bb::xdg::app_data_dir(), "/srv/data/bigbird-studio");
  EXPECT_EQ(bb::xdg::app_config_dir(), "/srv/config/bigbird-studio");
}

TEST(XdgDirs, RelativeOrEmptyXdgVariablesAreIgnored) {
  ScopedEnv home("HOME", "/home/ada");
  ScopedEnv data("XDG_DATA_HOME", "relative/data");
  ScopedEnv config("XDG_CONFIG_HOME", "");
  EXPECT_EQ(bb::xdg::app_data_dir(), "/home/ada/.local/share/bigbird-studio");
  EXPECT_EQ(bb::xdg::app_config_dir(), "/home/ada/.config/bigbird-studio");
}

TEST(XdgDirs, MissingHomeIsAClearError) {
  ScopedEnv home("HOME", std::nullopt);
  ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  try {
    bb::xdg::app_data_dir();
    FAIL() << "expected bb::Error";
  } catch (const bb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("HOME"), std::string::npos) << e.what();
  }
}

TEST(XdgDirs, TheModelCacheIsTheSharedHuggingFaceCacheNotOurs) {
  ScopedEnv home("HOME", "/home/ada");
  ScopedEnv hub("HF_HUB_CACHE", std::nullopt);
  ScopedEnv legacy("HUGGINGFACE_HUB_CACHE", std::nullopt);
  ScopedEnv hf("HF_HOME", std::nullopt);
  ScopedEnv cache("XDG_CACHE_HOME", std::nullopt);
  ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  EXPECT_EQ(bb::io::hf_hub_cache_dir(), "/home/ada/.cache/huggingface/hub");
  EXPECT_EQ(bb::io::hf_hub_cache_dir().find(bb::xdg::app_data_dir()), std::string::npos);
}

TEST(XdgDirs, EnsureDirCreatesPrivateParents) {
  const fs::path root = temp_dir("bb-xdg");
  const std::string leaf = (root / "a" / "b").string();
  EXPECT_EQ(bb::xdg::ensure_dir(leaf), leaf);
  EXPECT_TRUE(fs::is_directory(leaf));
  struct stat st{};
  ASSERT_EQ(::stat(leaf.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(bb::xdg::ensure_dir(leaf), leaf);  // idempotent
  fs::remove_all(root);
}

TEST(XdgDirs, EnsureDirUnderAFileFailsNamingThePath) {
  const fs::path root = temp_dir("bb-xdg-file");
  fs::create_directories(root);
  const fs::path file = root / "plain-file";
  { std::FILE* f = std::fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  try {
    bb::xdg::ensure_dir((file / "sub").string());
    FAIL() << "expected bb::Error";
  } catch (const bb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("plain-file"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

TEST(ResourceDir, EnvironmentOverrideWins) {
  ScopedEnv r("BIGBIRD_RESOURCES", "/opt/custom/resources");
  EXPECT_EQ(bb::resource_dir(), "/opt/custom/resources");
  EXPECT_EQ(bb::resource_path("vocab/gpt2.model"), "/opt/custom/resources/vocab/gpt2.model");
}

TEST(ResourceDir, InstalledLayoutIsShareBesideBin) {
  EXPECT_EQ(bb::installed_resource_dir("/usr/bin"), "/usr/share/bigbird-studio");
  EXPECT_EQ(bb::installed_resource_dir("/tmp/prefix/usr/bin"), "/tmp/prefix/usr/share/bigbird-studio");
}

TEST(ResourceDir, BuildTreeFallsBackToTheSourceTree) {
  ScopedEnv r("BIGBIRD_RESOURCES", std::nullopt);
  EXPECT_EQ(bb::resource_dir(), std::string(BIGBIRD_RESOURCE_DIR));
  EXPECT_TRUE(fs::exists(bb::resource_path("vocab/gpt2.model")));
}
