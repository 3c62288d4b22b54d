#include "engine/io/pickle_vm.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/core/utf8.h"
#include "engine/io/byte_cursor.h"
#include "engine/io/json_strict.h"

namespace bb::io::pickle {

const Ref* Object::get(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::String && k->text == key) return &v;
  return nullptr;
}

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Host: return "object";
  }
  return "?";
}

namespace {

std::string int_to_string(__int128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
  std::string s;
  while (u) {
    s.insert(s.begin(), char('0' + int(u % 10)));
    u /= 10;
  }
  return neg ? "-" + s : s;
}

}  // namespace

std::string describe(const Object& o) {
  switch (o.kind) {
    case Kind::Int: return "int " + int_to_string(o.integer);
    case Kind::String: return "str " + quote_for_message(o.text);
    case Kind::Global: return "global " + o.module + "." + o.text;
    case Kind::Tuple: return "tuple of " + std::to_string(o.items.size());
    case Kind::List: return "list of " + std::to_string(o.items.size());
    case Kind::Dict: return "dict of " + std::to_string(o.entries.size());
    default: return kind_name(o.kind);
  }
}

Ref make_int(__int128 v) {
  auto o = std::make_shared<Object>();
  o->kind = Kind::Int;
  o->integer = v;
  return o;
}

Ref make_host(std::shared_ptr<void> host, int tag) {
  auto o = std::make_shared<Object>();
  o->kind = Kind::Host;
  o->host = std::move(host);
  o->host_tag = tag;
  return o;
}

namespace {

// Opcodes (Python's Lib/pickle.py names).
enum : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
  BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
  STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
  BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
  LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', PUT = 'p', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's',
  TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G', PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85,
  TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  BINBYTES = 'B', SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e,
  STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
};

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case NEWOBJ: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x90: return "EMPTY_SET";
    case 0x91: return "ADDITEMS";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    case 0x8f: return "FROZENSET";
    default: return nullptr;
  }
}

class Machine {
 public:
  Machine(std::span<const uint8_t> bytes, size_t start, const std::string& label, const Hooks& hooks, const Limits& limits)
      : in_(bytes, label), hooks_(hooks), limits_(limits) {
    in_.seek(start, "pickle start");
  }

  Result run() {
    for (;;) {
      op_pos_ = in_.pos();
      if (in_.at_end()) fail("pickle ends without STOP (truncated file?)");
      const uint8_t op = in_.u8("opcode");
      if (op == STOP) break;
      step(op);
    }
    if (!marks_.empty()) fail("pickle ends inside an unclosed MARK");
    if (stack_.size() != 1) fail("pickle ends with " + std::to_string(stack_.size()) + " values on the stack instead of 1");
    return {stack_.back(), in_.pos()};
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(in_.label() + ": pickle offset " + std::to_string(op_pos_) + ": " + why);
  }

  Ref fresh(Kind k) {
    if (++objects_ > limits_.max_objects)
      fail("more than " + std::to_string(limits_.max_objects) + " objects (not a state_dict)");
    auto o = std::make_shared<Object>();
    o->kind = k;
    return o;
  }
  Ref fresh_int(__int128 v) {
    Ref o = fresh(Kind::Int);
    o->integer = v;
    return o;
  }
  Ref fresh_bool(bool v) {
    Ref o = fresh(Kind::Bool);
    o->boolean = v;
    return o;
  }

  void push(Ref r) { stack_.push_back(std::move(r)); }
  Ref pop(const char* what) {
    if (stack_.size() <= stack_floor()) fail(std::string(what) + " on an empty stack");
    Ref r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  Ref& top(const char* what) {
    if (stack_.size() <= stack_floor()) fail(std::string(what) + " on an empty stack");
    return stack_.back();
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Ref> pop_mark(const char* what) {
    if (marks_.empty()) fail(std::string(what) + " without a MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + long(m)), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  // `child` becomes part of `parent`: frozen from now on, and the depth limit is enforced.
  void adopt(Object& parent, const Ref& child) {
    if (child.get() == &parent) fail("a container cannot contain itself");
    child->frozen = true;
    if (child->depth + 1 > parent.depth) parent.depth = child->depth + 1;
    if (parent.depth > limits_.max_depth) fail("objects nested deeper than " + std::to_string(limits_.max_depth) + " levels");
  }
  void check_mutable(const Object& o, const char* what) {
    if (o.frozen) fail(std::string(what) + " modifies a " + kind_name(o.kind) + " that is already stored elsewhere");
  }

  Ref make_tuple(std::vector<Ref> items) {
    Ref t = fresh(Kind::Tuple);
    for (const Ref& i : items) adopt(*t, i);
    t->items = std::move(items);
    return t;
  }

  void list_append(const Ref& list, Ref item, const char* what) {
    if (list->kind != Kind::List) fail(std::string(what) + " on a " + kind_name(list->kind) + ", not a list");
    check_mutable(*list, what);
    adopt(*list, item);
    list->items.push_back(std::move(item));
  }

  static std::string key_signature(const Object& k) {
    switch (k.kind) {
      case Kind::String: return "s" + k.text;
      case Kind::Int: return std::string("i").append(int_to_string(k.integer));
      case Kind::Bool: return k.boolean ? "i1" : "i0";  // True == 1 as a dict key
      case Kind::None: return "n";
      default: return {};
    }
  }
  void dict_set(const Ref& dict, Ref key, Ref value, const char* what) {
    if (dict->kind != Kind::Dict) fail(std::string(what) + " on a " + kind_name(dict->kind) + ", not a dict");
    check_mutable(*dict, what);
    const std::string sig = key_signature(*key);
    if (sig.empty()) fail(std::string(what) + ": a " + kind_name(key->kind) + " cannot be a dict key here");
    if (!dict->keys) dict->keys = std::make_unique<std::unordered_set<std::string>>();
    if (!dict->keys->insert(sig).second) fail(std::string(what) + ": duplicate dict key " + describe(*key));
    adopt(*dict, key);
    adopt(*dict, value);
    dict->entries.emplace_back(std::move(key), std::move(value));
  }

  void memo_put(uint64_t index, const Ref& value) {
    if (memo_.size() >= limits_.max_memo && !memo_.count(index)) fail("memo grows beyond " + std::to_string(limits_.max_memo) + " entries");
    memo_[index] = value;
  }
  Ref memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }

  std::string_view line(const char* what) {
    const std::span<const uint8_t> rest = in_.rest();
    const void* nl = std::memchr(rest.data(), '\n', rest.size());
    if (!nl) fail(std::string(what) + " is not terminated by a newline");
    const size_t n = size_t(static_cast<const uint8_t*>(nl) - rest.data());
    std::string_view s = in_.take_string(n, what);
    in_.skip(1, what);
    return s;
  }

  __int128 parse_decimal(std::string_view s, const char* what) {
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == s.size()) fail(std::string(what) + ": not a number");
    unsigned __int128 v = 0;
    const unsigned __int128 limit = (unsigned __int128)1 << 126;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') fail(std::string(what) + ": " + quote_for_message(std::string(s)) + " is not a decimal integer");
      v = v * 10 + unsigned(s[i] - '0');
      if (v > limit) fail(std::string(what) + ": integer too large");
    }
    return neg ? -(__int128)v : (__int128)v;
  }

  // Little-endian two's complement of n bytes (LONG1 / LONG4).
  __int128 parse_long_bytes(size_t n) {
    if (n > 16) fail("integer of " + std::to_string(n) + " bytes is too large");
    std::span<const uint8_t> b = in_.take(n, "long integer");
    if (n == 0) return 0;
    unsigned __int128 v = 0;
    for (size_t i = 0; i < n; ++i) v |= (unsigned __int128)b[i] << (8 * i);
    if (n < 16 && (b[n - 1] & 0x80)) v |= ~(unsigned __int128)0 << (8 * n);  // sign-extend
    return (__int128)v;
  }

  Ref make_string(std::string_view s, bool is_unicode) {
    if (is_unicode && !is_valid_utf8(s)) fail("string is not valid UTF-8");
    Ref o = fresh(is_unicode ? Kind::String : Kind::Bytes);
    o->text = std::string(s);
    return o;
  }

  void push_global(const std::string& module, const std::string& name) {
    const bool ordered_dict = module == "collections" && name == "OrderedDict";
    if (!ordered_dict && !(hooks_.allow_global && hooks_.allow_global(module, name)))
      fail("global " + quote_for_message(module + "." + name) + " is not allowed" +
           (hooks_.allowed_summary.empty() ? "" : " (" + hooks_.allowed_summary + ")"));
    Ref g = fresh(Kind::Global);
    g->module = module;
    g->text = name;
    push(std::move(g));
  }

  void reduce() {
    Ref args = pop("REDUCE");
    Ref callable = pop("REDUCE");
    if (callable->kind != Kind::Global) fail("REDUCE calls a " + kind_name(callable->kind) + ", not a global");
    if (args->kind != Kind::Tuple) fail("REDUCE arguments are a " + kind_name(args->kind) + ", not a tuple");
    if (callable->module == "collections" && callable->text == "OrderedDict") {
      Ref d = fresh(Kind::Dict);
      d->ordered = true;
      if (!args->items.empty()) {  // OrderedDict([(k, v), ...])
        if (args->items.size() != 1 || args->items[0]->kind != Kind::List) fail("OrderedDict() takes () or ([(key, value), ...])");
        for (const Ref& pair : args->items[0]->items) {
          if (pair->kind != Kind::Tuple || pair->items.size() != 2) fail("OrderedDict() items must be (key, value) pairs");
          dict_set(d, pair->items[0], pair->items[1], "OrderedDict()");
        }
      }
      push(std::move(d));
      return;
    }
    Ref r = hooks_.reduce ? hooks_.reduce(*callable, *args) : nullptr;
    if (!r) fail("calling " + quote_for_message(callable->module + "." + callable->text) + " is not allowed");
    ++objects_;
    push(std::move(r));
  }

  void build() {
    Ref state = pop("BUILD");
    Ref& obj = top("BUILD");
    // OrderedDict state {'_metadata': ...} (HF state_dicts): attributes, kept out of the entries.
    if (obj->kind == Kind::Dict && state->kind == Kind::Dict) {
      state->frozen = true;
      return;
    }
    fail("BUILD with " + describe(*state) + " on " + describe(*obj) + " is not allowed");
  }

  void persistent_load(Ref pid) {
    Ref r = hooks_.persistent_load ? hooks_.persistent_load(pid) : nullptr;
    if (!r) fail("persistent id " + describe(*pid) + " is not allowed");
    ++objects_;
    push(std::move(r));
  }

  void step(uint8_t op) {
    switch (op) {
      case PROTO: {
        const uint8_t v = in_.u8("protocol");
        if (v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (0-5)");
        return;
      }
      case FRAME: {
        const uint64_t n = in_.u64("frame length");
        if (n > in_.remaining()) fail("frame of " + std::to_string(n) + " bytes runs past the end (truncated file?)");
        return;
      }
      case MARK: marks_.push_back(stack_.size()); return;
      case POP: pop("POP"); return;
      case POP_MARK: pop_mark("POP_MARK"); return;
      case DUP: push(top("DUP")); return;
      case NONE: push(fresh(Kind::None)); return;
      case NEWTRUE: push(fresh_bool(true)); return;
      case NEWFALSE: push(fresh_bool(false)); return;
      case INT: {
        const std::string_view s = line("INT");
        if (s == "01") push(fresh_bool(true));
        else if (s == "00") push(fresh_bool(false));
        else push(fresh_int(parse_decimal(s, "INT")));
        return;
      }
      case LONG: {
        std::string_view s = line("LONG");
        if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
        push(fresh_int(parse_decimal(s, "LONG")));
        return;
      }
      case BININT: push(fresh_int(in_.i32("BININT"))); return;
      case BININT1: push(fresh_int(in_.u8("BININT1"))); return;
      case BININT2: push(fresh_int(in_.u16("BININT2"))); return;
      case LONG1: push(fresh_int(parse_long_bytes(in_.u8("LONG1 length")))); return;
      case LONG4: {
        const int32_t n = in_.i32("LONG4 length");
        if (n < 0) fail("LONG4 with a negative length");
        push(fresh_int(parse_long_bytes(size_t(n))));
        return;
      }
      case BINFLOAT: {
        std::span<const uint8_t> b = in_.take(8, "BINFLOAT");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[size_t(i)];  // big-endian
        Ref o = fresh(Kind::Float);
        std::memcpy(&o->number, &bits, 8);
        push(std::move(o));
        return;
      }
      case BINUNICODE: push(make_string(in_.take_string(in_.u32("BINUNICODE length"), "BINUNICODE"), true)); return;
      case SHORT_BINUNICODE: push(make_string(in_.take_string(in_.u8("SHORT_BINUNICODE length"), "SHORT_BINUNICODE"), true)); return;
      case BINUNICODE8: {
        const uint64_t n = in_.u64("BINUNICODE8 length");
        if (n > in_.remaining()) fail("BINUNICODE8 of " + std::to_string(n) + " bytes runs past the end");
        push(make_string(in_.take_string(size_t(n), "BINUNICODE8"), true));
        return;
      }
      // Python 2 str objects (keys of very old files): bytes that are text.
      case SHORT_BINSTRING: push(make_string(in_.take_string(in_.u8("SHORT_BINSTRING length"), "SHORT_BINSTRING"), true)); return;
      case BINSTRING: {
        const int32_t n = in_.i32("BINSTRING length");
        if (n < 0) fail("BINSTRING with a negative length");
        push(make_string(in_.take_string(size_t(n), "BINSTRING"), true));
        return;
      }
      case SHORT_BINBYTES: push(make_string(in_.take_string(in_.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES"), false)); return;
      case BINBYTES: push(make_string(in_.take_string(in_.u32("BINBYTES length"), "BINBYTES"), false)); return;
      case BINBYTES8: {
        const uint64_t n = in_.u64("BINBYTES8 length");
        if (n > in_.remaining()) fail("BINBYTES8 of " + std::to_string(n) + " bytes runs past the end");
        push(make_string(in_.take_string(size_t(n), "BINBYTES8"), false));
        return;
      }
      case EMPTY_TUPLE: push(make_tuple({})); return;
      case TUPLE: push(make_tuple(pop_mark("TUPLE"))); return;
      case TUPLE1: {
        Ref a = pop("TUPLE1");
        push(make_tuple({a}));
        return;
      }
      case TUPLE2: {
        Ref b = pop("TUPLE2"), a = pop("TUPLE2");
        push(make_tuple({a, b}));
        return;
      }
      case TUPLE3: {
        Ref c = pop("TUPLE3"), b = pop("TUPLE3"), a = pop("TUPLE3");
        push(make_tuple({a, b, c}));
        return;
      }
      case EMPTY_LIST: push(fresh(Kind::List)); return;
      case LIST: {
        std::vector<Ref> items = pop_mark("LIST");
        Ref l = fresh(Kind::List);
        for (Ref& i : items) list_append(l, std::move(i), "LIST");
        push(std::move(l));
        return;
      }
      case APPEND: {
        Ref v = pop("APPEND");
        list_append(top("APPEND"), std::move(v), "APPEND");
        return;
      }
      case APPENDS: {
        std::vector<Ref> items = pop_mark("APPENDS");
        Ref& l = top("APPENDS");
        for (Ref& i : items) list_append(l, std::move(i), "APPENDS");
        return;
      }
      case EMPTY_DICT: push(fresh(Kind::Dict)); return;
      case DICT: {
        std::vector<Ref> items = pop_mark("DICT");
        if (items.size() % 2) fail("DICT with an odd number of items");
        Ref d = fresh(Kind::Dict);
        for (size_t i = 0; i < items.size(); i += 2) dict_set(d, items[i], items[i + 1], "DICT");
        push(std::move(d));
        return;
      }
      case SETITEM: {
        Ref v = pop("SETITEM"), k = pop("SETITEM");
        dict_set(top("SETITEM"), std::move(k), std::move(v), "SETITEM");
        return;
      }
      case SETITEMS: {
        std::vector<Ref> items = pop_mark("SETITEMS");
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        Ref& d = top("SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) dict_set(d, items[i], items[i + 1], "SETITEMS");
        return;
      }
      case GLOBAL: {
        const std::string module(line("GLOBAL module"));
        const std::string name(line("GLOBAL name"));
        push_global(module, name);
        return;
      }
      case STACK_GLOBAL: {
        Ref name = pop("STACK_GLOBAL"), module = pop("STACK_GLOBAL");
        if (name->kind != Kind::String || module->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
        push_global(module->text, name->text);
        return;
      }
      case REDUCE: reduce(); return;
      case BUILD: build(); return;
      case BINPERSID: persistent_load(pop("BINPERSID")); return;
      case PERSID: {
        persistent_load(make_string(line("PERSID"), true));
        return;
      }
      case BINPUT: memo_put(in_.u8("BINPUT index"), top("BINPUT")); return;
      case LONG_BINPUT: memo_put(in_.u32("LONG_BINPUT index"), top("LONG_BINPUT")); return;
      case PUT: {
        const __int128 i = parse_decimal(line("PUT"), "PUT");
        if (i < 0 || i > UINT32_MAX) fail("PUT index out of range");
        memo_put(uint64_t(i), top("PUT"));
        return;
      }
      case MEMOIZE: memo_put(memo_.size(), top("MEMOIZE")); return;
      case BINGET: push(memo_get(in_.u8("BINGET index"))); return;
      case LONG_BINGET: push(memo_get(in_.u32("LONG_BINGET index"))); return;
      case GET: {
        const __int128 i = parse_decimal(line("GET"), "GET");
        if (i < 0 || i > UINT32_MAX) fail("GET index out of range");
        push(memo_get(uint64_t(i)));
        return;
      }
      default: {
        const char* name = opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("opcode ") + hex + (name ? std::string(" (") + name + ")" : std::string()) +
             " is not allowed in a state_dict");
      }
    }
  }

  ByteCursor in_;
  const Hooks& hooks_;
  const Limits& limits_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  size_t objects_ = 0;
  size_t op_pos_ = 0;
};

}  // namespace

Result unpickle(std::span<const uint8_t> bytes, size_t start, const std::string& label, const Hooks& hooks,
                const Limits& limits) {
  Machine m(bytes, start, label, hooks, limits);
  return m.run();
}

}  // namespace bb::io::pickle
