#pragma once
// The Attention Lab's shared state: the loaded model and tokenizer, the open document, the
// captured attention of the last forward pass, the sparse-vs-full comparison and the selected
// token. All model work goes through the TaskManager; results are swapped in on the UI thread,
// where the views read them (no locks: the session is only touched on the UI thread).
#include <QObject>
#include <QString>
#include <memory>
#include <string>
#include <vector>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/prediction_compare.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::ui {

class TaskManager;

struct LoadedModel {
  std::shared_ptr<const bb::BigBirdModel> model;
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer;
  QString dir, tokenizerPath;
  const bb::ModelConfig& config() const { return model->config(); }
  QString summary() const;  // "2 layers · 4 heads · hidden 64 · block 16 · r 3 · up to 1024 tokens"
};

struct LabDocument {
  QString path, label;
  std::string text;            // UTF-8 source
  bb::tok::Encoding encoding;  // [CLS] ... [SEP], cut to the model's maximum length
  int64_t fullLength = 0;      // tokens before the cut
  int64_t maxLength = 0;       // the limit that was applied
  int64_t tokens() const { return int64_t(encoding.ids.size()); }
  bool truncated() const { return fullLength > tokens(); }
  // The source text of token i ("" for inserted specials such as [CLS]).
  std::string tokenText(int64_t i) const;
  bool isSpecial(int64_t i) const;
};

enum class HeadMode { One, Mean, Max };

// One block_sparse (or fallback full) forward pass over the document, every layer captured.
struct AttentionRun {
  bb::attn::AttentionDecision decision;
  bb::attn::RandomBlocks mode = bb::attn::RandomBlocks::HFTrain;
  int64_t realLen = 0;
  int layers = 0, heads = 0;
  int block = 0, nb = 0;  // the grid of the heatmap (the model's block size)
  std::vector<bb::attn::AttentionMap> maps;  // per layer
  // Per layer, per selection s (0..heads-1 = that head, heads = mean, heads+1 = max):
  // [nb*nb] attention mass (query block -> key block) and whether the tile was computed.
  std::vector<std::vector<std::vector<float>>> blockMass;
  std::vector<std::vector<std::vector<uint8_t>>> computed;
  double seconds = 0;
  size_t captureBytes = 0;
  std::string backend;  // what ran the pass: "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)"
  int selectionIndex(HeadMode m, int head) const { return m == HeadMode::One ? head : m == HeadMode::Mean ? heads : heads + 1; }
};

struct MaskedPrediction {
  std::string text;  // decoded candidate
  float probability;
};

// The same input through block_sparse and original_full.
struct CompareRun {
  bb::attn::AttentionDecision sparseDecision, fullDecision;
  int64_t realLen = 0;
  int64_t maskedPosition = -1;  // token replaced by [MASK] for the fill-mask comparison (-1: none)
  std::string maskedOriginal;   // the token that was masked
  std::vector<double> hiddenDiff;  // per hidden state (0 = embeddings): ||sparse - full|| / ||full||
  std::vector<float> tokenDiff;    // last layer, per token: ||sparse - full|| / ||full||
  std::vector<std::vector<double>> outsideMass;  // [layer][head]: full attention's mass outside the sparse pattern
  bool hasMlm = false;
  std::vector<int64_t> probes;  // positions scored by the MLM head (the masked one first)
  std::vector<std::vector<MaskedPrediction>> sparseTop, fullTop;  // per probe, best first
  std::vector<double> kl;                                         // per probe, KL(full || sparse)
  double top1Agreement = 0, meanKl = 0;
  double sparseSeconds = 0, fullSeconds = 0;
};

struct AttentionSelection {
  int64_t token = -1;  // -1: nothing selected
  int layer = 0;
  HeadMode headMode = HeadMode::Mean;
  int head = 0;
  bool rollout = false;
  enum Direction { AttendsTo, AttendedBy } direction = AttendsTo;
  int topK = 8;
  bool operator==(const AttentionSelection&) const = default;
};

class LabSession : public QObject {
  Q_OBJECT

 public:
  explicit LabSession(TaskManager* tasks, QObject* parent = nullptr);
  TaskManager* tasks() const { return tasks_; }

  // Loads config.json + model.safetensors (+ a tokenizer file, else the bundled gpt2.model for
  // vocab_size 50358) on the worker. The document is re-tokenised and re-run afterwards.
  void loadModel(const QString& dir);
  const LoadedModel* model() const { return model_.get(); }
  QString modelError() const { return modelError_; }
  bool modelLoading() const;

  void openDocument(const QString& path);
  void setDocumentText(const QString& label, const std::string& text);
  const LabDocument* document() const { return document_.get(); }
  QString documentError() const { return documentError_; }

  // The block_sparse forward pass over the document with every layer captured. Called
  // automatically after a model or document change while autoRun() is on.
  void runAttention();
  const AttentionRun* attention() const { return attention_.get(); }
  bool attentionRunning() const;
  void setAutoRun(bool on) { autoRun_ = on; }
  bool autoRun() const { return autoRun_; }
  void setRandomBlocks(bb::attn::RandomBlocks m);
  bb::attn::RandomBlocks randomBlocks() const { return randomBlocks_; }

  // block_sparse against original_full; the selected token (if any) is masked for fill-mask.
  void runComparison(bool maskSelected = true);
  const CompareRun* comparison() const { return comparison_.get(); }
  bool comparisonRunning() const;

  const AttentionSelection& selection() const { return selection_; }
  void setSelection(const AttentionSelection& s);
  void selectToken(int64_t token);
  // Weight of every document token in the current selection (attention row or column, or the
  // rollout); empty when there is none yet.
  const std::vector<float>& selectionWeights() const { return weights_; }
  // The top-k of selectionWeights(), largest first: the tokens the views highlight.
  const std::vector<int64_t>& highlightedTokens() const { return highlighted_; }
  bool rolloutRunning() const;

  QString lastError() const { return lastError_; }

 signals:
  void changed();  // anything a view shows changed
  void modelChanged();
  void documentChanged();
  void attentionChanged();
  void comparisonChanged();
  void selectionChanged();
  void message(const QString& text, bool error);

 private:
  void tokenize(const QString& label, const QString& path, std::shared_ptr<const std::string> text);
  void refreshSelection();
  void fail(const QString& what, const QString& error);
  int64_t maxTokens() const;

  TaskManager* tasks_;
  std::shared_ptr<const LoadedModel> model_;
  std::shared_ptr<const bb::tok::Tokenizer> fallbackTokenizer_;
  std::shared_ptr<const LabDocument> document_;
  std::shared_ptr<const AttentionRun> attention_;
  std::shared_ptr<const CompareRun> comparison_;
  AttentionSelection selection_;
  std::vector<float> weights_;
  std::vector<int64_t> highlighted_;
  bb::attn::RandomBlocks randomBlocks_ = bb::attn::RandomBlocks::HFTrain;
  QString modelError_, documentError_, lastError_;
  bool autoRun_ = true;
  int rolloutGeneration_ = 0;
};

}  // namespace bb::ui
