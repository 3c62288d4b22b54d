#include "engine/io/digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <vector>

#include "engine/core/error.h"

namespace bb::io {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Digest::Digest(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, kind == Kind::Sha256 ? EVP_sha256() : EVP_sha1(), nullptr) != 1)
    throw Error("cannot initialise a message digest (OpenSSL)");
}

Digest::~Digest() { EVP_MD_CTX_free(impl_->ctx); }

void Digest::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

std::string Digest::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &n);
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += kHex[md[i] >> 4];
    s += kHex[md[i] & 15];
  }
  return s;
}

namespace {

void stream_file(const std::string& path, Digest& d) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) d.update({reinterpret_cast<const uint8_t*>(buf.data()), size_t(got)});
  }
  if (in.bad()) throw Error("cannot read " + path + ": I/O error");
}

}  // namespace

std::string file_sha256(const std::string& path) {
  Digest d(Digest::Kind::Sha256);
  stream_file(path, d);
  return d.hex();
}

std::string file_git_blob_sha1(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error("cannot read " + path + ": " + std::strerror(errno));
  Digest d(Digest::Kind::Sha1);
  const std::string header = "blob " + std::to_string(st.st_size);
  d.update({reinterpret_cast<const uint8_t*>(header.c_str()), header.size() + 1});  // with the NUL
  stream_file(path, d);
  return d.hex();
}

}  // namespace bb::io
