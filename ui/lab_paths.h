#pragma once
// Where the studio finds its bundled files (models, vocabularies, sample documents). Nothing is
// downloaded: every path is local, so the studio starts offline.
#include <QString>

namespace bb::ui {

// bb::resource_dir(): $BIGBIRD_RESOURCES, else <app>/../share/bigbird-studio (installed), else the
// source tree's resources/ (development builds).
QString resourceDir();
QString defaultModelDir();  // resourceDir()/default-model (the bundled Austen teaching model)
QString samplesDir();       // resourceDir()/samples
// The vocabulary used when a model directory brings none: gpt2.model for vocab_size 50358.
QString bundledVocab(const QString& file);

}  // namespace bb::ui
