// `bigbird tokenize` end to end: JSON output for a known text, stdin input, and one-line errors with exit code 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `bigbird tokenize <args>` through the shell; `args` must already be quoted.
Result run(const std::string& args, const std::string& stdin_text = "") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid());
  const std::string in = (dir / ("bb_tok_cli_in_" + tag)).string();
  const std::string out = (dir / ("bb_tok_cli_out_" + tag)).string();
  const std::string err = (dir / ("bb_tok_cli_err_" + tag)).string();
  std::ofstream(in, std::ios::binary) << stdin_text;
  const std::string cmd = std::string("'") + BIGBIRD_CLI + "' tokenize " + args + " <'" + in + "' >'" + out + "' 2>'" +
                          err + "'";
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

std::string vocab(const std::string& file) {
  std::string quoted = "'";
  quoted += BIGBIRD_RESOURCE_DIR;
  quoted += "/vocab/";
  quoted += file;
  quoted += "'";
  return quoted;
}

TEST(TokenizeCli, JsonForBigBird) {
  const Result r = run("--vocab " + vocab("gpt2.model") + " --text 'Hello world. This is a test!' --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["flavor"], "bigbird");
  EXPECT_EQ(j["ids"].get<std::vector<int>>(), (std::vector<int>{65, 18536, 1096, 114, 871, 419, 358, 1433, 101, 66}));
  EXPECT_EQ(j["pieces"][1], "▁Hello");
  EXPECT_EQ(j["offsets"][1], nlohmann::json::array({0, 5}));
  EXPECT_EQ(j["offsets_utf8"].size(), 10u);
}

TEST(TokenizeCli, RawPegasusTfFromStdin) {
  const Result r = run("--vocab " + vocab("pegasus.model") + " --flavor pegasus-tf --raw --file - --json", "a<n>b");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"].get<std::vector<int>>(), (std::vector<int>{114, 106, 1271}));  // spec §9.2
}

TEST(TokenizeCli, TableForWordPiecePair) {
  const Result r = run("--vocab " + vocab("kobigbird-vocab.txt") + " --text '서울' --pair 'Q?'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("flavor wordpiece, 6 tokens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[CLS]"), std::string::npos) << r.out;
}

void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(TokenizeCli, Errors) {
  expect_one_line_error(run("--vocab /nonexistent/spiece.model --text hi"), "does not exist");
  expect_one_line_error(run("--vocab " + vocab("gpt2.model") + " --file -", "bad \xC3( utf8"), "byte offset 4");
  expect_one_line_error(run("--vocab " + vocab("gpt2.model")), "--text or --file");
  expect_one_line_error(run("--vocab " + vocab("gpt2.model") + " --text a --flavor nope"), "nope");
  expect_one_line_error(run("--vocab " + vocab("gpt2.model") + " --text a --bogus"), "--bogus");
}

}  // namespace
