#include "engine/tokenize/special_split.h"

#include <algorithm>

namespace bb::tok {

SpecialSplitter::SpecialSplitter(const std::vector<std::string>& tokens) : tokens_(tokens), nodes_(1) {
  for (const std::string& t : tokens_) {
    if (t.empty()) continue;
    int node = 0;
    for (unsigned char c : t) {
      int next = child(node, c);
      if (next < 0) {
        next = static_cast<int>(nodes_.size());
        nodes_[node].next.emplace_back(c, next);
        nodes_.emplace_back();
      }
      node = next;
    }
    nodes_[node].terminal = true;
  }
}

int SpecialSplitter::child(int node, unsigned char c) const {
  for (const auto& [ch, next] : nodes_[node].next)
    if (ch == c) return next;
  return -1;
}

int SpecialSplitter::find_token(std::string_view s) const {
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (tokens_[i] == s) return static_cast<int>(i);
  return -1;
}

// A line-by-line port of HF `Trie.split`, kept in its shape so that its tie-breaking (which
// pending partial match wins, where the scan resumes) is reproduced. It runs on bytes: the
// special strings are matched byte-exactly and UTF-8 is prefix-free, so the cuts are the same
// as on code points.
std::vector<TextSegment> SpecialSplitter::split(std::string_view text) const {
  const size_t n = text.size();
  std::vector<size_t> offsets{0};
  std::vector<std::pair<size_t, int>> states;  // (start, trie node), in insertion (= start) order
  size_t skip = 0;
  std::vector<size_t> to_remove;
  if (nodes_.size() > 1) {
    for (size_t current = 0; current < n; ++current) {
      const auto current_char = static_cast<unsigned char>(text[current]);
      if (skip && current < skip) continue;
      to_remove.clear();
      bool reset = false;
      for (size_t idx = 0; idx < states.size(); ++idx) {
        size_t start = states[idx].first;
        const int node = states[idx].second;
        if (nodes_[node].terminal) {
          size_t end = current;
          for (size_t look = 0; look < states.size(); ++look) {
            const size_t lookstart = states[look].first;
            int lnode = states[look].second;
            if (lookstart > start) break;
            size_t lookahead_index;
            if (lookstart < start) {
              lookahead_index = current + 1;
              end = current + 1;
            } else {
              lookahead_index = current;
              end = current;
            }
            if (nodes_[lnode].terminal) {
              start = lookstart;
              end = lookahead_index;
              skip = lookahead_index;
            }
            while (lookahead_index < n) {
              const int next = child(lnode, static_cast<unsigned char>(text[lookahead_index]));
              if (next < 0) break;
              lnode = next;
              ++lookahead_index;
              if (nodes_[lnode].terminal) {
                start = lookstart;
                end = lookahead_index;
                skip = lookahead_index;
              }
            }
          }
          offsets.push_back(start);
          offsets.push_back(end);
          reset = true;
          break;
        }
        const int next = child(node, current_char);
        if (next >= 0)
          states[idx].second = next;
        else
          to_remove.push_back(start);
      }
      if (reset) {
        states.clear();
      } else if (!to_remove.empty()) {
        std::erase_if(states, [&](const auto& s) {
          return std::find(to_remove.begin(), to_remove.end(), s.first) != to_remove.end();
        });
      }
      if (current >= skip) {
        const int next = child(0, current_char);
        if (next >= 0) states.emplace_back(current, next);
      }
    }
    for (const auto& [start, node] : states) {
      if (nodes_[node].terminal) {
        offsets.push_back(start);
        offsets.push_back(n);
        break;
      }
    }
  }

  // cut_text
  offsets.push_back(n);
  std::vector<TextSegment> out;
  size_t start = 0;
  for (size_t end : offsets) {
    if (start >= end) continue;  // HF skips zero-width cuts and (logging an error) backwards ones
    TextSegment seg{start, end, find_token(text.substr(start, end - start))};
    out.push_back(seg);
    start = end;
  }
  return out;
}

}  // namespace bb::tok
