#include "engine/io/hub_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/digest.h"
#include "engine/io/json_strict.h"
#include "engine/io/model_location.h"

namespace bb::io {

namespace fs = std::filesystem;

std::string default_hub_endpoint() {
  const char* e = std::getenv("HF_ENDPOINT");
  std::string s = e && *e ? e : "https://huggingface.co";
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

namespace {

constexpr size_t kMaxApiBody = 16 << 20;  // JSON answers; a larger one is not the hub

std::string url_encode(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) out += char(c);
    else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Repo file names come from the server: they must stay inside the snapshot directory.
void check_repo_path(const std::string& name, const std::string& repo) {
  bool ok = !name.empty() && name.size() < 1024 && name[0] != '/' && name.find('\\') == std::string::npos &&
            name.find('\0') == std::string::npos;
  for (size_t start = 0; ok;) {
    const size_t slash = name.find('/', start);
    const std::string part = name.substr(start, slash - start);
    ok = !part.empty() && part != "." && part != "..";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!ok) throw Error(repo + ": the server lists a file named " + quote_for_message(name) + ", which is not a safe path");
}

std::string strip_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string disk_reason(int err) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) return std::string("disk full (") + std::strerror(err) + ")";
  return std::strerror(err);
}

class Hub {
 public:
  Hub(const RepoRef& ref, const HubOptions& opt) : ref_(ref), opt_(opt) {
    endpoint_ = opt.endpoint.empty() ? default_hub_endpoint() : opt.endpoint;
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    static const std::regex url(R"(^(https?://[^/]+)(/.*)?$)");
    std::smatch m;
    if (!std::regex_match(endpoint_, m, url)) throw Error("HF_ENDPOINT " + quote_for_message(endpoint_) + " is not an http(s) URL");
    origin_ = m[1];
    base_path_ = m[2];
    token_ = opt.token ? opt.token : hf_token();
    if (token_ && token_->empty()) token_.reset();  // "" = explicitly anonymous
    cache_ = opt.cache_dir.empty() ? hf_hub_cache_dir() : opt.cache_dir;
    repo_dir_ = repo_cache_dir(cache_, ref.repo);
  }

  PullResult pull() {
    const nlohmann::json info = api_json("/api/models/" + url_encode(ref_.repo, true) + "/revision/" + url_encode(ref_.revision, false),
                                         "revision " + ref_.revision);
    if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() || !is_commit_hash(info["sha"].get<std::string>()))
      throw Error(where() + ": the server's answer has no commit sha");
    result_.commit = info["sha"].get<std::string>();
    std::set<std::string> listed;
    if (info.contains("siblings") && info["siblings"].is_array())
      for (const auto& s : info["siblings"])
        if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string()) listed.insert(s["rfilename"].get<std::string>());

    std::vector<std::string> files = opt_.files.empty() ? choose_files(listed) : opt_.files;
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string local = fetch(files[i]);
      // A sharded checkpoint: its index names the shards.
      if (opt_.files.empty() && files[i].size() > 11 && files[i].compare(files[i].size() - 11, 11, ".index.json") == 0) {
        const nlohmann::json idx = parse_json_strict(read_text_file(local), files[i]);
        if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
          throw Error(where() + ": " + files[i] + " has no weight_map");
        std::set<std::string> shards;
        for (const auto& [t, shard] : idx["weight_map"].items())
          if (shard.is_string()) shards.insert(shard.get<std::string>());
        for (const std::string& s : shards) {
          const fs::path dir = fs::path(files[i]).parent_path();
          files.push_back(dir.empty() ? s : (dir / s).string());
        }
      }
    }
    if (!is_commit_hash(ref_.revision)) {
      const fs::path refs = fs::path(repo_dir_) / "refs" / ref_.revision;  // "refs/pr/3" nests
      fs::create_directories(refs.parent_path());
      write_file_atomic(refs.string(), result_.commit);
    }
    result_.snapshot_dir = repo_dir_ + "/snapshots/" + result_.commit;
    return result_;
  }

 private:
  std::string where() const { return ref_.repo + "@" + ref_.revision; }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>(origin_);
    c->set_connection_timeout(opt_.timeout_seconds, 0);
    c->set_read_timeout(opt_.timeout_seconds, 0);
    c->set_write_timeout(opt_.timeout_seconds, 0);
    c->set_keep_alive(false);
    return c;
  }

  httplib::Headers headers() const {
    httplib::Headers h{{"User-Agent", "bigbird-studio/" BIGBIRD_VERSION}};
    if (token_) h.emplace("Authorization", "Bearer " + *token_);
    return h;
  }

  [[noreturn]] void fail_transport(const std::string& what, httplib::Error e) const {
    if (e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout)
      throw Error(what + ": cannot connect to " + endpoint_ + " (" + httplib::to_string(e) + "; no network, or set HF_ENDPOINT)");
    if (e == httplib::Error::Read)
      throw Error(what + ": connection to " + endpoint_ + " broke or timed out (no data for " +
                  std::to_string(opt_.timeout_seconds) + " s)");
    throw Error(what + ": request to " + endpoint_ + " failed: " + httplib::to_string(e));
  }

  [[noreturn]] void fail_status(const std::string& what, const httplib::Response& r) const {
    const std::string code = r.get_header_value("X-Error-Code");
    const std::string msg = r.get_header_value("X-Error-Message");
    std::string why;
    if (r.status == 401 || r.status == 403) {
      why = token_ ? "access denied: the token was refused or has no access to this repo"
                   : "access denied: the repo is private or gated; set HF_TOKEN (or save a token in " + hf_home_dir() + "/token)";
      if (code == "GatedRepo") why += " (gated repo: accept its conditions on the hub first)";
    } else if (r.status == 404) {
      if (code == "RepoNotFound") why = "repository " + ref_.repo + " not found";
      else if (code == "RevisionNotFound") why = "revision " + ref_.revision + " not found";
      else if (code == "EntryNotFound") why = "file not found in the repository";
      else why = "not found";
    } else {
      why = "server answered HTTP " + std::to_string(r.status);
    }
    throw Error(what + ": " + why + " (HTTP " + std::to_string(r.status) + (msg.empty() ? "" : ", " + msg) + ")");
  }

  nlohmann::json api_json(const std::string& path, const std::string& what_part) {
    const std::string what = where() + ": " + what_part;
    auto c = client();
    c->set_follow_location(true);
    std::string body;
    const httplib::Result r = c->Get(base_path_ + path, headers(), [&](const char* d, size_t n) {
      body.append(d, n);
      return body.size() <= kMaxApiBody;
    });
    if (!r) fail_transport(what, r.error());
    if (r->status != 200) fail_status(what, *r);
    return parse_json_strict(body, endpoint_ + base_path_ + path);
  }

  std::vector<std::string> choose_files(const std::set<std::string>& listed) const {
    if (!listed.count("config.json")) throw Error(where() + ": the repository has no config.json");
    std::vector<std::string> f{"config.json"};
    bool weights = false;
    for (const char* w : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"})
      if (!weights && listed.count(w)) {
        f.push_back(w);
        weights = true;
      }
    if (!weights) {
      std::string names;
      for (const auto& n : listed) names += (names.empty() ? "" : ", ") + n;
      throw Error(where() + ": no model.safetensors or pytorch_model.bin in the repository (files: " + names + ")");
    }
    for (size_t i = 0; i < kTokenizerFileCount; ++i)
      if (listed.count(kTokenizerFileNames[i])) f.push_back(kTokenizerFileNames[i]);
    return f;
  }

  struct Remote {
    std::string etag;
    uint64_t size = 0;
    bool has_size = false;
  };

  Remote head(const std::string& file, const std::string& what) const {
    std::string path = base_path_ + "/" + url_encode(ref_.repo, true) + "/resolve/" + result_.commit + "/" + url_encode(file, true);
    auto c = client();
    c->set_follow_location(false);
    for (int hop = 0; hop < 5; ++hop) {
      const httplib::Result r = c->Head(path, headers());
      if (!r) fail_transport(what, r.error());
      Remote rem;
      std::string etag = r->get_header_value("X-Linked-Etag");
      if (etag.empty()) etag = r->get_header_value("ETag");
      std::string size = r->get_header_value("X-Linked-Size");
      if (size.empty()) size = r->get_header_value("Content-Length");
      const bool linked = r->has_header("X-Linked-Etag");
      if (r->status >= 300 && r->status < 400 && !linked) {  // a renamed repo: follow relative redirects
        const std::string loc = r->get_header_value("Location");
        if (loc.empty() || loc[0] != '/') throw Error(what + ": unexpected redirect to " + quote_for_message(loc));
        path = loc;
        continue;
      }
      if (r->status != 200 && !(linked && r->status >= 300 && r->status < 400)) fail_status(what, *r);
      rem.etag = strip_etag(etag);
      if (!is_hex(rem.etag) || rem.etag.size() < 16 || rem.etag.size() > 128)
        throw Error(what + ": the server gave no usable ETag (" + quote_for_message(etag) + ")");
      if (!size.empty()) {
        char* end = nullptr;
        rem.size = std::strtoull(size.c_str(), &end, 10);
        rem.has_size = end && *end == '\0';
      }
      return rem;
    }
    throw Error(what + ": too many redirects");
  }

  void progress(const std::string& file, uint64_t done, uint64_t total, bool finished) const {
    if (opt_.progress) opt_.progress({file, done, total, finished});
  }

  // Fetches one file into the cache (if its blob is not complete yet) and links it. Returns the
  // snapshot path.
  std::string fetch(const std::string& file) {
    check_repo_path(file, where());
    const std::string what = where() + ": " + file;
    const Remote rem = head(file, what);
    fs::create_directories(repo_dir_ + "/blobs");
    const std::string blob = repo_dir_ + "/blobs/" + rem.etag;
    std::error_code ec;
    if (fs::is_regular_file(blob, ec) && (!rem.has_size || fs::file_size(blob, ec) == rem.size)) {
      ++result_.reused_files;
      progress(file, rem.size, rem.size, true);
    } else {
      download(file, what, rem, blob);
    }
    result_.files.push_back(file);
    return link(file, rem.etag);
  }

  void download(const std::string& file, const std::string& what, const Remote& rem, const std::string& blob) {
    const std::string part = blob + ".incomplete";
    const std::string url = base_path_ + "/" + url_encode(ref_.repo, true) + "/resolve/" + result_.commit + "/" + url_encode(file, true);
    for (int attempt = 0;; ++attempt) {
      const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) throw Error(what + ": cannot write " + part + ": " + disk_reason(errno));
      struct stat st {};
      ::fstat(fd, &st);
      uint64_t have = uint64_t(st.st_size);
      if (rem.has_size && have > rem.size) {  // stale partial file larger than the blob: start over
        if (::ftruncate(fd, 0) != 0) {}
        have = 0;
      }
      if (rem.has_size && have == rem.size) {
        ::close(fd);
        break;
      }
      httplib::Headers h = headers();
      if (have > 0) h.emplace("Range", "bytes=" + std::to_string(have) + "-");
      int status = 0, write_errno = 0;
      std::string error_body;
      auto c = client();
      c->set_follow_location(true);
      const httplib::Result r = c->Get(
          url, h,
          [&](const httplib::Response& resp) {
            status = resp.status;
            if (status == 200 && have > 0) {  // the server ignored Range: start from the beginning
              if (::ftruncate(fd, 0) != 0) {}
              have = 0;
            }
            if (status == 206) {
              const std::string range = resp.get_header_value("Content-Range");
              if (range.rfind("bytes " + std::to_string(have) + "-", 0) != 0) status = -206;  // not what we asked for
            }
            return status == 200 || status == 206 || status >= 400 || status == 416;
          },
          [&](const char* d, size_t n) {
            if (status != 200 && status != 206) {
              if (error_body.size() < 4096) error_body.append(d, std::min<size_t>(n, 4096));
              return true;
            }
            while (n > 0) {
              const ssize_t w = ::write(fd, d, n);
              if (w < 0) {
                if (errno == EINTR) continue;
                write_errno = errno;
                return false;
              }
              d += w;
              n -= size_t(w);
              have += uint64_t(w);
              result_.downloaded_bytes += uint64_t(w);
            }
            progress(file, have, rem.size, false);
            return true;
          });
      ::close(fd);
      if (write_errno) throw Error(what + ": cannot write " + part + ": " + disk_reason(write_errno));
      if (status == -206) throw Error(what + ": the server answered a different byte range than requested");
      if (r && status == 416 && rem.has_size) {  // nothing left to fetch: the size check below decides
        std::error_code ec;
        if (fs::file_size(part, ec) != rem.size) fs::remove(part, ec);
        if (attempt < opt_.retries) continue;
      }
      if (r && status >= 400 && status != 416) fail_status(what, *r);
      const bool complete = r && (!rem.has_size || have == rem.size);
      if (complete) break;
      if (attempt >= opt_.retries) {
        if (!r) fail_transport(what + " (" + std::to_string(have) + " of " + std::to_string(rem.size) + " bytes kept; run again to resume)", r.error());
        throw Error(what + ": transfer ended at " + std::to_string(have) + " of " + std::to_string(rem.size) +
                    " bytes; run again to resume");
      }
    }
    std::error_code ec;
    const uint64_t got = fs::file_size(part, ec);
    if (rem.has_size && got != rem.size)
      throw Error(what + ": downloaded " + std::to_string(got) + " bytes, expected " + std::to_string(rem.size));
    // LFS files are named by sha256; other git files by their blob sha1.
    const std::string actual = rem.etag.size() == 64 ? file_sha256(part) : rem.etag.size() == 40 ? file_git_blob_sha1(part) : rem.etag;
    if (actual != rem.etag) {
      fs::remove(part, ec);
      throw Error(what + ": checksum mismatch (expected " + rem.etag + ", got " + actual + "); the partial file was removed");
    }
    fs::rename(part, blob, ec);
    if (ec) throw Error(what + ": cannot move " + part + " into place: " + ec.message());
    progress(file, got, got, true);
  }

  std::string link(const std::string& file, const std::string& etag) const {
    const fs::path dst = fs::path(repo_dir_) / "snapshots" / result_.commit / file;
    fs::create_directories(dst.parent_path());
    std::string target = "../../";
    for (char ch : file)
      if (ch == '/') target += "../";
    target += "blobs/" + etag;
    const std::string tmp = dst.string() + ".link-" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_symlink(target, tmp, ec);
    if (!ec) fs::rename(tmp, dst, ec);
    if (ec) throw Error(where() + ": cannot link " + dst.string() + ": " + ec.message());
    return dst.string();
  }

  RepoRef ref_;
  const HubOptions& opt_;
  std::string endpoint_, origin_, base_path_, cache_, repo_dir_;
  std::optional<std::string> token_;
  PullResult result_;
};

}  // namespace

PullResult hub_pull(const RepoRef& ref, const HubOptions& options) { return Hub(ref, options).pull(); }

}  // namespace bb::io
