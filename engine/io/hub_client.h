#pragma once
// Downloads a model repo from the Hugging Face Hub (or any server speaking its API, e.g. a mirror
// named by $HF_ENDPOINT) into the standard HF cache layout (hf_cache.h), so transformers and
// huggingface_hub share the files:
//   GET  {endpoint}/api/models/{repo}/revision/{rev}    -> commit sha + file list
//   HEAD {endpoint}/{repo}/resolve/{commit}/{file}      -> etag (sha256 for LFS) + size
//   GET  the same URL, with Range to resume blobs/<etag>.incomplete
// Each file is verified (size, then sha256 for LFS files or the git blob sha1 otherwise) before it
// is renamed into blobs/ and linked from snapshots/<commit>/. Broken transfers resume, both within
// a run (retries) and across runs. Errors are one line: 401 (token), 404 (repo / revision / file),
// timeouts, disk full.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/hf_cache.h"

namespace bb::io {

struct DownloadProgress {
  std::string file;
  uint64_t done = 0, total = 0;  // bytes of this file (done includes a resumed part)
  bool finished = false;
};

struct HubOptions {
  std::string endpoint;              // "" = $HF_ENDPOINT or https://huggingface.co
  std::optional<std::string> token;  // nullopt = $HF_TOKEN or the HF token file; "" = none
  std::string cache_dir;             // "" = hf_hub_cache_dir()
  int timeout_seconds = 30;          // connect and per-read timeout
  int retries = 3;                   // resumed attempts after a broken transfer, per file
  std::vector<std::string> files;    // explicit files; empty = config + weights + tokenizer files
  std::function<void(const DownloadProgress&)> progress;
};

struct PullResult {
  std::string snapshot_dir;
  std::string commit;
  std::vector<std::string> files;  // repo-relative names, in download order
  uint64_t downloaded_bytes = 0;   // fetched over the network in this run
  uint64_t reused_files = 0;       // already complete in the cache
};

std::string default_hub_endpoint();  // $HF_ENDPOINT or https://huggingface.co (no trailing '/')

// Throws bb::Error.
PullResult hub_pull(const RepoRef& ref, const HubOptions& options = {});

}  // namespace bb::io
