#include "ui/lab_random_model.h"

#include <QDir>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/random_weights.h"

namespace bb::ui {

void writeRandomModel(const QString& dir, const bb::ModelConfig& config, uint64_t seed) {
  if (!QDir().mkpath(dir)) throw bb::Error(dir.toStdString() + ": cannot create the model directory");
  const bb::ParameterStore params = bb::random_bigbird_mlm_parameters(config, seed);
  bb::io::SafetensorsWriter w;
  for (const std::string& name : params.names()) w.add(name, params.get(name));
  w.write(QDir(dir).filePath(QStringLiteral("model.safetensors")).toStdString());
  const std::string json = bb::config_to_json(config);
  bb::io::write_file_atomic(QDir(dir).filePath(QStringLiteral("config.json")).toStdString(),
                            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
}

bb::ModelConfig tinyGpt2Config(int64_t maxPositions) {
  bb::ModelConfig c = bb::bigbird_shape_config("tiny");
  c.vocab_size = 50358;
  c.max_position_embeddings = maxPositions;
  return c;
}

}  // namespace bb::ui
