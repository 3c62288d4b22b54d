#include "ui/lab_session.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/attention/attention_analysis.h"
#include "engine/core/error.h"
#include "engine/models/fill_mask.h"
#include "ui/compute_backend.h"
#include "ui/lab_paths.h"
#include "ui/task_manager.h"

namespace bb::ui {

using bb::attn::AttentionMap;
using bb::attn::HeadSelect;

namespace {

constexpr int64_t kDefaultMaxTokens = 4096;  // without a model: what BigBird models accept
constexpr int kProbes = 64;                  // MLM positions compared in sparse vs full
constexpr int kTopPredictions = 5;
constexpr double kMaxCaptureBytes = 6.0 * (1 << 30);  // every layer's captured attention

HeadSelect toHeadSelect(HeadMode m, int head) {
  return m == HeadMode::One ? HeadSelect::one(head) : m == HeadMode::Mean ? HeadSelect::mean() : HeadSelect::max();
}

std::shared_ptr<const bb::tok::Tokenizer> loadTokenizerFor(const std::string& dir, const bb::ModelConfig& c,
                                                           QString* path) {
  std::optional<std::string> file = bb::find_tokenizer_file(dir);
  if (!file) {
    if (c.vocab_size != 50358)
      throw bb::Error(dir + ": no tokenizer file (spiece.model, *.model or vocab.txt) and vocab_size " +
                      std::to_string(c.vocab_size) + " does not match the bundled gpt2.model (50358)");
    file = bundledVocab(QStringLiteral("gpt2.model")).toStdString();
  }
  *path = QString::fromStdString(*file);
  return std::shared_ptr<const bb::tok::Tokenizer>(bb::tok::load_tokenizer(*file));
}

// [CLS] ... [SEP] cut to maxLen tokens, keeping the closing special token.
bb::tok::Encoding truncate(bb::tok::Encoding e, int64_t maxLen) {
  if (int64_t(e.ids.size()) <= maxLen || maxLen < 2) return e;
  const int32_t last = e.ids.back();
  const std::string lastPiece = e.pieces.back();
  auto cut = [maxLen](auto& v) {
    if (!v.empty()) v.resize(size_t(maxLen));
  };
  cut(e.ids);
  cut(e.pieces);
  cut(e.offsets);
  cut(e.offsets_utf8);
  cut(e.token_type_ids);
  e.ids.back() = last;
  e.pieces.back() = lastPiece;
  if (!e.offsets.empty()) e.offsets.back() = {0, 0};
  if (!e.offsets_utf8.empty()) e.offsets_utf8.back() = {0, 0};
  return e;
}

bb::I64Tensor idsTensor(const std::vector<int32_t>& ids) {
  bb::I64Tensor t({1, int64_t(ids.size())});
  for (size_t i = 0; i < ids.size(); ++i) t[int64_t(i)] = ids[i];
  return t;
}

// Precomputes the heatmap grids of one captured layer: per head, mean and max.
void summarise(const AttentionMap& m, int block, int64_t realLen, std::vector<std::vector<float>>& mass,
               std::vector<std::vector<uint8_t>>& computed) {
  const int heads = m.heads;
  const int64_t nb = (m.query_len + block - 1) / block;
  const size_t cells = size_t(nb * nb);
  mass.assign(size_t(heads + 2), std::vector<float>(cells, 0.0f));
  computed.assign(size_t(heads + 2), std::vector<uint8_t>(cells, 0));
  for (int h = 0; h < heads; ++h) {
    mass[size_t(h)] = bb::attn::block_mass(m, HeadSelect::one(h), block, realLen);
    std::vector<uint8_t>& c = computed[size_t(h)];
    if (m.blocked) {
      for (int64_t qb = 0; qb < nb; ++qb) {
        const size_t idx = size_t(h) * size_t(m.num_blocks) + size_t(qb);
        for (int64_t j = m.list_offset[idx]; j < m.list_offset[idx + 1]; ++j) c[size_t(qb * nb + m.key_blocks[size_t(j)])] = 1;
      }
    } else {
      std::fill(c.begin(), c.end(), 1);
    }
  }
  for (size_t i = 0; i < cells; ++i) {
    float sum = 0, mx = 0;
    uint8_t any = 0;
    for (int h = 0; h < heads; ++h) {
      sum += mass[size_t(h)][i];
      mx = std::max(mx, mass[size_t(h)][i]);
      any |= computed[size_t(h)][i];
    }
    mass[size_t(heads)][i] = sum / float(heads);
    mass[size_t(heads + 1)][i] = mx;
    computed[size_t(heads)][i] = computed[size_t(heads + 1)][i] = any;
  }
}

double relativeDiff(const float* a, const float* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace

QString LoadedModel::summary() const {
  const bb::ModelConfig& c = config();
  return QStringLiteral("%1 layers · %2 heads · hidden %3 · block %4 · r %5 · up to %6 tokens")
      .arg(c.num_hidden_layers)
      .arg(c.num_attention_heads)
      .arg(c.hidden_size)
      .arg(c.block_size)
      .arg(c.num_random_blocks)
      .arg(c.max_position_embeddings);
}

std::string LabDocument::tokenText(int64_t i) const {
  if (i < 0 || i >= tokens() || encoding.offsets_utf8.empty()) return {};
  const auto [b, e] = encoding.offsets_utf8[size_t(i)];
  if (e <= b || e > int64_t(text.size())) return {};
  return text.substr(size_t(b), size_t(e - b));
}

bool LabDocument::isSpecial(int64_t i) const {
  if (i < 0 || i >= tokens()) return false;
  const auto [b, e] = encoding.offsets_utf8.empty() ? std::pair<int64_t, int64_t>{0, 0} : encoding.offsets_utf8[size_t(i)];
  return e <= b;
}

LabSession::LabSession(TaskManager* tasks, QObject* parent) : QObject(parent), tasks_(tasks) {
  connect(this, &LabSession::modelChanged, this, &LabSession::changed);
  connect(this, &LabSession::documentChanged, this, &LabSession::changed);
  connect(this, &LabSession::attentionChanged, this, &LabSession::changed);
  connect(this, &LabSession::comparisonChanged, this, &LabSession::changed);
  connect(this, &LabSession::selectionChanged, this, &LabSession::changed);
  connect(tasks_, &TaskManager::taskFinished, this, [this](int, const QString& title, bool ok, const QString& error) {
    if (ok || error == QStringLiteral("cancelled")) return;
    if (title == QStringLiteral("Loading model")) modelError_ = error;
    if (title == QStringLiteral("Tokenizing")) documentError_ = error;
    fail(title + QStringLiteral(" failed"), error);
  });
}

void LabSession::fail(const QString& what, const QString& error) {
  if (error == QStringLiteral("cancelled")) return;
  lastError_ = what + QStringLiteral(": ") + error;
  emit message(lastError_, true);
  emit changed();
}

int64_t LabSession::maxTokens() const {
  return model_ ? model_->config().max_position_embeddings : kDefaultMaxTokens;
}

bool LabSession::modelLoading() const { return tasks_->groupBusy(QStringLiteral("model")); }
bool LabSession::attentionRunning() const { return tasks_->groupBusy(QStringLiteral("attention")); }
bool LabSession::comparisonRunning() const { return tasks_->groupBusy(QStringLiteral("compare")); }
bool LabSession::rolloutRunning() const { return tasks_->groupBusy(QStringLiteral("rollout")); }

void LabSession::loadModel(const QString& dir) {
  const std::string path = dir.toStdString();
  tasks_->submit(QStringLiteral("model"), QStringLiteral("Loading model"), [this, path, dir](TaskContext& ctx) {
    ctx.setProgress(0.1, QStringLiteral("reading %1").arg(dir));
    auto loaded = std::make_shared<LoadedModel>();
    loaded->model = std::make_shared<const bb::BigBirdModel>(bb::BigBirdModel::load(path));
    ctx.checkCancelled();
    ctx.setProgress(0.8, QStringLiteral("tokenizer"));
    loaded->tokenizer = loadTokenizerFor(path, loaded->model->config(), &loaded->tokenizerPath);
    if (loaded->tokenizer->vocab_size() > loaded->model->config().vocab_size)
      throw bb::Error(path + ": the tokenizer has " + std::to_string(loaded->tokenizer->vocab_size()) +
                      " pieces but the model only " + std::to_string(loaded->model->config().vocab_size));
    loaded->dir = dir;
    return TaskManager::Finish([this, loaded] {
      model_ = loaded;
      modelError_.clear();
      attention_.reset();
      comparison_.reset();
      emit modelChanged();
      emit message(QStringLiteral("Model loaded: ") + loaded->summary(), false);
      if (document_) tokenize(document_->label, document_->path, std::make_shared<const std::string>(document_->text));
    });
  });
}

void LabSession::openDocument(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    documentError_ = QStringLiteral("%1: %2").arg(path, f.errorString());
    fail(QStringLiteral("Opening the document failed"), documentError_);
    return;
  }
  if (f.size() > 64 * 1024 * 1024) {
    documentError_ = QStringLiteral("%1: larger than 64 MiB").arg(path);
    fail(QStringLiteral("Opening the document failed"), documentError_);
    return;
  }
  tokenize(QFileInfo(path).fileName(), path, std::make_shared<const std::string>(f.readAll().toStdString()));
}

void LabSession::setDocumentText(const QString& label, const std::string& text) {
  tokenize(label, QString(), std::make_shared<const std::string>(text));
}

void LabSession::tokenize(const QString& label, const QString& path, std::shared_ptr<const std::string> text) {
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer = model_ ? model_->tokenizer : fallbackTokenizer_;
  const int64_t limit = maxTokens();
  tasks_->submit(QStringLiteral("document"), QStringLiteral("Tokenizing"),
                 [this, label, path, text, tokenizer, limit](TaskContext& ctx) mutable {
                   ctx.setProgress(0.2, label);
                   if (!tokenizer)
                     tokenizer = std::shared_ptr<const bb::tok::Tokenizer>(
                         bb::tok::load_tokenizer(bundledVocab(QStringLiteral("gpt2.model")).toStdString()));
                   bb::tok::validate_utf8(*text);
                   auto doc = std::make_shared<LabDocument>();
                   doc->label = label;
                   doc->path = path;
                   doc->text = *text;
                   bb::tok::Encoding e = tokenizer->encode(doc->text);
                   doc->fullLength = int64_t(e.ids.size());
                   doc->maxLength = limit;
                   doc->encoding = truncate(std::move(e), limit);
                   return TaskManager::Finish([this, doc, tokenizer] {
                     if (!model_) fallbackTokenizer_ = tokenizer;
                     document_ = doc;
                     documentError_.clear();
                     attention_.reset();
                     comparison_.reset();
                     selection_.token = std::min<int64_t>(selection_.token, doc->tokens() - 1);
                     refreshSelection();
                     emit documentChanged();
                     if (autoRun_ && model_) runAttention();
                   });
                 });
}

void LabSession::setRandomBlocks(bb::attn::RandomBlocks m) {
  if (m == randomBlocks_) return;
  randomBlocks_ = m;
  if (attention_ && autoRun_) runAttention();
}

void LabSession::runAttention() {
  if (!model_ || !document_) return;
  auto model = model_;
  auto doc = document_;
  const bb::attn::RandomBlocks mode = randomBlocks_;
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  tasks_->submit(QStringLiteral("attention"), QStringLiteral("Running attention"), [this, model, doc, mode, backend](TaskContext& ctx) {
    QElapsedTimer timer;
    timer.start();
    auto run = std::make_shared<AttentionRun>();
    const bb::ModelConfig& c = model->config();
    // Every layer's attention is kept (block tiles for block_sparse, L x L for the short-input
    // fallback); refuse what would not fit comfortably instead of thrashing.
    const bb::attn::AttentionDecision d = bb::attn::decide_attention(c.attention_type, doc->tokens(), c.block_size,
                                                                     c.num_random_blocks, mode);
    double floatsPerHead = double(d.padded_len) * double(d.padded_len);
    if (d.type == bb::attn::AttentionType::BlockSparse) {
      const double nb = double(d.padded_len / c.block_size), r = c.num_random_blocks;
      floatsPerHead = (2 * nb + 2 * (4 + r) + (nb - 4) * (5 + r)) * double(c.block_size) * double(c.block_size);
    }
    const double captureBytes = floatsPerHead * 4.0 * c.num_attention_heads * c.num_hidden_layers;
    if (captureBytes > kMaxCaptureBytes)
      throw bb::Error("capturing every layer's attention of this " + std::to_string(doc->tokens()) + "-token input would need " +
                      std::to_string(int64_t(captureBytes / (1 << 20))) + " MiB (limit " +
                      std::to_string(int64_t(kMaxCaptureBytes / (1 << 20))) + " MiB): use a shorter document");
    bb::EncoderInputs in;
    in.input_ids = idsTensor(doc->encoding.ids);
    bb::EncoderOptions opt;
    opt.attention_type = c.attention_type;
    opt.random_blocks = mode;
    opt.capture.enabled = true;
    opt.backend = backend.kind;
    opt.device = backend.device;
    opt.on_layer_done = [&ctx](int layer, int layers, std::vector<AttentionMap>*) {
      ctx.checkCancelled();
      ctx.setProgress(0.9 * double(layer + 1) / layers, QStringLiteral("layer %1 of %2").arg(layer + 1).arg(layers));
    };
    ctx.setProgress(0.0, QStringLiteral("forward pass"));
    bb::EncoderOutputs out = model->model->forward(in, opt);
    ComputeBackend::instance().reportUsed(out.backend);
    run->backend = out.backend;
    run->decision = out.decision;
    run->mode = mode;
    run->realLen = doc->tokens();
    run->layers = c.num_hidden_layers;
    run->heads = c.num_attention_heads;
    run->block = c.block_size;
    for (auto& perBatch : out.attentions) run->maps.push_back(std::move(perBatch.at(0)));
    run->nb = run->maps.empty() ? 0 : int((run->maps[0].query_len + run->block - 1) / run->block);
    run->seconds = double(timer.nsecsElapsed()) * 1e-9;
    ctx.setProgress(0.92, QStringLiteral("summarising"));
    for (const AttentionMap& m : run->maps) {
      ctx.checkCancelled();
      run->blockMass.emplace_back();
      run->computed.emplace_back();
      summarise(m, run->block, run->realLen, run->blockMass.back(), run->computed.back());
      run->captureBytes += m.memory_bytes();
    }
    return TaskManager::Finish([this, run, doc] {
      if (doc != document_) return;  // the document changed meanwhile
      attention_ = run;
      selection_.layer = std::clamp(selection_.layer, 0, run->layers - 1);
      selection_.head = std::clamp(selection_.head, 0, run->heads - 1);
      refreshSelection();
      emit attentionChanged();
      emit message(QStringLiteral("Attention captured: %1 tokens, %2 layers in %3 s on %4")
                       .arg(run->realLen)
                       .arg(run->layers)
                       .arg(run->seconds, 0, 'f', 2)
                       .arg(describeUsed(run->backend)),
                   false);
    });
  });
}

void LabSession::runComparison(bool maskSelected) {
  if (!model_ || !document_) return;
  auto model = model_;
  auto doc = document_;
  const bb::attn::RandomBlocks mode = randomBlocks_;
  const int64_t selected = maskSelected ? selection_.token : -1;
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  tasks_->submit(QStringLiteral("compare"), QStringLiteral("Comparing sparse and full"), [this, model, doc, mode, selected, backend](
                                                                                           TaskContext& ctx) {
    auto cmp = std::make_shared<CompareRun>();
    const bb::ModelConfig& c = model->config();
    const int64_t L = doc->tokens();
    cmp->realLen = L;
    std::vector<int32_t> ids = doc->encoding.ids;
    const bb::tok::SpecialIds sp = model->tokenizer->special_ids();
    cmp->hasMlm = model->model->has_head(bb::Head::MaskedLM);
    if (selected > 0 && selected < L - 1 && !doc->isSpecial(selected) && sp.mask >= 0 && cmp->hasMlm) {
      cmp->maskedPosition = selected;
      cmp->maskedOriginal = doc->tokenText(selected);
      ids[size_t(selected)] = sp.mask;
    }
    if (cmp->hasMlm) {
      if (cmp->maskedPosition >= 0) cmp->probes.push_back(cmp->maskedPosition);
      const int64_t inner = std::max<int64_t>(0, L - 2);
      const int64_t n = std::min<int64_t>(kProbes, inner);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t p = 1 + (i * inner) / std::max<int64_t>(1, n);
        if (p != cmp->maskedPosition) cmp->probes.push_back(p);
      }
    }
    bb::EncoderInputs in;
    in.input_ids = idsTensor(ids);
    const int layers = c.num_hidden_layers;

    auto pass = [&](bb::attn::AttentionType type, double from, double to, const QString& name) {
      bb::EncoderOptions opt;
      opt.attention_type = type;
      opt.random_blocks = mode;
      opt.output_hidden_states = true;
      opt.backend = backend.kind;
      opt.device = backend.device;
      if (cmp->hasMlm) {
        opt.head = bb::Head::MaskedLM;
        opt.mlm_rows = cmp->probes;
      }
      if (type == bb::attn::AttentionType::OriginalFull) {
        // Capture each layer's dense attention only long enough to measure the mass outside the
        // sparse pattern, then drop it: memory stays at one layer.
        opt.capture.enabled = true;
        cmp->outsideMass.assign(size_t(layers), std::vector<double>(size_t(c.num_attention_heads), 0.0));
      }
      opt.on_layer_done = [&](int layer, int n, std::vector<AttentionMap>* captured) {
        ctx.checkCancelled();
        if (captured && !captured->empty()) {
          bb::attn::PatternRequest req;
          req.seq_len = L;
          req.block = c.block_size;
          req.num_random = c.num_random_blocks;
          req.heads = c.num_attention_heads;
          req.layer = layer;
          req.max_position_embeddings = c.max_position_embeddings;
          req.mode = mode;
          const bb::attn::LayerPattern lp = bb::attn::plan_layer(req);
          if (lp.pattern.num_blocks() > 0)
            cmp->outsideMass[size_t(layer)] = bb::attn::mass_outside_pattern((*captured)[0], lp.pattern, L);
          std::vector<AttentionMap>().swap(*captured);
        }
        ctx.setProgress(from + (to - from) * double(layer + 1) / n, QStringLiteral("%1: layer %2 of %3").arg(name).arg(layer + 1).arg(n));
      };
      QElapsedTimer t;
      t.start();
      bb::EncoderOutputs out = model->model->forward(in, opt);
      ComputeBackend::instance().reportUsed(out.backend);
      return std::make_pair(std::move(out), double(t.nsecsElapsed()) * 1e-9);
    };
    auto [sparse, sparseSeconds] = pass(c.attention_type, 0.0, 0.45, QStringLiteral("block_sparse"));
    auto [full, fullSeconds] = pass(bb::attn::AttentionType::OriginalFull, 0.45, 0.95, QStringLiteral("original_full"));
    cmp->sparseDecision = sparse.decision;
    cmp->fullDecision = full.decision;
    cmp->sparseSeconds = sparseSeconds;
    cmp->fullSeconds = fullSeconds;

    const int64_t H = c.hidden_size;
    for (size_t i = 0; i < std::min(sparse.hidden_states.size(), full.hidden_states.size()); ++i)
      cmp->hiddenDiff.push_back(relativeDiff(sparse.hidden_states[i].data(), full.hidden_states[i].data(), L * H));
    const bb::Tensor& hs = sparse.last_hidden_state;
    const bb::Tensor& hf = full.last_hidden_state;
    for (int64_t t = 0; t < L; ++t) cmp->tokenDiff.push_back(float(relativeDiff(hs.data() + t * H, hf.data() + t * H, H)));

    if (cmp->hasMlm) {
      const int64_t V = c.vocab_size;
      int agree = 0;
      double klSum = 0;
      auto decode = [&](const std::vector<bb::TokenProbability>& top) {
        std::vector<MaskedPrediction> out;
        for (const auto& p : top)
          out.push_back({p.id < model->tokenizer->vocab_size() ? model->tokenizer->decode({p.id}, false)
                                                               : "<id " + std::to_string(p.id) + ">",
                         p.probability});
        return out;
      };
      for (size_t i = 0; i < cmp->probes.size(); ++i) {
        const float* ls = sparse.logits.data() + int64_t(i) * V;
        const float* lf = full.logits.data() + int64_t(i) * V;
        const auto ts = bb::top_predictions(ls, V, kTopPredictions), tf = bb::top_predictions(lf, V, kTopPredictions);
        agree += ts[0].id == tf[0].id;
        cmp->kl.push_back(bb::kl_divergence(lf, ls, V));
        klSum += cmp->kl.back();
        cmp->sparseTop.push_back(decode(ts));
        cmp->fullTop.push_back(decode(tf));
      }
      if (!cmp->probes.empty()) {
        cmp->top1Agreement = double(agree) / double(cmp->probes.size());
        cmp->meanKl = klSum / double(cmp->probes.size());
      }
    }
    return TaskManager::Finish([this, cmp, doc] {
      if (doc != document_) return;
      comparison_ = cmp;
      emit comparisonChanged();
    });
  });
}

void LabSession::setSelection(const AttentionSelection& s) {
  AttentionSelection next = s;
  if (attention_) {
    next.layer = std::clamp(next.layer, 0, attention_->layers - 1);
    next.head = std::clamp(next.head, 0, attention_->heads - 1);
  }
  if (document_) next.token = std::clamp<int64_t>(next.token, -1, document_->tokens() - 1);
  next.topK = std::clamp(next.topK, 1, 64);
  if (next == selection_) return;
  selection_ = next;
  refreshSelection();
  emit selectionChanged();
}

void LabSession::selectToken(int64_t token) {
  AttentionSelection s = selection_;
  s.token = token;
  setSelection(s);
}

void LabSession::refreshSelection() {
  weights_.clear();
  highlighted_.clear();
  const AttentionSelection s = selection_;
  if (!attention_ || !document_ || s.token < 0 || s.token >= attention_->realLen) return;
  const int64_t L = attention_->realLen;
  if (!s.rollout) {
    const AttentionMap& m = attention_->maps[size_t(s.layer)];
    const HeadSelect hs = toHeadSelect(s.headMode, s.head);
    weights_ = s.direction == AttentionSelection::AttendsTo ? bb::attn::attention_row(m, hs, s.token)
                                                            : bb::attn::attention_column(m, hs, s.token);
    weights_.resize(size_t(L));
    highlighted_ = bb::attn::top_k(weights_, s.topK, L);
    return;
  }
  // Rollout touches every layer: run it on the worker and fill in when it arrives.
  auto run = attention_;
  const int generation = ++rolloutGeneration_;
  tasks_->submit(QStringLiteral("rollout"), QStringLiteral("Attention rollout"), [this, run, s, generation](TaskContext& ctx) {
    std::vector<const AttentionMap*> layers;
    for (int l = 0; l <= s.layer; ++l) layers.push_back(&run->maps[size_t(l)]);
    ctx.setProgress(0.1, QStringLiteral("%1 layers").arg(layers.size()));
    auto w = std::make_shared<std::vector<float>>(s.direction == AttentionSelection::AttendsTo
                                                      ? bb::attn::rollout_row(layers, s.token, run->realLen)
                                                      : bb::attn::rollout_column(layers, s.token, run->realLen));
    return TaskManager::Finish([this, w, run, s, generation] {
      if (generation != rolloutGeneration_ || run != attention_ || !(s == selection_)) return;
      weights_ = *w;
      highlighted_ = bb::attn::top_k(weights_, s.topK, run->realLen);
      emit selectionChanged();
    });
  });
}

}  // namespace bb::ui
