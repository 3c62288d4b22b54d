#pragma once
// Splits text on special-token strings exactly like HF's slow-tokenizer `Trie.split`
// (tokenization_utils.py): one left-to-right pass that prefers the earliest start, then the
// longest match ("extra_id_100" over "extra_id_1"), and matches even in the middle of a word.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bb::tok {

struct TextSegment {
  size_t begin = 0, end = 0;  // byte range of the text
  int special = -1;           // index into the splitter's token list, or -1 for plain text
};

class SpecialSplitter {
 public:
  SpecialSplitter() = default;
  explicit SpecialSplitter(const std::vector<std::string>& tokens);

  // Segments cover the text without gaps; empty segments are never produced.
  std::vector<TextSegment> split(std::string_view text) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> next;
    bool terminal = false;
  };
  int child(int node, unsigned char c) const;
  int find_token(std::string_view s) const;

  std::vector<std::string> tokens_;
  std::vector<Node> nodes_;
};

}  // namespace bb::tok
