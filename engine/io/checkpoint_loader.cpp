#include "engine/io/checkpoint_loader.h"

#include <set>

#include "engine/core/error.h"
#include "engine/io/json_strict.h"
#include "engine/io/model_location.h"
#include "engine/io/parameter_manifest.h"
#include "engine/io/tensor_source.h"
#include "engine/io/tf_name_mapping.h"

namespace bb::io {

namespace {

// A tensor the store and a tied name share: one allocation, two names.
std::pair<Tensor, Tensor> shared_pair(Tensor t) {
  auto owner = std::make_shared<Tensor>(std::move(t));
  const Shape shape = owner->shape();
  float* data = owner->data();
  return {Tensor::view(shape, data, owner), Tensor::view(shape, data, owner)};
}

std::string list_names(const std::vector<std::string>& names, size_t max = 5) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) s += (i ? ", " : "") + quote_for_message(names[i]);
  if (names.size() > max) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

}  // namespace

LoadedCheckpoint load_checkpoint_with_report(const std::string& path, const ModelConfig& config) {
  const ModelLocation loc = locate_model(path);
  const std::unique_ptr<TensorSource> src = open_tensor_source(loc.weights);
  const ParameterManifest manifest = expected_parameters(config);
  const std::string label = loc.weights;

  LoadedCheckpoint out;
  LoadReport& rep = out.report;
  rep.format = src->format();
  rep.files = src->files();
  out.params.set_source(label);
  // Original TF names (a TF checkpoint, or one converted to safetensors keeping its names).
  bool tf = rep.format == "tensorflow-bundle";
  for (const SourceTensor& t : src->tensors())
    tf = tf || t.name.rfind("bert/", 0) == 0 || t.name.rfind("pegasus/", 0) == 0;

  // Source tensor for every HF name (and the layout change TF needs).
  struct Pick {
    const SourceTensor* src;
    TfLayout layout = TfLayout::AsIs;
  };
  std::map<std::string, Pick> picks;
  std::set<std::string> used;
  if (tf) {
    for (const SourceTensor& t : src->tensors()) {
      const auto m = map_tf_name(t.name, config.family);
      if (!m) {
        rep.skipped.push_back(t.name);
        continue;
      }
      for (const std::string& mapped_name : m->hf_names) {
        const std::string hf = manifest.adapt(mapped_name);
        if (picks.count(hf))
          throw Error(label + ": TensorFlow variables " + quote_for_message(picks[hf].src->name) + " and " +
                      quote_for_message(t.name) + " both map to " + quote_for_message(hf));
        picks[hf] = {&t, m->layout};
        rep.renamed[hf] = t.name;
      }
    }
  } else {
    for (const SourceTensor& t : src->tensors()) {
      const std::string name = manifest.adapt(t.name);
      if (picks.count(name)) throw Error(label + ": tensors " + quote_for_message(picks[name].src->name) + " and " + quote_for_message(t.name) + " are both " + quote_for_message(name));
      picks[name] = {&t};
      if (name != t.name) rep.renamed[name] = t.name;
    }
  }

  auto load_one = [&](const std::string& hf, const Pick& p, const Shape* want) -> Tensor {
    const std::string what = label + ": tensor " + quote_for_message(p.src->name);
    if (!is_floating(p.src->dtype))
      throw Error(what + " is " + dtype_name(p.src->dtype) + "; parameter " + quote_for_message(hf) + " must be floating point");
    Tensor v = src->read_f32(p.src->name);
    if (tf && want) v = apply_tf_layout(v, p.layout, *want, what + " (for " + quote_for_message(hf) + ")");
    if (want && v.shape() != *want)  // (the wording of ParameterStore's shape errors)
      throw Error(label + ": tensor '" + hf + "' has shape " + shape_to_string(v.shape()) + ", expected " +
                  shape_to_string(*want) + " by the config (" + manifest.architecture + ")" +
                  (hf != p.src->name ? " (stored as " + quote_for_message(p.src->name) + ")" : ""));
    rep.stored_dtype[hf] = p.src->dtype;
    return v;
  };

  // 1. Everything the config implies.
  std::vector<std::string> missing;
  std::map<std::string, std::string> tie_later;  // name -> tied_to
  for (const ExpectedTensor& e : manifest.tensors) {
    auto it = picks.find(e.name);
    if (it != picks.end()) {
      out.params.set(e.name, load_one(e.name, it->second, &e.shape));
      used.insert(e.name);
    } else if (!e.tied_to.empty()) {
      tie_later[e.name] = e.tied_to;
    } else if (e.zeros_if_missing) {
      out.params.set(e.name, Tensor(e.shape));
      rep.zero_filled.push_back(e.name);
    } else if (e.optional) {
      rep.missing_optional.push_back(e.name);
    } else {
      missing.push_back(e.name);
    }
  }
  if (!missing.empty())
    throw Error(label + ": " + std::to_string(missing.size()) + " tensor(s) that " + manifest.architecture +
                " needs are missing: " + list_names(missing) + (tf ? " (after mapping TensorFlow names)" : ""));

  // 2. Tied weights stored once: both names share one tensor.
  for (const auto& [name, to] : tie_later) {
    if (!out.params.has(to)) {
      rep.missing_optional.push_back(name);
      continue;
    }
    Tensor& base = out.params.mutable_get(to);
    auto [a, b] = shared_pair(std::move(base));
    out.params.set(to, std::move(a));
    out.params.set(name, std::move(b));
    rep.tied.push_back(name);
    if (rep.stored_dtype.count(to)) rep.stored_dtype[name] = rep.stored_dtype[to];
  }

  // 3. The rest of the file: extra floating tensors load (heads the config does not list), the
  //    rest is reported.
  for (const auto& [name, p] : picks) {
    if (used.count(name)) continue;
    if (manifest.is_buffer(name) || !is_floating(p.src->dtype)) {
      rep.skipped.push_back(p.src->name);
      continue;
    }
    if (tf) {  // a mapped TF name the config does not know: nothing to check its layout against
      rep.unexpected.push_back(name);
      continue;
    }
    out.params.set(name, load_one(name, p, nullptr));
    rep.unexpected.push_back(name);
  }
  for (const std::string& o : src->other_entries()) rep.skipped.push_back(o);
  return out;
}

ParameterStore load_checkpoint(const std::string& path, const ModelConfig& config) {
  return load_checkpoint_with_report(path, config).params;
}

}  // namespace bb::io
