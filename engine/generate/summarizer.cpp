#include "engine/generate/summarizer.h"

#include <chrono>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/utf8.h"
#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"

namespace bb::gen {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_space(char32_t c) {
  return c == U' ' || (c >= U'\t' && c <= U'\r') || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

// Tokens of the document and the [begin, end) code-point span of each.
struct Tokenized {
  std::vector<int32_t> body;  // without the final </s>
  std::vector<std::pair<int64_t, int64_t>> spans;
  bool append_eos = false;
  int32_t eos = 1;
};

Tokenized tokenize_document(const tok::Tokenizer& t, const std::string& text, InputConvention conv) {
  Tokenized out;
  tok::Encoding enc;
  if (conv == InputConvention::HF) {
    if (t.flavor() != tok::Flavor::PegasusHF)
      throw Error("the HF input convention needs the Pegasus tokenizer in HF mode (pegasus-hf), got " + tok::to_string(t.flavor()));
    enc = t.encode(text);
    out.append_eos = true;
    out.eos = t.special_ids().eos;
    if (!enc.ids.empty() && enc.ids.back() == out.eos) {
      enc.ids.pop_back();
      enc.offsets.pop_back();
    }
  } else {
    if (t.flavor() != tok::Flavor::PegasusTF)
      throw Error("the TF input convention needs the Pegasus tokenizer in TF mode (pegasus-tf), got " + tok::to_string(t.flavor()));
    enc = t.encode_raw(tok::pegasus_tf_preprocess(text));
  }
  out.body = std::move(enc.ids);
  out.spans = std::move(enc.offsets);
  return out;
}

std::string detokenize(const tok::Tokenizer& t, const std::vector<int64_t>& ids) {
  std::vector<int32_t> v(ids.begin(), ids.end());
  // BigBird-Pegasus was trained on text with "<n>" for newlines (spec §6.3): show them as newlines.
  return tok::pegasus_tf_postprocess(t.decode(v, true));
}

}  // namespace

LongDocument parse_long_document(const std::string& s) {
  if (s == "truncate") return LongDocument::Truncate;
  if (s == "chunk") return LongDocument::Chunk;
  if (s == "error") return LongDocument::Refuse;
  throw Error("long-document policy must be truncate, chunk or error, got '" + s + "'");
}

std::string to_string(LongDocument l) {
  switch (l) {
    case LongDocument::Truncate: return "truncate";
    case LongDocument::Chunk: return "chunk";
    case LongDocument::Refuse: return "error";
  }
  return "?";
}

InputConvention parse_input_convention(const std::string& s) {
  if (s == "hf") return InputConvention::HF;
  if (s == "tf") return InputConvention::TF;
  throw Error("input convention must be hf or tf, got '" + s + "'");
}

void check_document(const std::string& text, const std::string& label) {
  if (text.empty()) throw Error(label + ": the document is empty");
  if (const void* nul = std::memchr(text.data(), 0, text.size()))
    throw Error(label + ": looks like a binary file (NUL byte at offset " +
                std::to_string(static_cast<const char*>(nul) - text.data()) + "), expected UTF-8 text");
  const int64_t bad = find_invalid_utf8(text);
  if (bad >= 0)
    throw Error(label + ": not UTF-8 text (invalid byte at offset " + std::to_string(bad) + "); binary file?");
  bool blank = true;
  for (char32_t c : decode_utf8(text).cps)
    if (!is_space(c)) {
      blank = false;
      break;
    }
  if (blank) throw Error(label + ": the document contains only whitespace");
}

SummaryResult summarize(const PegasusModel& model, const tok::Tokenizer& tokenizer, const std::string& text,
                        const SummarizeOptions& opt, const std::function<void(const SummaryProgress&)>& progress,
                        const std::atomic<bool>* cancel) {
  const ModelConfig& c = model.config();
  if (tokenizer.vocab_size() > c.vocab_size)
    throw Error("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " pieces but the model only " +
                std::to_string(c.vocab_size) + " embeddings: they do not belong together");
  validate(opt.generation, c.vocab_size);
  check_document(text, "document");

  SummaryResult res;
  double t0 = now_s();
  const Tokenized doc = tokenize_document(tokenizer, text, opt.convention);
  res.tokenize_s = now_s() - t0;
  if (doc.body.empty()) throw Error("document: no tokens to summarize after tokenization");
  const int64_t extra = doc.append_eos ? 1 : 0;
  const int64_t n = int64_t(doc.body.size());
  res.document_tokens = n + extra;

  const int64_t limit = opt.max_input_tokens > 0 ? std::min(opt.max_input_tokens, c.max_position_embeddings)
                                                 : c.max_position_embeddings;
  if (limit <= extra) throw Error("max input tokens must leave room for the document");
  const int64_t per_chunk = limit - extra;
  std::vector<std::pair<int64_t, int64_t>> ranges;  // token ranges of the body
  if (n <= per_chunk) {
    ranges.push_back({0, n});
  } else {
    const std::string size = "the document is " + std::to_string(n + extra) + " tokens; the model reads at most " +
                             std::to_string(limit);
    switch (opt.long_document) {
      case LongDocument::Refuse:
        throw Error(size + " (choose truncation or chunking)");
      case LongDocument::Truncate:
        ranges.push_back({0, per_chunk});
        res.truncated = true;
        res.notice = size + ": summarizing only the first " + std::to_string(per_chunk) + " tokens (up to character " +
                     std::to_string(doc.spans[size_t(per_chunk - 1)].second) + "); the remaining " +
                     std::to_string(n - per_chunk) + " tokens are not read";
        break;
      case LongDocument::Chunk: {
        const int64_t k = (n + per_chunk - 1) / per_chunk, size_each = (n + k - 1) / k;  // even chunks
        for (int64_t b = 0; b < n; b += size_each) ranges.push_back({b, std::min(n, b + size_each)});
        res.notice = size + ": summarized in " + std::to_string(ranges.size()) + " consecutive chunks of at most " +
                     std::to_string(size_each + extra) + " tokens; their summaries are joined in order";
        break;
      }
    }
  }

  for (size_t ci = 0; ci < ranges.size() && !res.cancelled; ++ci) {
    ChunkSummary ch;
    ch.first_token = ranges[ci].first;
    ch.end_token = ranges[ci].second;
    ch.char_span = {doc.spans[size_t(ch.first_token)].first, doc.spans[size_t(ch.end_token - 1)].second};
    ch.input_ids.assign(doc.body.begin() + ch.first_token, doc.body.begin() + ch.end_token);
    ch.input_spans.assign(doc.spans.begin() + ch.first_token, doc.spans.begin() + ch.end_token);
    if (doc.append_eos) {
      ch.input_ids.push_back(doc.eos);
      ch.input_spans.push_back({ch.char_span.second, ch.char_span.second});
    }

    SummaryProgress p;
    p.chunk = int(ci);
    p.chunks = int(ranges.size());
    p.layers = c.num_hidden_layers;
    p.max_tokens = opt.generation.max_length - 1;
    if (progress) progress(p);

    I64Tensor ids({1, int64_t(ch.input_ids.size())});
    for (size_t i = 0; i < ch.input_ids.size(); ++i) ids[int64_t(i)] = ch.input_ids[i];
    PegasusEncodeOptions eopt;
    eopt.random_blocks = opt.random_blocks;
    eopt.backend = opt.backend;
    eopt.device = opt.device;
    eopt.on_layer = [&](int done, int layers) {
      p.layers_done = done;
      p.layers = layers;
      if (progress) progress(p);
    };
    t0 = now_s();
    const PegasusEncoding enc = model.encode(ids, I64Tensor(), eopt);
    ch.encode_s = now_s() - t0;
    ch.decision = enc.decision;
    ch.encoder_backend = enc.backend;
    model.release_encoder_weights();  // decoding never reads them: lower peak memory

    PegasusSource source(model, enc, {opt.backend, opt.device});
    GenerationControl control;
    control.cancel = cancel;
    p.stage = SummaryProgress::Stage::Decoding;
    const double d0 = now_s();
    control.on_step = [&](const StepUpdate& u) {
      p.tokens_generated = u.step;
      p.decode_seconds = now_s() - d0;
      if (progress) {
        p.partial_text = detokenize(tokenizer, (*u.partial)[0]);
        progress(p);
      }
      return true;
    };
    GenerationResult g = generate(source, opt.generation, control);
    ch.decode_s = now_s() - d0;
    ch.decoder_backend = source.decoder_backend();
    GeneratedOutput& out = g.outputs.front();
    ch.summary_ids = out.tokens;
    ch.ends_with_eos = out.ends_with_eos;
    ch.score = out.score;
    ch.decoder_steps = g.steps;
    ch.cross_attention = std::move(out.cross_attention);
    ch.text = detokenize(tokenizer, ch.summary_ids);
    res.cancelled = g.cancelled;
    res.encode_s += ch.encode_s;
    res.decode_s += ch.decode_s;
    res.generated_tokens += int64_t(ch.summary_ids.size());
    if (!res.summary.empty()) res.summary += "\n";
    res.summary += ch.text;
    res.chunks.push_back(std::move(ch));
  }
  return res;
}

}  // namespace bb::gen
