#pragma once
// Document -> summary with BigBird-Pegasus: input checks (empty, whitespace-only, binary), the
// tokenizer conventions of HF (PegasusTokenizer: appends </s>) or of the original TF pipeline
// (newline -> <n>, no EOS), an explicit policy for documents longer than the encoder reads
// (truncate with a notice, chunk-and-merge, or refuse: never silent), generation with progress
// callbacks and cancellation, timings, and per-token cross-attention for the UI.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/generate/generation_config.h"
#include "engine/models/pegasus_model.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::gen {

enum class LongDocument { Truncate, Chunk, Refuse };
LongDocument parse_long_document(const std::string& s);  // truncate|chunk|error
std::string to_string(LongDocument l);

enum class InputConvention { HF, TF };
InputConvention parse_input_convention(const std::string& s);  // hf|tf

struct SummarizeOptions {
  GenerationConfig generation;
  LongDocument long_document = LongDocument::Truncate;
  InputConvention convention = InputConvention::HF;
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFEval;  // what HF generate() uses today
  int64_t max_input_tokens = 0;  // 0 = the model's max_position_embeddings
  backend::Kind backend = backend::Kind::Cpu;  // where the encoder and the decoder run (captures: CPU)
  std::string device;                          // Vulkan device: "" best, an index or a name substring
};

struct SummaryProgress {
  enum class Stage { Encoding, Decoding } stage = Stage::Encoding;
  int chunk = 0, chunks = 1;
  int layers_done = 0, layers = 0;  // encoder progress of this chunk
  int64_t tokens_generated = 0, max_tokens = 0;
  double decode_seconds = 0;  // decoding time of this chunk so far
  std::string partial_text;   // the leading hypothesis of this chunk (beam search may still revise it)
};

struct ChunkSummary {
  int64_t first_token = 0, end_token = 0;       // [first, end) of the document's tokens this chunk covers
  std::pair<int64_t, int64_t> char_span{0, 0};  // the same in code points of the (pre-processed) text
  std::vector<int32_t> input_ids;               // what the encoder read (with </s> in the HF convention)
  std::vector<std::pair<int64_t, int64_t>> input_spans;  // code-point span of each input id (</s>: empty at the end)
  std::vector<int64_t> summary_ids;             // generated tokens, EOS included when produced
  std::string text;
  double score = 0;  // beam: sequence score; greedy: sum of log-probs
  bool ends_with_eos = false;
  int64_t decoder_steps = 0;
  double encode_s = 0, decode_s = 0;
  attn::AttentionDecision decision;
  std::string encoder_backend;  // what encoded this chunk: "cpu", "vulkan (<device>)", "cpu (fallback: ...)"
  std::string decoder_backend;  // what decoded it (the same forms; a fallback during decoding shows here)
  // Per entry of summary_ids: attention over input_ids (mean over heads and decoder layers); empty
  // unless generation.capture_cross_attention.
  std::vector<std::vector<float>> cross_attention;
};

struct SummaryResult {
  std::string summary;  // chunk texts joined by newlines
  std::vector<ChunkSummary> chunks;
  int64_t document_tokens = 0;  // tokens of the whole document as the convention tokenizes it
  bool truncated = false;
  std::string notice;  // set whenever the document was cut or split (shown to the user)
  double tokenize_s = 0, encode_s = 0, decode_s = 0;
  int64_t generated_tokens = 0;
  bool cancelled = false;
};

// bb::Error with one line for text that cannot be summarized: invalid UTF-8 or NUL bytes (binary),
// nothing but whitespace, or empty. `label` names the source (a file name, "stdin").
void check_document(const std::string& text, const std::string& label);

// The tokenizer must be PegasusHF for InputConvention::HF and PegasusTF for TF.
SummaryResult summarize(const PegasusModel& model, const tok::Tokenizer& tokenizer, const std::string& text,
                        const SummarizeOptions& options,
                        const std::function<void(const SummaryProgress&)>& progress = {},
                        const std::atomic<bool>* cancel = nullptr);

}  // namespace bb::gen
