#pragma once
// A restricted pickle interpreter: enough of Python's pickle protocols 0-5 to read torch.save
// state_dicts (checkpoint-formats.md §2.4), and nothing that can execute code. Only listed opcodes
// run; GLOBAL / STACK_GLOBAL resolve only names the host allows (anything else is refused, naming
// the global); REDUCE calls only collections.OrderedDict or a host-provided builder; persistent ids
// go to the host. Resources are bounded: objects, nesting depth and memo entries are capped, and
// a container cannot be changed after it was stored in another, so cycles cannot be built.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace bb::io::pickle {

enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Host };

struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  Kind kind = Kind::None;
  bool boolean = false;
  __int128 integer = 0;
  double number = 0;
  std::string text;                   // String (UTF-8), Bytes; Global: the name
  std::string module;                 // Global
  std::vector<Ref> items;             // Tuple, List
  std::vector<std::pair<Ref, Ref>> entries;  // Dict, in insertion order
  std::unique_ptr<std::unordered_set<std::string>> keys;  // Dict: keys seen (duplicates refused)
  bool ordered = false;               // Dict made by collections.OrderedDict
  std::shared_ptr<void> host;         // Host: an object made by the host (storage, tensor, ...)
  int host_tag = 0;
  int depth = 1;                      // containers: 1 + deepest child
  bool frozen = false;                // stored in another container: no longer mutable

  bool is_int() const { return kind == Kind::Int; }
  bool fits_i64() const { return kind == Kind::Int && integer >= INT64_MIN && integer <= INT64_MAX; }
  const Ref* get(const std::string& key) const;  // Dict with string keys; nullptr if absent
};

std::string kind_name(Kind k);
std::string describe(const Object& o);  // short, one-line description for error messages

struct Hooks {
  // Whether GLOBAL module.name may be resolved. collections.OrderedDict is always allowed.
  std::function<bool(const std::string& module, const std::string& name)> allow_global;
  // REDUCE of an allowed global other than OrderedDict: build the result or throw bb::Error.
  // Returning nullptr means "not callable" (the interpreter refuses it, naming the global).
  std::function<Ref(const Object& callable, const Object& args)> reduce;
  // BINPERSID / PERSID: resolve a persistent id (torch storages). nullptr refuses it.
  std::function<Ref(const Ref& pid)> persistent_load;
  // One-line explanation of what globals are allowed, appended to refusals.
  std::string allowed_summary;
};

struct Limits {
  size_t max_objects = 1'000'000;
  int max_depth = 32;
  size_t max_memo = 1'000'000;
};

struct Result {
  Ref value;
  size_t end = 0;  // offset just past STOP (the next pickle of a legacy torch file starts here)
};

// Runs one pickle that starts at bytes[start]. `label` names the input in every error
// ("<label>: pickle offset N: <reason>").
Result unpickle(std::span<const uint8_t> bytes, size_t start, const std::string& label, const Hooks& hooks,
                const Limits& limits = {});

Ref make_int(__int128 v);
Ref make_host(std::shared_ptr<void> host, int tag);

}  // namespace bb::io::pickle
