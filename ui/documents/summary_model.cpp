#include "ui/documents/summary_model.h"

#include <QDir>
#include <QFileInfo>

#include "engine/core/error.h"
#include "engine/models/fill_mask.h"
#include "ui/lab_paths.h"

namespace bb::ui::documents {

QString SummaryModel::summary() const {
  const bb::ModelConfig& c = model->config();
  return QStringLiteral("%1 · %2+%3 layers · d %4 · up to %5 tokens")
      .arg(QFileInfo(dir).fileName())
      .arg(c.num_hidden_layers)
      .arg(c.decoder_layers)
      .arg(c.hidden_size)
      .arg(c.max_position_embeddings);
}

SummaryModel loadSummaryModel(const QString& dir) {
  const std::string d = dir.toStdString();
  if (dir.isEmpty()) throw Error("no summarization model chosen: pick a BigBird-Pegasus folder (config.json + model.safetensors)");
  if (!QFileInfo(dir).isDir()) throw Error(d + ": not a folder (a summarization model is a folder with config.json and the weights)");
  if (!QFileInfo(QDir(dir).filePath(QStringLiteral("config.json"))).isFile())
    throw Error(d + ": no config.json; a summarization model is a BigBird-Pegasus folder (config.json + model.safetensors)");
  SummaryModel m;
  m.dir = QDir(dir).absolutePath();
  m.model = std::make_shared<const bb::PegasusModel>(bb::PegasusModel::load(d));
  const std::optional<std::string> own = bb::find_tokenizer_file(d);
  m.tokenizerPath = own ? QString::fromStdString(*own) : bundledVocab(QStringLiteral("pegasus.model"));
  m.tokenizer = bb::tok::load_tokenizer(m.tokenizerPath.toStdString(), bb::tok::Flavor::PegasusHF);
  const int64_t vocab = m.model->config().vocab_size;
  if (m.tokenizer->vocab_size() > vocab)
    throw Error(d + ": the model has " + std::to_string(vocab) + " token embeddings but its tokenizer (" +
                QFileInfo(m.tokenizerPath).fileName().toStdString() + ") has " + std::to_string(m.tokenizer->vocab_size()) +
                " pieces; put the model's own spiece.model beside config.json");
  return m;
}

}  // namespace bb::ui::documents
