#include "engine/train/data/squad_data.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_strict.h"

namespace bb::train {

namespace {

// Byte offset of every code point of valid UTF-8 text, plus the end.
std::vector<size_t> codepoint_starts(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if ((uint8_t(s[i]) & 0xC0) != 0x80) out.push_back(i);
  out.push_back(s.size());
  return out;
}

const nlohmann::json& member(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  return j.at(key);
}

std::string string_member(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = member(j, key, where);
  if (!v.is_string()) throw Error(where + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

struct Span {
  int64_t begin, end;  // code points in the context
};

void add_windows(QAData& data, int64_t qi, const std::vector<Span>& spans, const tok::Tokenizer& tokenizer,
                 const QAOptions& o, const std::string& where) {
  const QAQuestion& q = data.questions[size_t(qi)];
  const tok::SpecialIds sp = tokenizer.special_ids();
  if (sp.cls < 0 || sp.sep < 0) throw Error("the tokenizer has no [CLS]/[SEP] tokens for QA inputs");
  std::vector<int32_t> qids = tokenizer.encode_raw(q.question).ids;
  if (int64_t(qids.size()) > o.max_question_tokens) qids.resize(size_t(o.max_question_tokens));
  const tok::Encoding ctx = tokenizer.encode_raw(q.context);
  const int64_t room = o.max_length - int64_t(qids.size()) - 3;
  if (room < 1)
    throw Error(where + ": the question leaves no room for the context in " + std::to_string(o.max_length) + " tokens");
  const int64_t n = int64_t(ctx.ids.size()), stride = std::max<int64_t>(1, std::min(o.doc_stride, room));
  for (int64_t start = 0;; start += stride) {
    const int64_t end = std::min(n, start + room);
    Example e;
    e.question = qi;
    e.ids.push_back(sp.cls);
    e.ids.insert(e.ids.end(), qids.begin(), qids.end());
    e.ids.push_back(sp.sep);
    const int64_t first_ctx = int64_t(e.ids.size());
    e.offsets.assign(e.ids.size(), {-1, -1});
    for (int64_t t = start; t < end; ++t) {
      e.ids.push_back(ctx.ids[size_t(t)]);
      e.offsets.push_back(ctx.offsets[size_t(t)]);
    }
    e.ids.push_back(sp.sep);
    e.offsets.push_back({-1, -1});
    // The first answer whose tokens all lie inside this window (training target); none -> [CLS].
    for (const Span& s : spans) {
      int64_t ts = -1, te = -1;  // first token ending after the answer start, last token starting before its end
      for (int64_t t = 0; t < n; ++t) {
        if (ts < 0 && ctx.offsets[size_t(t)].second > s.begin) ts = t;
        if (ctx.offsets[size_t(t)].first < s.end) te = t;
      }
      if (ts >= start && ts <= te && te < end) {
        e.start = first_ctx + (ts - start);
        e.end = first_ctx + (te - start);
        break;
      }
    }
    data.examples.push_back(std::move(e));
    if (end >= n) break;
  }
}

}  // namespace

std::string codepoint_substr(const std::string& text, int64_t begin, int64_t end) {
  const std::vector<size_t> cp = codepoint_starts(text);
  const int64_t count = int64_t(cp.size()) - 1;
  begin = std::clamp<int64_t>(begin, 0, count);
  end = std::clamp<int64_t>(end, begin, count);
  return text.substr(cp[size_t(begin)], cp[size_t(end)] - cp[size_t(begin)]);
}

QAData parse_squad(const std::string& json_text, const std::string& label, const tok::Tokenizer& tokenizer,
                   const QAOptions& o) {
  const nlohmann::json root = io::parse_json_strict(json_text, label);
  const nlohmann::json& articles = member(root, "data", label);
  if (!articles.is_array()) throw Error(label + ": \"data\" is not a list");
  QAData data;
  for (size_t a = 0; a < articles.size(); ++a) {
    const std::string wa = label + ": data[" + std::to_string(a) + "]";
    const nlohmann::json& paragraphs = member(articles[a], "paragraphs", wa);
    if (!paragraphs.is_array()) throw Error(wa + ": \"paragraphs\" is not a list");
    for (size_t p = 0; p < paragraphs.size(); ++p) {
      const std::string wp = wa + ".paragraphs[" + std::to_string(p) + "]";
      const std::string context = string_member(paragraphs[p], "context", wp);
      tok::validate_utf8(context);
      const std::vector<size_t> cps = codepoint_starts(context);
      const int64_t context_len = int64_t(cps.size()) - 1;
      const nlohmann::json& qas = member(paragraphs[p], "qas", wp);
      if (!qas.is_array()) throw Error(wp + ": \"qas\" is not a list");
      for (size_t k = 0; k < qas.size(); ++k) {
        const nlohmann::json& qa = qas[k];
        const std::string wq = wp + ".qas[" + std::to_string(k) + "]";
        QAQuestion q;
        q.id = qa.contains("id") && qa["id"].is_string() ? qa["id"].get<std::string>()
                                                         : std::to_string(data.questions.size());
        const std::string where = label + ": question " + io::quote_for_message(q.id);
        q.question = string_member(qa, "question", wq);
        q.context = context;
        const bool impossible =
            qa.contains("is_impossible") && qa["is_impossible"].is_boolean() && qa["is_impossible"].get<bool>();
        std::vector<Span> spans;
        if (!impossible) {
          const nlohmann::json& answers = member(qa, "answers", wq);
          if (!answers.is_array()) throw Error(where + ": \"answers\" is not a list");
          for (const nlohmann::json& ans : answers) {
            const std::string text = string_member(ans, "text", where);
            if (text.empty()) throw Error(where + ": empty answer text");
            const int64_t len = int64_t(codepoint_starts(text).size()) - 1;
            int64_t start = -1;
            if (ans.contains("answer_start")) {
              if (!ans["answer_start"].is_number_integer()) throw Error(where + ": answer_start is not an integer");
              start = ans["answer_start"].get<int64_t>();
              if (start < 0 || start + len > context_len || codepoint_substr(context, start, start + len) != text)
                throw Error(where + ": answer " + io::quote_for_message(text) + " not found at answer_start " +
                            std::to_string(start) + " of the context");
            } else {
              const size_t byte = context.find(text);
              if (byte == std::string::npos)
                throw Error(where + ": answer " + io::quote_for_message(text) + " not found in the context");
              start = int64_t(std::lower_bound(cps.begin(), cps.end(), byte) - cps.begin());
            }
            q.answers.push_back(text);
            spans.push_back({start, start + len});
          }
          if (spans.empty()) throw Error(where + ": no answers (mark it \"is_impossible\": true for SQuAD 2.0)");
        }
        data.questions.push_back(std::move(q));
        add_windows(data, int64_t(data.questions.size()) - 1, spans, tokenizer, o, where);
      }
    }
  }
  if (data.questions.empty()) throw Error(label + ": empty dataset (no questions)");
  return data;
}

QAData load_squad(const std::string& path, const tok::Tokenizer& tokenizer, const QAOptions& options) {
  return parse_squad(io::read_text_file(path), path, tokenizer, options);
}

}  // namespace bb::train
