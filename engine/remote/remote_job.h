#pragma once
// What a desktop client does around one remote job: upload a model folder or a file under a
// content-derived name (so a runner that already has the same bytes gets nothing again), submit
// the job, follow its events while watching for a cancel request, and download artifacts.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/remote/client.h"

namespace bb::remote {

// Called after each uploaded chunk with the bytes of the current file; it may throw to stop.
using UploadProgress = std::function<void(const std::string& file, uint64_t done, uint64_t total)>;

// Uploads `local_path` as "<stem>-<sha16><ext>"; returns the job-spec reference "uploads/<name>".
std::string upload_by_content(Client& c, const std::string& local_path, const UploadProgress& progress = {});

// Uploads the regular top-level files of a model folder as "model-<sha16>/<file>" (sha16 over the
// names and contents); `tokenizer` (optional) is added as spiece.model when the folder has no
// tokenizer of its own. Returns "uploads/model-<sha16>".
std::string upload_model_dir(Client& c, const std::string& dir, const std::string& tokenizer = "",
                             const UploadProgress& progress = {});

// Submits `spec` and hands every event to on_event (on a background thread) until the job ends.
// When cancelled() turns true the job is cancelled on the runner and followed to its end.
// Returns the final job record.
nlohmann::json run_job(const ClientOptions& options, const nlohmann::json& spec,
                       const std::function<void(const nlohmann::json&)>& on_event, const std::function<bool()>& cancelled);

// Downloads the artifacts under `prefix` ("" = all) into local_dir, without the prefix; returns
// the local paths.
std::vector<std::string> fetch_artifacts(Client& c, const std::string& id, const std::string& prefix,
                                         const std::string& local_dir);

}  // namespace bb::remote
