#pragma once
// Where the bundled read-only files (vocabularies, samples, tour, default model) live, for every
// binary (CLI, studio, tests): one lookup, so an installed package and a source checkout behave alike.
#include <string>

namespace bb {

// $BIGBIRD_RESOURCES if set; else <dir of the running executable>/../share/bigbird-studio when it
// exists (an installed package, any prefix); else the source tree's resources/ (development builds).
std::string resource_dir();
// resource_dir() + "/" + relative, e.g. resource_path("vocab/gpt2.model").
std::string resource_path(const std::string& relative);
// The installed location for an executable in exe_dir (exposed for tests).
std::string installed_resource_dir(const std::string& exe_dir);

}  // namespace bb
