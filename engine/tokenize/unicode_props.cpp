#include "engine/tokenize/unicode_props.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>

#include "engine/core/error.h"

namespace bb::tok::uni {

namespace {

uint32_t category_mask(char32_t c) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  if (age[0] > 14) return U_GC_CN_MASK;  // assigned after Unicode 14: unassigned for Python 3.11
  return U_GET_GC_MASK(static_cast<UChar32>(c));
}

const icu::Normalizer2& nfc() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || n == nullptr) throw Error(std::string("ICU NFC normalizer unavailable: ") + u_errorName(status));
  return *n;
}

}  // namespace

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return (category_mask(c) & U_GC_C_MASK) != 0;
}

bool is_bert_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  return (category_mask(c) & U_GC_ZS_MASK) != 0;
}

bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return (category_mask(c) & U_GC_P_MASK) != 0;
}

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void nfc_with_origins(std::u32string& chars, std::vector<int64_t>& begin, std::vector<int64_t>& end) {
  const icu::Normalizer2& norm = nfc();
  UErrorCode status = U_ZERO_ERROR;
  const auto whole = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(chars.data()),
                                                   static_cast<int32_t>(chars.size()));
  if (norm.isNormalized(whole, status) && U_SUCCESS(status)) return;

  // NFC never combines across a "boundary before" character, so normalizing the runs between
  // such characters one at a time gives NFC of the whole text and tells us where each output came from.
  std::u32string out;
  std::vector<int64_t> out_begin, out_end;
  out.reserve(chars.size());
  out_begin.reserve(chars.size());
  out_end.reserve(chars.size());
  std::vector<UChar32> buf;
  for (size_t i = 0; i < chars.size();) {
    size_t j = i + 1;
    while (j < chars.size() && !norm.hasBoundaryBefore(static_cast<UChar32>(chars[j]))) ++j;
    if (j - i == 1 && norm.isInert(static_cast<UChar32>(chars[i]))) {
      out += chars[i];
      out_begin.push_back(begin[i]);
      out_end.push_back(end[i]);
      i = j;
      continue;
    }
    status = U_ZERO_ERROR;
    const auto chunk =
        icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(chars.data() + i), static_cast<int32_t>(j - i));
    const icu::UnicodeString normalized = norm.normalize(chunk, status);
    if (U_FAILURE(status)) throw Error(std::string("NFC normalization failed: ") + u_errorName(status));
    buf.resize(static_cast<size_t>(normalized.countChar32()));
    status = U_ZERO_ERROR;
    const int32_t n = normalized.toUTF32(buf.data(), static_cast<int32_t>(buf.size()), status);
    if (U_FAILURE(status)) throw Error(std::string("NFC normalization failed: ") + u_errorName(status));
    int64_t lo = -1, hi = -1;
    for (size_t k = i; k < j; ++k) {
      if (begin[k] < 0) continue;
      lo = lo < 0 ? begin[k] : std::min(lo, begin[k]);
      hi = std::max(hi, end[k]);
    }
    const bool same_length = static_cast<size_t>(n) == j - i;
    for (int32_t k = 0; k < n; ++k) {
      out += static_cast<char32_t>(buf[k]);
      out_begin.push_back(same_length ? begin[i + k] : lo);
      out_end.push_back(same_length ? end[i + k] : hi);
    }
    i = j;
  }
  chars = std::move(out);
  begin = std::move(out_begin);
  end = std::move(out_end);
}

}  // namespace bb::tok::uni
