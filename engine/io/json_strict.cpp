#include "engine/io/json_strict.h"

#include <cstdint>
#include <vector>

#include "engine/core/error.h"

namespace bb::io {

namespace {

using json = nlohmann::json;

// A DOM builder for nlohmann's SAX interface (iterative: deep nesting cannot overflow the stack).
// Object members are created when their key is read, so a second identical key is seen at once.
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(json& root) : root_(root) {}

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(json::number_integer_t v) { return add(v); }
  bool number_unsigned(json::number_unsigned_t v) { return add(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return add(v); }
  bool string(json::string_t& v) { return add(std::move(v)); }
  bool binary(json::binary_t& v) { return add(std::move(v)); }

  bool start_object(std::size_t) {
    stack_.push_back(place(json::value_t::object));
    return true;
  }
  bool key(json::string_t& k) {
    json& obj = *stack_.back();
    if (obj.contains(k)) {
      has_duplicate_ = true;
      duplicate_ = k;
      return false;  // stops the parser
    }
    member_ = &obj[k];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    stack_.push_back(place(json::value_t::array));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    error_ = ex.what();
    return false;
  }

  bool has_duplicate() const { return has_duplicate_; }
  const std::string& duplicate() const { return duplicate_; }
  const std::string& error() const { return error_; }

 private:
  template <typename V>
  bool add(V&& v) {
    place(std::forward<V>(v));
    return true;
  }
  template <typename V>
  json* place(V&& v) {
    if (stack_.empty()) {
      root_ = json(std::forward<V>(v));
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.emplace_back(std::forward<V>(v));
      return &parent.back();
    }
    *member_ = json(std::forward<V>(v));
    return member_;
  }

  json& root_;
  std::vector<json*> stack_;
  json* member_ = nullptr;
  bool has_duplicate_ = false;
  std::string duplicate_, error_;
};

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
std::string strip_exception_tag(const std::string& what) {
  if (!what.empty() && what[0] == '[') {
    size_t close = what.find("] ");
    if (close != std::string::npos) return what.substr(close + 2);
  }
  return what;
}

}  // namespace

std::string quote_for_message(std::string_view s) {
  constexpr size_t kMax = 100;
  bool cut = false;
  if (s.size() > kMax) {
    size_t end = kMax;
    while (end > 0 && (uint8_t(s[end]) & 0xC0) == 0x80) --end;  // do not split a UTF-8 sequence
    s = s.substr(0, end);
    cut = true;
  }
  std::string out = "\"";
  for (char ch : s) {
    const auto c = uint8_t(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  out += "\"";
  if (cut) out += "...";
  return out;
}

json parse_json_strict(std::string_view text, const std::string& label) {
  json root;
  StrictDomBuilder builder(root);
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder);
  if (ok) return root;
  if (builder.has_duplicate())
    throw Error(label + ": duplicate key " + quote_for_message(builder.duplicate()) + " in JSON object");
  throw Error(label + ": invalid JSON: " + strip_exception_tag(builder.error()));
}

}  // namespace bb::io
