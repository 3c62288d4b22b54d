#include "ui/models/model_catalog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "engine/core/error.h"
#include "engine/core/xdg_dirs.h"
#include "engine/io/hf_cache.h"

namespace bb::ui {

namespace fs = std::filesystem;

namespace {

uint64_t bytesUnder(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (fs::is_regular_file(it->path(), e2)) n += fs::file_size(it->path(), e2);  // follows symlinks
  }
  return n;
}

std::string readFirstLine(const fs::path& p) {
  std::string s;
  std::ifstream(p) >> s;
  return s;
}

// True when `path` is `root` or lies inside it (lexically, after normalisation).
bool inside(const fs::path& path, const std::string& root) {
  if (root.empty()) return false;
  const fs::path p = fs::weakly_canonical(path), r = fs::weakly_canonical(root);
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi)
    if (pi == p.end() || *pi != *ri) return false;
  return true;
}

void scanHfCache(const std::string& cache, std::vector<ModelEntry>& out) {
  std::error_code ec;
  if (cache.empty() || !fs::is_directory(cache, ec)) return;
  std::vector<fs::path> repos;
  for (const auto& e : fs::directory_iterator(cache, ec))
    if (e.is_directory() && e.path().filename().string().rfind("models--", 0) == 0) repos.push_back(e.path());
  std::sort(repos.begin(), repos.end());
  for (const fs::path& repo : repos) {
    const std::string dirName = repo.filename().string().substr(8);  // org--name -> org/name
    std::string name;
    for (size_t i = 0; i < dirName.size(); ++i) {
      if (dirName.compare(i, 2, "--") == 0) {
        name += '/';
        ++i;
      } else {
        name += dirName[i];
      }
    }
    std::map<std::string, std::string> refOf;  // commit -> ref name
    for (const auto& r : fs::directory_iterator(repo / "refs", ec))
      if (r.is_regular_file()) refOf[readFirstLine(r.path())] = r.path().filename().string();
    ec.clear();
    for (const auto& s : fs::directory_iterator(repo / "snapshots", ec)) {
      if (!s.is_directory()) continue;
      ModelEntry m;
      m.source = ModelSource::HfCache;
      m.name = name;
      const std::string commit = s.path().filename().string();
      m.revision = refOf.count(commit) ? refOf[commit] : commit.substr(0, 10);
      m.path = s.path().string();
      m.root = repo.string();
      m.bytes = bytesUnder(s.path());
      m.hasConfig = fs::exists(s.path() / "config.json");
      out.push_back(m);
    }
    ec.clear();
  }
}

void scanStudio(const std::string& dir, std::vector<ModelEntry>& out) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().find(".tmp") == std::string::npos) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& d : dirs) {
    ModelEntry m;
    m.source = ModelSource::Studio;
    m.name = d.filename().string();
    m.path = m.root = d.string();
    m.bytes = bytesUnder(d);
    m.hasConfig = fs::exists(d / "config.json");
    out.push_back(m);
  }
}

}  // namespace

const char* to_string(ModelSource s) {
  switch (s) {
    case ModelSource::HfCache:
      return "HF cache";
    case ModelSource::Studio:
      return "Studio";
    case ModelSource::Bundled:
      return "Bundled";
  }
  return "?";
}

std::string studioModelsDir() { return xdg::app_data_dir() + "/models"; }

ModelRoots defaultModelRoots(const std::vector<std::string>& bundledDirs) {
  ModelRoots r;
  r.hfCache = io::hf_hub_cache_dir();
  r.studioModels = studioModelsDir();
  r.bundledDirs = bundledDirs;
  return r;
}

std::vector<ModelEntry> scanModels(const ModelRoots& roots) {
  std::vector<ModelEntry> out;
  try {
    scanHfCache(roots.hfCache, out);
    scanStudio(roots.studioModels, out);
  } catch (const std::exception&) {
    // A directory vanishing while we look: show what was found.
  }
  std::set<std::string> seen;
  for (const std::string& d : roots.bundledDirs) {
    std::error_code ec;
    if (!fs::exists(fs::path(d) / "config.json", ec)) continue;
    const std::string canonical = fs::weakly_canonical(d, ec).string();
    if (!seen.insert(canonical).second) continue;
    ModelEntry m;
    m.source = ModelSource::Bundled;
    m.name = "default (bundled)";
    m.path = m.root = d;
    m.bytes = bytesUnder(d);
    m.hasConfig = true;
    out.push_back(m);
  }
  return out;
}

void deleteModel(const ModelEntry& m, const ModelRoots& roots) {
  std::error_code ec;
  switch (m.source) {
    case ModelSource::Bundled:
      throw Error(m.path + ": the bundled model is part of the app and cannot be deleted");
    case ModelSource::Studio:
      if (!inside(m.path, roots.studioModels) || fs::weakly_canonical(m.path) == fs::weakly_canonical(roots.studioModels))
        throw Error(m.path + ": not a model in the studio's data directory " + roots.studioModels + "; not deleted");
      fs::remove_all(m.path, ec);
      if (ec) throw Error(m.path + ": cannot delete (" + ec.message() + ")");
      return;
    case ModelSource::HfCache: {
      const fs::path repo = m.root, snap = m.path;
      if (!inside(repo, roots.hfCache) || repo.filename().string().rfind("models--", 0) != 0 || snap.parent_path() != repo / "snapshots")
        throw Error(m.path + ": not a snapshot in the Hugging Face cache " + roots.hfCache + "; not deleted");
      const std::string commit = snap.filename().string();
      fs::remove_all(snap, ec);
      if (ec) throw Error(m.path + ": cannot delete (" + ec.message() + ")");
      for (const auto& r : fs::directory_iterator(repo / "refs", ec))
        if (r.is_regular_file() && readFirstLine(r.path()) == commit) fs::remove(r.path(), ec);
      ec.clear();
      bool others = false;
      std::set<std::string> used;  // blobs the remaining snapshots link to
      for (fs::recursive_directory_iterator it(repo / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
        others = true;
        if (it->is_symlink()) used.insert(fs::read_symlink(it->path()).filename().string());
      }
      if (!others) {
        fs::remove_all(repo, ec);
      } else {
        for (const auto& b : fs::directory_iterator(repo / "blobs", ec))
          if (!used.count(b.path().filename().string())) fs::remove(b.path(), ec);
      }
      if (ec) throw Error(repo.string() + ": cannot clean up (" + ec.message() + ")");
      return;
    }
  }
}

}  // namespace bb::ui
