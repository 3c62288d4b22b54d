#include "ui/finetune/dataset_check.h"

#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/models/config.h"
#include "engine/train/data/squad_data.h"
#include "engine/train/data/summarization_data.h"
#include "engine/train/data/text_table.h"
#include "engine/train/trainer_data.h"

namespace bb::ui {

namespace {

std::string shorten(const std::string& s, size_t max_bytes = 160) {
  std::string one_line = s;
  for (char& ch : one_line)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  if (one_line.size() <= max_bytes) return one_line;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(one_line[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return one_line.substr(0, cut) + "…";
}

void previewTable(const train::TrainerConfig& c, DatasetCheck& out) {
  const train::TextTable t = train::read_text_table(c.train_file, c.format);
  out.columns = {"line"};
  for (const std::string& col : t.columns) out.columns.push_back(col);
  for (size_t i = 0; i < t.rows.size() && int(i) < kPreviewRows; ++i) {
    std::vector<std::string> row = {std::to_string(t.rows[i].line)};
    for (const std::string& col : t.columns) {
      const auto it = t.rows[i].fields.find(col);
      row.push_back(it == t.rows[i].fields.end() ? "" : shorten(it->second));
    }
    out.rows.push_back(std::move(row));
  }
}

void previewSquad(const train::TrainerConfig& c, const tok::Tokenizer& tokenizer, DatasetCheck& out) {
  train::QAOptions o;
  o.max_length = c.max_length;
  o.doc_stride = c.doc_stride;
  const train::QAData d = train::load_squad(c.train_file, tokenizer, o);
  out.columns = {"id", "question", "answer", "context"};
  for (size_t i = 0; i < d.questions.size() && int(i) < kPreviewRows; ++i) {
    const train::QAQuestion& q = d.questions[i];
    out.rows.push_back({q.id, shorten(q.question), q.answers.empty() ? "(no answer)" : shorten(q.answers.front()),
                        shorten(q.context)});
  }
}

void previewText(const train::TrainerConfig& c, DatasetCheck& out) {
  std::string path = c.train_file;
  if (std::filesystem::is_directory(path)) {  // the trainer reads every .txt in a directory
    for (const auto& e : std::filesystem::directory_iterator(path))
      if (e.is_regular_file() && e.path().extension() == ".txt") {
        path = e.path().string();
        break;
      }
  }
  std::ifstream f(path, std::ios::binary);
  out.columns = {"line", "text"};
  std::string line;
  for (int64_t n = 1; std::getline(f, line) && int(out.rows.size()) < kPreviewRows; ++n)
    if (!line.empty()) out.rows.push_back({std::to_string(n), shorten(line)});
}

// (document, summary) pairs: read and validated here; the summarization trainer tokenizes them.
DatasetCheck checkSummaries(const train::TrainerConfig& c, const ModelConfig& model) {
  DatasetCheck out;
  const std::vector<train::SummaryPair> pairs = train::load_summarization(c.train_file, "document", "summary", c.format);
  out.columns = {"line", "document", "summary"};
  for (size_t i = 0; i < pairs.size() && int(i) < kPreviewRows; ++i)
    out.rows.push_back({std::to_string(pairs[i].line), shorten(pairs[i].document), shorten(pairs[i].summary)});
  const int64_t held_out = c.eval_file.empty() ? int64_t(double(pairs.size()) * c.eval_split) : 0;
  out.trainExamples = int64_t(pairs.size()) - held_out;
  out.evalExamples = held_out;
  if (model.family != ModelFamily::BigBirdPegasus)
    out.error = c.model_dir + ": summarization fine-tunes a BigBird-Pegasus model (model_type bigbird_pegasus), this is " +
                model.model_type;
  return out;
}

}  // namespace

DatasetCheck checkDataset(const train::TrainerConfig& c) {
  DatasetCheck out;
  try {
    if (c.train_file.empty()) throw Error("choose a training file");
    if (!std::filesystem::exists(c.train_file)) throw Error(c.train_file + ": no such file");
    const ModelConfig model = load_config((std::filesystem::path(c.model_dir) / "config.json").string());
    if (c.task == train::Task::Summarization) return checkSummaries(c, model);
    // The whole dataset through the trainer's own loader: same checks, same messages.
    const train::TaskData d = train::load_task_data(c, model.vocab_size);
    out.trainExamples = int64_t(d.train.size());
    out.evalExamples = int64_t(d.eval.size());
    out.labels = d.labels;
    double tokens = 0;
    for (const train::Example& e : d.train) tokens += double(e.ids.size());
    out.meanTokens = d.train.empty() ? 0 : tokens / double(d.train.size());
    switch (c.task) {
      case train::Task::Classification:
        previewTable(c, out);
        break;
      case train::Task::QuestionAnswering:
        previewSquad(c, *d.tokenizer, out);
        break;
      default:
        previewText(c, out);
        break;
    }
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace bb::ui
