// The generic loader: the tiny BigBird torch fixtures (zip, legacy, fp16, deflated, sharded) load
// into the engine and give bit-identical outputs to the same weights saved as safetensors; a
// TensorFlow checkpoint with the original BigBird names (2-D and 3-D kernels, optimizer slots)
// gives the same parameters; BigBird-Pegasus TF names map onto every HF parameter; the HF cache
// layout resolves "org/name"; errors name the file, the tensor and the reason.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/io/checkpoint_loader.h"
#include "engine/io/checkpoint_saver.h"
#include "engine/io/parameter_manifest.h"
#include "engine/io/safetensors.h"
#include "engine/io/tf_name_mapping.h"
#include "engine/io/torch_checkpoint.h"
#include "tests/engine/io/io_test_util.h"
#include "tests/engine/io/tf_bundle_test_writer.h"
#include "tests/engine/io/tiny_bigbird.h"

using namespace bb;
using bb::testing::error_of;
using bb::testing::TempDir;

namespace {

ModelConfig tiny_config() { return parse_config_json(bb::testing::kTinyBigBirdConfig, "tiny config"); }

void expect_same_outputs(const EncoderOutputs& a, const EncoderOutputs& b, const std::string& what) {
  EXPECT_TRUE(bb::testing::bitwise_equal(a.last_hidden_state, b.last_hidden_state)) << what;
  EXPECT_TRUE(bb::testing::bitwise_equal(a.logits, b.logits)) << what;
  EXPECT_TRUE(bb::testing::bitwise_equal(a.pooler_output, b.pooler_output)) << what;
}

}  // namespace

TEST(CheckpointLoader, TorchFixturesGiveTheOutputsOfTheSameWeightsAsSafetensors) {
  TempDir tmp;
  const std::string zip_dir = tmp.file("zip");
  bb::testing::make_model_dir(zip_dir, bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), "pytorch_model.bin");
  const BigBirdModel from_torch = BigBirdModel::load(zip_dir);

  // Values are the fixture's: element j of state_dict entry k = (j % 97) * 0.01 + k.
  const Tensor& emb = from_torch.parameters().get("bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(emb[0], 1.0f);
  EXPECT_EQ(emb[3], 1.03f);

  // The same weights through safetensors (save_pretrained), loaded by the same engine.
  const std::string st_dir = tmp.file("st");
  const io::SaveResult saved = io::save_pretrained(st_dir, from_torch.config(), from_torch.parameters());
  EXPECT_EQ(saved.omitted_tied, (std::vector<std::string>{"cls.predictions.decoder.bias", "cls.predictions.decoder.weight"}));
  const BigBirdModel from_st = BigBirdModel::load(st_dir);
  const EncoderOutputs want = bb::testing::run_tiny(from_st);
  expect_same_outputs(bb::testing::run_tiny(from_torch), want, "zip");

  // Every other container of the same state_dict.
  struct Variant {
    std::string file, name;
  };
  const std::vector<Variant> variants = {
      {bb::testing::torch_fixture("tiny_bigbird_state_dict_legacy.bin"), "pytorch_model.bin"},
      {bb::testing::checkpoint_data("extra/tiny_bigbird_state_dict_deflated.bin"), "pytorch_model.bin"},
  };
  for (const Variant& v : variants) {
    const std::string dir = tmp.file("v" + std::to_string(&v - variants.data()));
    bb::testing::make_model_dir(dir, v.file, v.name);
    expect_same_outputs(bb::testing::run_tiny(BigBirdModel::load(dir)), want, v.file);
  }
  const std::string sharded = tmp.file("sharded");
  std::filesystem::copy(bb::testing::checkpoint_data("extra/tiny_bigbird_sharded"), sharded);
  io::write_file_atomic(sharded + "/config.json", std::string(bb::testing::kTinyBigBirdConfig));
  expect_same_outputs(bb::testing::run_tiny(BigBirdModel::load(sharded)), want, "sharded");
}

TEST(CheckpointLoader, Fp16TorchAndFp16SafetensorsAgreeBitForBit) {
  TempDir tmp;
  const std::string dir = tmp.file("fp16");
  bb::testing::make_model_dir(dir, bb::testing::torch_fixture("tiny_bigbird_state_dict_fp16_zip.bin"), "pytorch_model.bin");
  const ModelConfig config = tiny_config();
  io::LoadedCheckpoint c = io::load_checkpoint_with_report(dir, config);
  EXPECT_EQ(c.report.format, "pytorch-zip");
  EXPECT_EQ(c.report.stored_dtype.at("bert.embeddings.word_embeddings.weight"), io::DType::F16);
  EXPECT_EQ(c.report.skipped, (std::vector<std::string>{"bert.embeddings.position_ids"}));

  const std::string st = tmp.file("fp16-st");
  io::SaveOptions keep;
  keep.dtypes = c.report.stored_dtype;
  io::save_pretrained(st, config, c.params, keep);
  const io::SafetensorsFile f = io::SafetensorsFile::open(st + "/model.safetensors");
  EXPECT_EQ(f.find("bert.embeddings.word_embeddings.weight")->dtype, io::DType::F16);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  // fp16 -> fp32 -> fp16 is exact, so the reloaded parameters are bit-identical.
  const ParameterStore back = io::load_checkpoint(st, config);
  for (const std::string& n : c.params.names()) EXPECT_TRUE(bb::testing::bitwise_equal(back.get(n), c.params.get(n))) << n;
  expect_same_outputs(bb::testing::run_tiny(BigBirdModel::load(dir)), bb::testing::run_tiny(BigBirdModel::load(st)), "fp16");
}

TEST(CheckpointLoader, OriginalTensorFlowNamesLoadTheSameParameters) {
  TempDir tmp;
  const ModelConfig config = tiny_config();
  auto torch = io::TorchCheckpoint::open(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"));
  const ParameterStore want = io::load_checkpoint(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), config);

  for (bool three_d : {false, true}) {
    SCOPED_TRACE(three_d ? "3-D attention kernels" : "2-D kernels");
    // Build the checkpoint the original TF code would have written: [in, out] kernels, gamma/beta,
    // bert/encoder/LayerNorm for the embedding LayerNorm, output_bias, Adam slots, global_step.
    bb::testing::TfBundleWriter w;
    auto tf_kernel = [&](const std::string& hf, const std::string& tf, int kind) {  // kind 0: 2-D, 1: q/k/v, 2: out
      const Tensor& t = want.get(hf);
      const int64_t out = t.dim(0), in = t.dim(1), heads = 2, d = in / heads;
      std::vector<float> v(size_t(t.numel()));
      std::vector<int64_t> shape;
      if (kind == 0) {
        for (int64_t o = 0; o < out; ++o)
          for (int64_t i = 0; i < in; ++i) v[size_t(i * out + o)] = t[o * in + i];
        shape = {in, out};
      } else if (kind == 1) {  // [H, heads, d]
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t j = 0; j < d; ++j)
            for (int64_t i = 0; i < in; ++i) v[size_t((i * heads + h) * d + j)] = t[(h * d + j) * in + i];
        shape = {in, heads, out / heads};
      } else {  // [heads, d, H]
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t j = 0; j < d; ++j)
            for (int64_t o = 0; o < out; ++o) v[size_t((h * d + j) * out + o)] = t[o * in + h * d + j];
        shape = {heads, d, out};
      }
      w.add_f32(tf, shape, v);
      w.add_f32(tf + "/adam_m", shape, std::vector<float>(v.size(), 7.0f));
      w.add_f32(tf + "/adam_v", shape, std::vector<float>(v.size(), 7.0f));
    };
    auto tf_copy = [&](const std::string& hf, const std::string& tf) {
      const Tensor& t = want.get(hf);
      w.add_f32(tf, t.shape(), std::vector<float>(t.data(), t.data() + t.numel()));
    };
    tf_copy("bert.embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings");
    tf_copy("bert.embeddings.position_embeddings.weight", "bert/embeddings/position_embeddings");
    tf_copy("bert.embeddings.token_type_embeddings.weight", "bert/embeddings/token_type_embeddings");
    tf_copy("bert.embeddings.LayerNorm.weight", "bert/encoder/LayerNorm/gamma");
    tf_copy("bert.embeddings.LayerNorm.bias", "bert/encoder/LayerNorm/beta");
    const std::string l = "bert.encoder.layer.0.", t = "bert/encoder/layer_0/";
    for (const char* q : {"query", "key", "value"}) {
      tf_kernel(l + "attention.self." + q + ".weight", t + "attention/self/" + q + "/kernel", three_d ? 1 : 0);
      tf_copy(l + "attention.self." + q + ".bias", t + "attention/self/" + q + "/bias");
    }
    tf_kernel(l + "attention.output.dense.weight", t + "attention/output/dense/kernel", three_d ? 2 : 0);
    tf_copy(l + "attention.output.dense.bias", t + "attention/output/dense/bias");
    tf_copy(l + "attention.output.LayerNorm.weight", t + "attention/output/LayerNorm/gamma");
    tf_copy(l + "attention.output.LayerNorm.bias", t + "attention/output/LayerNorm/beta");
    tf_kernel(l + "intermediate.dense.weight", t + "intermediate/dense/kernel", 0);
    tf_copy(l + "intermediate.dense.bias", t + "intermediate/dense/bias");
    tf_kernel(l + "output.dense.weight", t + "output/dense/kernel", 0);
    tf_copy(l + "output.dense.bias", t + "output/dense/bias");
    tf_copy(l + "output.LayerNorm.weight", t + "output/LayerNorm/gamma");
    tf_copy(l + "output.LayerNorm.bias", t + "output/LayerNorm/beta");
    tf_kernel("cls.predictions.transform.dense.weight", three_d ? "cls/predictions/transform/kernel" : "cls/predictions/transform/dense/kernel", 0);
    tf_copy("cls.predictions.transform.dense.bias", three_d ? "cls/predictions/transform/bias" : "cls/predictions/transform/dense/bias");
    tf_copy("cls.predictions.transform.LayerNorm.weight", "cls/predictions/transform/LayerNorm/gamma");
    tf_copy("cls.predictions.transform.LayerNorm.bias", "cls/predictions/transform/LayerNorm/beta");
    tf_copy("cls.predictions.bias", "cls/predictions/output_bias");
    bb::testing::TfTensorSpec step{"global_step", 9, {}, std::string(8, '\0'), 0, {}, {}};
    w.add(step);
    const std::string dir = tmp.file(three_d ? "tf3" : "tf2");
    std::filesystem::create_directories(dir);
    w.write(dir + "/model.ckpt-300000");
    io::write_file_atomic(dir + "/checkpoint", std::string("model_checkpoint_path: \"model.ckpt-300000\"\n"));
    io::write_file_atomic(dir + "/config.json", std::string(bb::testing::kTinyBigBirdConfig));

    const io::LoadedCheckpoint got = io::load_checkpoint_with_report(dir, config);
    EXPECT_EQ(got.report.format, "tensorflow-bundle");
    EXPECT_EQ(got.report.renamed.at("bert.embeddings.LayerNorm.weight"), "bert/encoder/LayerNorm/gamma");
    size_t slots = 0;
    for (const std::string& s : got.report.skipped) slots += s.find("adam_") != std::string::npos;
    EXPECT_EQ(slots, 14u);  // adam_m + adam_v of the 7 kernels
    for (const std::string& n : want.names())
      EXPECT_TRUE(bb::testing::bitwise_equal(got.params.get(n), want.get(n))) << n;
    expect_same_outputs(bb::testing::run_tiny(BigBirdModel::load(dir)),
                        bb::testing::run_tiny(BigBirdModel(config, io::load_checkpoint(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), config))),
                        "tensorflow");
  }
}

TEST(CheckpointLoader, PegasusTensorFlowNamesCoverEveryParameter) {
  ModelConfig c = hf_default_config(ModelFamily::BigBirdPegasus);
  c.architectures = {"BigBirdPegasusForConditionalGeneration"};
  c.vocab_size = 12;
  c.hidden_size = 4;
  c.num_hidden_layers = 1;
  c.decoder_layers = 1;
  c.num_attention_heads = 2;
  c.decoder_attention_heads = 2;
  c.intermediate_size = 6;
  c.decoder_ffn_dim = 6;
  c.max_position_embeddings = 5;
  const io::ParameterManifest m = io::expected_parameters(c);

  // TF variables of bigbp_large (bigbird-spec.md §8.3), including ones the converter ignores.
  std::vector<std::string> tf = {"pegasus/embeddings/word_embeddings", "pegasus/embeddings/position_embeddings",
                                 "pegasus/encoder/LayerNorm/gamma", "pegasus/encoder/LayerNorm/beta",
                                 "pegasus/decoder/LayerNorm/gamma", "pegasus/decoder/LayerNorm/beta", "global_step"};
  for (const char* side : {"encoder", "decoder"}) {
    const std::string p = std::string("pegasus/") + side + "/layer_0/";
    for (const char* s : {"attention/self/LayerNorm/gamma", "attention/self/LayerNorm/beta", "attention/self/query/kernel",
                          "attention/self/key/kernel", "attention/self/value/kernel", "attention/output/dense/kernel",
                          "intermediate/LayerNorm/gamma", "intermediate/LayerNorm/beta", "intermediate/dense/kernel",
                          "intermediate/dense/bias", "output/dense/kernel", "output/dense/bias", "attention/self/query/bias"})
      tf.push_back(p + s);
    if (std::string(side) == "decoder")
      for (const char* s : {"attention/encdec/LayerNorm/gamma", "attention/encdec/LayerNorm/beta", "attention/encdec/query/kernel",
                            "attention/encdec/key/kernel", "attention/encdec/value/kernel", "attention/encdec_output/dense/kernel",
                            "attention/encdec_output/dense/bias"})
        tf.push_back(p + s);
  }
  std::set<std::string> produced;
  for (const std::string& name : tf) {
    const auto mapped = io::map_tf_name(name, ModelFamily::BigBirdPegasus);
    if (!mapped) continue;
    for (const std::string& hf : mapped->hf_names) {
      ASSERT_NE(m.find(hf), nullptr) << name << " -> " << hf;
      EXPECT_TRUE(produced.insert(hf).second) << hf;
      const bool kernel = name.size() > 6 && name.compare(name.size() - 6, 6, "kernel") == 0;
      EXPECT_EQ(mapped->layout != io::TfLayout::AsIs, kernel) << name;  // 2-D kernels transpose (3-D ones per head)
    }
  }
  for (const io::ExpectedTensor& e : m.tensors) {
    if (e.optional) continue;
    EXPECT_TRUE(produced.count(e.name)) << "no TF variable maps to " << e.name;
  }
  EXPECT_EQ(io::map_tf_name("pegasus/decoder/layer_0/attention/encdec/query/kernel", ModelFamily::BigBirdPegasus)->hf_names[0],
            "model.decoder.layers.0.encoder_attn.q_proj.weight");
  EXPECT_EQ(io::map_tf_name("pegasus/encoder/layer_0/attention/output/dense/kernel", ModelFamily::BigBirdPegasus)->hf_names[0],
            "model.encoder.layers.0.self_attn.output.weight");
  EXPECT_FALSE(io::map_tf_name("pegasus/encoder/layer_0/attention/self/query/bias", ModelFamily::BigBirdPegasus));
}

TEST(CheckpointLoader, PegasusTensorFlowCheckpointLoadsWithTransposesAndTies) {
  ModelConfig c = hf_default_config(ModelFamily::BigBirdPegasus);
  c.architectures = {"BigBirdPegasusForConditionalGeneration"};
  c.vocab_size = 10;
  c.hidden_size = 4;
  c.num_hidden_layers = 1;
  c.decoder_layers = 1;
  c.num_attention_heads = 2;
  c.decoder_attention_heads = 2;
  c.intermediate_size = 6;
  c.decoder_ffn_dim = 6;
  c.max_position_embeddings = 5;
  const io::ParameterManifest m = io::expected_parameters(c);
  // One TF variable per HF parameter (inverse of the mapping), values = index + 0.5.
  bb::testing::TfBundleWriter w;
  std::map<std::string, std::vector<float>> tf_values;
  const std::string tf_names[] = {
      "pegasus/embeddings/word_embeddings", "pegasus/embeddings/position_embeddings",
      "pegasus/encoder/layer_0/attention/self/LayerNorm/gamma", "pegasus/encoder/layer_0/attention/self/LayerNorm/beta",
      "pegasus/encoder/layer_0/attention/self/query/kernel", "pegasus/encoder/layer_0/attention/self/key/kernel",
      "pegasus/encoder/layer_0/attention/self/value/kernel", "pegasus/encoder/layer_0/attention/output/dense/kernel",
      "pegasus/encoder/layer_0/intermediate/LayerNorm/gamma", "pegasus/encoder/layer_0/intermediate/LayerNorm/beta",
      "pegasus/encoder/layer_0/intermediate/dense/kernel", "pegasus/encoder/layer_0/intermediate/dense/bias",
      "pegasus/encoder/layer_0/output/dense/kernel", "pegasus/encoder/layer_0/output/dense/bias",
      "pegasus/encoder/LayerNorm/gamma", "pegasus/encoder/LayerNorm/beta",
      "pegasus/decoder/layer_0/attention/self/LayerNorm/gamma", "pegasus/decoder/layer_0/attention/self/LayerNorm/beta",
      "pegasus/decoder/layer_0/attention/self/query/kernel", "pegasus/decoder/layer_0/attention/self/key/kernel",
      "pegasus/decoder/layer_0/attention/self/value/kernel", "pegasus/decoder/layer_0/attention/output/dense/kernel",
      "pegasus/decoder/layer_0/attention/encdec/LayerNorm/gamma", "pegasus/decoder/layer_0/attention/encdec/LayerNorm/beta",
      "pegasus/decoder/layer_0/attention/encdec/query/kernel", "pegasus/decoder/layer_0/attention/encdec/key/kernel",
      "pegasus/decoder/layer_0/attention/encdec/value/kernel", "pegasus/decoder/layer_0/attention/encdec_output/dense/kernel",
      "pegasus/decoder/layer_0/intermediate/LayerNorm/gamma", "pegasus/decoder/layer_0/intermediate/LayerNorm/beta",
      "pegasus/decoder/layer_0/intermediate/dense/kernel", "pegasus/decoder/layer_0/intermediate/dense/bias",
      "pegasus/decoder/layer_0/output/dense/kernel", "pegasus/decoder/layer_0/output/dense/bias",
      "pegasus/decoder/LayerNorm/gamma", "pegasus/decoder/LayerNorm/beta"};
  for (const std::string& name : tf_names) {
    const auto mapped = io::map_tf_name(name, ModelFamily::BigBirdPegasus);
    ASSERT_TRUE(mapped) << name;
    Shape shape = m.find(mapped->hf_names[0])->shape;
    if (mapped->layout != io::TfLayout::AsIs) std::swap(shape[0], shape[1]);  // TF kernels are [in, out]
    std::vector<float> v(size_t(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) + 0.5f + float(tf_values.size());
    w.add_f32(name, shape, v);
    tf_values[name] = v;
  }
  w.add_f32("pegasus/encoder/layer_0/intermediate/dense/kernel/adafactor_vr", {4}, {1, 2, 3, 4});  // a slot: skipped
  TempDir tmp;
  w.write(tmp.file("model.ckpt-0"));
  const io::LoadedCheckpoint got = io::load_checkpoint_with_report(tmp.file("model.ckpt-0"), c);
  EXPECT_TRUE(got.report.unexpected.empty());
  EXPECT_EQ(got.report.skipped, (std::vector<std::string>{"pegasus/encoder/layer_0/intermediate/dense/kernel/adafactor_vr"}));
  // fc1: TF [D, F] kernel -> HF [F, D] weight.
  const Tensor& fc1 = got.params.get("model.encoder.layers.0.fc1.weight");
  const std::vector<float>& k = tf_values.at("pegasus/encoder/layer_0/intermediate/dense/kernel");
  ASSERT_EQ(fc1.shape(), (Shape{6, 4}));
  for (int64_t o = 0; o < 6; ++o)
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(fc1[o * 4 + i], k[size_t(i * 6 + o)]);
  // One position table feeds encoder and decoder; shared embeddings tie encoder/decoder/lm_head.
  EXPECT_TRUE(bb::testing::bitwise_equal(got.params.get("model.encoder.embed_positions.weight"),
                                         got.params.get("model.decoder.embed_positions.weight")));
  EXPECT_EQ(got.params.get("lm_head.weight").data(), got.params.get("model.shared.weight").data());
  EXPECT_EQ(got.report.zero_filled, (std::vector<std::string>{"final_logits_bias"}));
  EXPECT_EQ(got.params.get("final_logits_bias").shape(), (Shape{1, 10}));
}

TEST(CheckpointLoader, BertNamesFollowHfLoader) {
  auto hf = [](const std::string& tf) {
    const auto m = io::map_tf_name(tf, ModelFamily::BigBird);
    return m ? m->hf_names[0] : std::string("<skipped>");
  };
  EXPECT_EQ(hf("bert/pooler/dense/kernel"), "bert.pooler.weight");
  EXPECT_EQ(hf("cls/seq_relationship/output_weights"), "cls.seq_relationship.weight");
  EXPECT_EQ(hf("cls/predictions/transform/LayerNorm/beta"), "cls.predictions.transform.LayerNorm.bias");
  EXPECT_EQ(hf("bert/encoder/layer_11/output/LayerNorm/gamma"), "bert.encoder.layer.11.output.LayerNorm.weight");
  EXPECT_EQ(hf("bert/encoder/layer_0/attention/self/query/kernel/adam_m"), "<skipped>");
  EXPECT_EQ(hf("global_step"), "<skipped>");
  EXPECT_EQ(io::map_tf_name("cls/seq_relationship/output_weights", ModelFamily::BigBird)->layout, io::TfLayout::AsIs);
}

TEST(CheckpointLoader, ShardedSafetensorsAndTheirIndexErrors) {
  TempDir tmp;
  const ModelConfig c = tiny_config();
  const ParameterStore p = io::load_checkpoint(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), c);
  // Two shards and the index transformers writes for them.
  io::SafetensorsWriter a, b;
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  size_t i = 0;
  for (const std::string& n : p.names()) {
    const bool first = i++ % 2 == 0;
    (first ? a : b).add(n, p.get(n));
    index["weight_map"][n] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  const std::string dir = tmp.file("sharded");
  std::filesystem::create_directories(dir);
  a.write(dir + "/model-00001-of-00002.safetensors");
  b.write(dir + "/model-00002-of-00002.safetensors");
  io::write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  io::write_file_atomic(dir + "/config.json", std::string(bb::testing::kTinyBigBirdConfig));
  const io::LoadedCheckpoint got = io::load_checkpoint_with_report(dir, c);
  EXPECT_EQ(got.report.format, "sharded safetensors");
  for (const std::string& n : p.names()) EXPECT_TRUE(bb::testing::bitwise_equal(got.params.get(n), p.get(n))) << n;

  nlohmann::json wrong = index;
  wrong["weight_map"]["cls.predictions.bias"] = wrong["weight_map"]["cls.predictions.bias"] == "model-00001-of-00002.safetensors"
                                                    ? "model-00002-of-00002.safetensors"
                                                    : "model-00001-of-00002.safetensors";
  io::write_file_atomic(dir + "/model.safetensors.index.json", wrong.dump());
  std::string err = error_of([&] { io::load_checkpoint(dir, c); });
  EXPECT_NE(err.find("tensor \"cls.predictions.bias\" is in model-0000"), std::string::npos) << err;
  nlohmann::json escape = index;
  escape["weight_map"]["cls.predictions.bias"] = "../../etc/passwd";
  io::write_file_atomic(dir + "/model.safetensors.index.json", escape.dump());
  err = error_of([&] { io::load_checkpoint(dir, c); });
  EXPECT_NE(err.find("is not a file name in the same directory"), std::string::npos) << err;
}

TEST(CheckpointLoader, ErrorsNameFileTensorAndReason) {
  TempDir tmp;
  const std::string src = bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin");
  ModelConfig c = tiny_config();
  c.hidden_size = 16;  // the file is H=8
  c.num_attention_heads = 2;
  std::string err = error_of([&] { io::load_checkpoint(src, c); });
  EXPECT_NE(err.find(src + ": tensor 'bert.embeddings.word_embeddings.weight' has shape [16,8], expected [16,16] by the config (BigBirdForMaskedLM)"),
            std::string::npos) << err;
  c = tiny_config();
  c.num_hidden_layers = 2;
  err = error_of([&] { io::load_checkpoint(src, c); });
  EXPECT_NE(err.find("tensor(s) that BigBirdForMaskedLM needs are missing: \"bert.encoder.layer.1.attention.self.query.weight\""),
            std::string::npos) << err;
  c = tiny_config();
  c.architectures = {"BigBirdForTranslation"};
  err = error_of([&] { io::load_checkpoint(src, c); });
  EXPECT_NE(err.find("unknown architecture \"BigBirdForTranslation\""), std::string::npos) << err;
  err = error_of([&] { io::load_checkpoint(tmp.file("nothing"), tiny_config()); });
  EXPECT_NE(err.find("no such file, directory or cached Hugging Face model"), std::string::npos) << err;
}

TEST(CheckpointLoader, HuggingFaceCacheLayoutResolvesRepoIds) {
  TempDir tmp;
  const std::string cache = tmp.file("hub");
  const std::string repo = cache + "/models--tiny-org--tiny-bigbird";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::filesystem::create_directories(repo + "/blobs");
  std::filesystem::create_directories(repo + "/refs");
  std::filesystem::create_directories(repo + "/snapshots/" + commit);
  std::filesystem::copy_file(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), repo + "/blobs/aaaa");
  io::write_file_atomic(repo + "/blobs/bbbb", std::string(bb::testing::kTinyBigBirdConfig));
  std::filesystem::create_symlink("../../blobs/aaaa", repo + "/snapshots/" + commit + "/pytorch_model.bin");
  std::filesystem::create_symlink("../../blobs/bbbb", repo + "/snapshots/" + commit + "/config.json");
  io::write_file_atomic(repo + "/refs/main", commit);
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  const BigBirdModel m = BigBirdModel::load("tiny-org/tiny-bigbird");
  EXPECT_EQ(m.config().hidden_size, 8);
  EXPECT_EQ(BigBirdModel::load("tiny-org/tiny-bigbird@" + commit).config().vocab_size, 16);
  const std::string err = error_of([&] { BigBirdModel::load("tiny-org/tiny-bigbird@v2"); });
  EXPECT_NE(err.find("tiny-org/tiny-bigbird@v2: revision is not in the Hugging Face cache"), std::string::npos) << err;
  EXPECT_NE(err.find("bigbird pull tiny-org/tiny-bigbird@v2"), std::string::npos) << err;
  ::unsetenv("HF_HUB_CACHE");
}
