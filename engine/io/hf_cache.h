#pragma once
// The Hugging Face hub cache layout, shared with huggingface_hub / transformers:
//   <cache>/models--<org>--<name>/refs/<revision>          (text: commit sha)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file> (symlink to ../../blobs/<etag>)
//   <cache>/models--<org>--<name>/blobs/<etag>              (the content; sha256 for LFS files)
// Cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. Token: $HF_TOKEN, else the file $HF_TOKEN_PATH, else $HF_HOME/token,
// else ~/.cache/huggingface/token.
#include <optional>
#include <string>

namespace bb::io {

struct RepoRef {
  std::string repo;              // "org/name" (or "name")
  std::string revision = "main"; // branch, tag or commit
};

// "org/name" or "org/name@rev"; nullopt if `s` is not shaped like a repo id.
std::optional<RepoRef> parse_repo_ref(const std::string& s);
bool is_commit_hash(const std::string& s);  // 40 lowercase hex digits

std::string hf_hub_cache_dir();
std::string hf_home_dir();
std::optional<std::string> hf_token();  // trimmed; nullopt when none is configured
std::string repo_cache_dir(const std::string& cache, const std::string& repo);  // <cache>/models--org--name

// The snapshot directory of a cached revision; throws bb::Error saying how to get it otherwise.
std::string resolve_cached_snapshot(const RepoRef& ref, const std::string& cache = hf_hub_cache_dir());

}  // namespace bb::io
