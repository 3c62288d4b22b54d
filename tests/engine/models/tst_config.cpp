// config.json parsing: every fixture config with the right values, HF defaults for absent keys,
// a byte-level HF-compatible writer, and one precise error (file + key) for each kind of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/models/config.h"
#include "tests/engine/io/io_test_util.h"

using bb::ModelConfig;
using bb::ModelFamily;
using bb::testing::error_of;
using nlohmann::json;

namespace {

const std::string kData = BIGBIRD_TEST_DATA;

std::vector<std::string> fixture_configs() {
  std::vector<std::string> out;
  for (const char* set : {"hf-golden", "generation"})
    for (const auto& d : std::filesystem::directory_iterator(kData + "/" + set))
      if (std::filesystem::exists(d.path() / "config.json")) out.push_back((d.path() / "config.json").string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string bad(const std::string& text) { return error_of([&] { bb::parse_config_json(text, "cfg.json"); }); }

}  // namespace

TEST(Config, EveryFixtureConfigParsesWithItsValues) {
  const auto files = fixture_configs();
  ASSERT_EQ(files.size(), 13u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const ModelConfig c = bb::load_config(path);
    const json j = json::parse(bb::io::read_text_file(path));
    const bool peg = j["model_type"] == "bigbird_pegasus";
    EXPECT_EQ(c.family, peg ? ModelFamily::BigBirdPegasus : ModelFamily::BigBird);
    EXPECT_EQ(c.model_type, j["model_type"].get<std::string>());
    EXPECT_EQ(c.architectures, j["architectures"].get<std::vector<std::string>>());
    EXPECT_EQ(c.vocab_size, j["vocab_size"].get<int64_t>());
    EXPECT_EQ(c.max_position_embeddings, 1024);
    EXPECT_EQ(c.block_size, 16);
    EXPECT_EQ(c.num_random_blocks, 3);
    EXPECT_EQ(c.hidden_size, 64);
    EXPECT_EQ(c.num_hidden_layers, 2);
    EXPECT_EQ(c.num_attention_heads, 4);
    EXPECT_EQ(c.head_dim(), 16);
    EXPECT_EQ(c.intermediate_size, 128);
    EXPECT_EQ(c.hidden_act, bb::Activation::GeluNew);
    EXPECT_EQ(c.attention_type, j["attention_type"] == "original_full" ? bb::attn::AttentionType::OriginalFull
                                                                       : bb::attn::AttentionType::BlockSparse);
    EXPECT_EQ(c.pad_token_id, 0);
    EXPECT_EQ(c.bos_token_id, j["bos_token_id"].get<int64_t>());
    EXPECT_EQ(c.eos_token_id, j["eos_token_id"].get<int64_t>());
    if (peg) {
      EXPECT_EQ(c.decoder_layers, 2);
      EXPECT_EQ(c.decoder_attention_heads, 4);
      EXPECT_EQ(c.decoder_ffn_dim, 128);
      EXPECT_FALSE(c.use_bias);
      EXPECT_TRUE(c.rescale_embeddings);
      EXPECT_EQ(c.layer_norm_eps, 1e-5);  // not in the file: nn.LayerNorm's default
      EXPECT_EQ(c.type_vocab_size, 0);
      EXPECT_EQ(c.sep_token_id, -1);
      EXPECT_EQ(c.bos_token_id, 2);
      EXPECT_EQ(c.eos_token_id, 1);
      EXPECT_EQ(c.decoder_start_token_id, j["decoder_start_token_id"].get<int64_t>());
      EXPECT_EQ(c.hidden_dropout_prob, j["dropout"].get<double>());
      EXPECT_EQ(c.attention_probs_dropout_prob, 0.0);
      EXPECT_EQ(c.classifier_dropout, 0.0);
    } else {
      EXPECT_TRUE(c.use_bias);
      EXPECT_FALSE(c.rescale_embeddings);
      EXPECT_EQ(c.layer_norm_eps, 1e-12);
      EXPECT_EQ(c.type_vocab_size, 2);
      EXPECT_EQ(c.sep_token_id, 66);
      EXPECT_EQ(c.bos_token_id, 1);
      EXPECT_EQ(c.eos_token_id, 2);
      EXPECT_EQ(c.decoder_start_token_id, -1);
      EXPECT_EQ(c.classifier_dropout, -1);  // null
      EXPECT_EQ(c.hidden_dropout_prob, 0.0);
      EXPECT_EQ(c.decoder_layers, 0);
    }
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.extra.at("torch_dtype"), "\"float32\"");
  }
}

TEST(Config, SpecificFixtures) {
  const ModelConfig seqcls = bb::load_config(kData + "/hf-golden/f_seqcls_512/config.json");
  EXPECT_EQ(seqcls.num_labels(), 3);
  EXPECT_EQ(seqcls.id2label.at(2), "LABEL_2");
  EXPECT_EQ(seqcls.architectures.at(0), "BigBirdForSequenceClassification");
  const ModelConfig full = bb::load_config(kData + "/hf-golden/a_full_256/config.json");
  EXPECT_EQ(full.attention_type, bb::attn::AttentionType::OriginalFull);
  EXPECT_TRUE(full.id2label.empty());
  EXPECT_EQ(full.num_labels(), 2);
  const ModelConfig gen = bb::load_config(kData + "/generation/bbp_tiny_b16r3_s11/config.json");
  EXPECT_EQ(gen.vocab_size, 96);
  EXPECT_EQ(gen.decoder_start_token_id, 0);
  EXPECT_EQ(gen.hidden_dropout_prob, 0.1);
  const ModelConfig peg = bb::load_config(kData + "/hf-golden/h_pegasus_512/config.json");
  EXPECT_EQ(peg.decoder_start_token_id, 2);
  EXPECT_EQ(peg.extra.at("encoder_layerdrop"), "0.0");
}

TEST(Config, WriterReproducesEveryFixture) {
  for (const std::string& path : fixture_configs()) {
    SCOPED_TRACE(path);
    const std::string text = bb::io::read_text_file(path);
    const std::string out = bb::config_to_json(bb::load_config(path));
    // Same keys, same values, same JSON types (an int stays an int, 0.0 stays a float). The writer
    // may add a key the file left out only with HF's default value.
    const json in = json::parse(text), written = json::parse(out);
    for (const auto& [k, v] : in.items()) EXPECT_EQ(written.at(k).dump(), v.dump()) << k;
    for (const auto& [k, v] : written.items())
      EXPECT_TRUE(in.contains(k) || (k == "tie_word_embeddings" && v == true)) << "added " << k << " = " << v;
    // And HF's own layout (json.dumps(indent=2, sort_keys=True)): the hf-golden files were saved by HF.
    if (path.find("hf-golden") != std::string::npos) {
      EXPECT_EQ(out, text);
    }
    EXPECT_EQ(out.back(), '\n');
  }
}

TEST(Config, AbsentKeysTakeHfDefaults) {
  const ModelConfig b = bb::parse_config_json(R"({"model_type": "big_bird"})", "cfg.json");
  EXPECT_EQ(b.vocab_size, 50358);
  EXPECT_EQ(b.hidden_size, 768);
  EXPECT_EQ(b.num_hidden_layers, 12);
  EXPECT_EQ(b.num_attention_heads, 12);
  EXPECT_EQ(b.intermediate_size, 3072);
  EXPECT_EQ(b.hidden_act, bb::Activation::GeluNew);
  EXPECT_EQ(b.max_position_embeddings, 4096);
  EXPECT_EQ(b.type_vocab_size, 2);
  EXPECT_EQ(b.layer_norm_eps, 1e-12);
  EXPECT_EQ(b.attention_type, bb::attn::AttentionType::BlockSparse);
  EXPECT_EQ(b.block_size, 64);
  EXPECT_EQ(b.num_random_blocks, 3);
  EXPECT_TRUE(b.use_bias);
  EXPECT_FALSE(b.rescale_embeddings);
  EXPECT_EQ(b.hidden_dropout_prob, 0.1);
  EXPECT_EQ(b.attention_probs_dropout_prob, 0.1);
  EXPECT_EQ(b.classifier_dropout, -1);
  EXPECT_EQ(b.pad_token_id, 0);
  EXPECT_EQ(b.bos_token_id, 1);
  EXPECT_EQ(b.eos_token_id, 2);
  EXPECT_EQ(b.sep_token_id, 66);
  EXPECT_EQ(b.decoder_start_token_id, -1);

  const ModelConfig p = bb::parse_config_json(R"({"model_type": "bigbird_pegasus"})", "cfg.json");
  EXPECT_EQ(p.family, ModelFamily::BigBirdPegasus);
  EXPECT_EQ(p.vocab_size, 96103);
  EXPECT_EQ(p.hidden_size, 1024);
  EXPECT_EQ(p.num_hidden_layers, 16);
  EXPECT_EQ(p.num_attention_heads, 16);
  EXPECT_EQ(p.intermediate_size, 4096);
  EXPECT_EQ(p.decoder_layers, 16);
  EXPECT_EQ(p.decoder_attention_heads, 16);
  EXPECT_EQ(p.decoder_ffn_dim, 4096);
  EXPECT_EQ(p.layer_norm_eps, 1e-5);
  EXPECT_FALSE(p.use_bias);
  EXPECT_TRUE(p.rescale_embeddings);
  EXPECT_EQ(p.hidden_dropout_prob, 0.1);
  EXPECT_EQ(p.attention_probs_dropout_prob, 0.0);
  EXPECT_EQ(p.activation_dropout, 0.0);
  EXPECT_EQ(p.classifier_dropout, 0.0);
  EXPECT_EQ(p.pad_token_id, 0);
  EXPECT_EQ(p.bos_token_id, 2);
  EXPECT_EQ(p.eos_token_id, 1);
  EXPECT_EQ(p.decoder_start_token_id, 2);
  EXPECT_EQ(p.sep_token_id, -1);
  EXPECT_EQ(p.attention_type, bb::attn::AttentionType::BlockSparse);
  EXPECT_EQ(p.block_size, 64);
}

TEST(Config, RealHubConfigsParse) {
  // google/bigbird-pegasus-large-arxiv and monologg/kobigbird-bert-base as published (bigbird-spec.md §1).
  const ModelConfig arxiv = bb::parse_config_json(R"({
    "_name_or_path": "google/bigbird-pegasus-large-arxiv", "activation_dropout": 0.1, "activation_function": "gelu_new",
    "architectures": ["BigBirdPegasusForConditionalGeneration"], "attention_dropout": 0.1, "attention_type": "block_sparse",
    "block_size": 64, "bos_token_id": 2, "classifier_dropout": 0.0, "d_model": 1024, "decoder_attention_heads": 16,
    "decoder_ffn_dim": 4096, "decoder_layerdrop": 0.0, "decoder_layers": 16, "decoder_start_token_id": 2, "dropout": 0.1,
    "encoder_attention_heads": 16, "encoder_ffn_dim": 4096, "encoder_layerdrop": 0.0, "encoder_layers": 16, "eos_token_id": 1,
    "gradient_checkpointing": false, "init_std": 0.02, "is_encoder_decoder": true, "length_penalty": 0.8, "max_length": 256,
    "max_position_embeddings": 4096, "model_type": "bigbird_pegasus", "num_beams": 5, "num_hidden_layers": 16,
    "num_random_blocks": 3, "pad_token_id": 0, "scale_embedding": true, "tokenizer_class": "PegasusTokenizer",
    "transformers_version": "4.10.0.dev0", "use_bias": false, "use_cache": true, "vocab_size": 96103})",
                                                  "arxiv/config.json");
  EXPECT_EQ(arxiv.hidden_size, 1024);
  EXPECT_EQ(arxiv.head_dim(), 64);
  EXPECT_EQ(arxiv.activation_dropout, 0.1);
  EXPECT_EQ(arxiv.extra.at("num_beams"), "5");
  EXPECT_EQ(arxiv.extra.at("length_penalty"), "0.8");
  const ModelConfig ko = bb::parse_config_json(R"({
    "architectures": ["BigBirdForPreTraining"], "attention_probs_dropout_prob": 0.1, "attention_type": "block_sparse",
    "block_size": 64, "bos_token_id": 5, "eos_token_id": 6, "gradient_checkpointing": false, "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "layer_norm_eps": 1e-12, "max_position_embeddings": 4096, "model_type": "big_bird", "num_attention_heads": 12,
    "num_hidden_layers": 12, "num_random_blocks": 3, "pad_token_id": 0, "position_embedding_type": "absolute",
    "rescale_embeddings": false, "sep_token_id": 3, "tokenizer_class": "BertTokenizer", "transformers_version": "4.11.3",
    "type_vocab_size": 2, "use_bias": true, "use_cache": true, "vocab_size": 32500})",
                                               "kobigbird/config.json");
  EXPECT_EQ(ko.vocab_size, 32500);
  EXPECT_EQ(ko.sep_token_id, 3);
  EXPECT_EQ(ko.bos_token_id, 5);
  EXPECT_EQ(ko.extra.at("tokenizer_class"), "\"BertTokenizer\"");
}

TEST(Config, WriterRoundTripsBuiltConfigs) {
  for (ModelFamily fam : {ModelFamily::BigBird, ModelFamily::BigBirdPegasus}) {
    ModelConfig c = bb::hf_default_config(fam);
    c.hidden_size = 96;
    c.num_attention_heads = 3;
    c.decoder_attention_heads = fam == ModelFamily::BigBirdPegasus ? 6 : 0;
    c.hidden_act = bb::Activation::Relu;
    c.attention_type = bb::attn::AttentionType::OriginalFull;
    c.id2label = {{0, "neg"}, {1, "pos"}, {2, "ünï"}};
    c.classifier_dropout = 0.25;
    c.extra["custom"] = R"({"nested": [1, 2]})";
    const std::string text = bb::config_to_json(c);
    EXPECT_EQ(text.find("\xC3"), std::string::npos) << "output is ASCII like HF's json.dumps";
    const ModelConfig back = bb::parse_config_json(text, "roundtrip");
    EXPECT_EQ(bb::config_to_json(back), text);
    EXPECT_EQ(back.hidden_size, 96);
    EXPECT_EQ(back.hidden_act, bb::Activation::Relu);
    EXPECT_EQ(back.id2label.at(2), "ünï");
    EXPECT_EQ(back.classifier_dropout, 0.25);
    EXPECT_EQ(back.layer_norm_eps, c.layer_norm_eps);
    EXPECT_EQ(json::parse(back.extra.at("label2id"))["pos"], 1);
    const json j = json::parse(text);
    if (fam == ModelFamily::BigBirdPegasus) {
      EXPECT_EQ(j["d_model"], 96);
      EXPECT_EQ(j["activation_function"], "relu");
      EXPECT_FALSE(j.contains("hidden_size"));
      EXPECT_FALSE(j.contains("layer_norm_eps"));
      EXPECT_FALSE(j.contains("sep_token_id"));
    } else {
      EXPECT_EQ(j["hidden_size"], 96);
      EXPECT_EQ(j["hidden_act"], "relu");
      EXPECT_FALSE(j.contains("d_model"));
      EXPECT_FALSE(j.contains("decoder_start_token_id"));
    }
  }
}

TEST(Config, ActivationNames) {
  EXPECT_EQ(bb::parse_activation("gelu_pytorch_tanh"), bb::Activation::GeluNew);
  EXPECT_EQ(bb::parse_activation("gelu_fast"), bb::Activation::GeluFast);
  EXPECT_EQ(bb::parse_activation("gelu"), bb::Activation::Gelu);
  EXPECT_EQ(bb::parse_activation("tanh"), bb::Activation::Tanh);
  for (auto a : {bb::Activation::GeluNew, bb::Activation::GeluFast, bb::Activation::Gelu, bb::Activation::Relu, bb::Activation::Tanh})
    EXPECT_EQ(bb::parse_activation(bb::to_string(a)), a);
}

TEST(Config, ErrorsNameTheFileAndTheKey) {
  const std::string bb_ = R"("model_type": "big_bird")";
  const std::string peg = R"("model_type": "bigbird_pegasus")";
  EXPECT_EQ(bad("{" + bb_ + R"(, "hidden_size": 100, "num_attention_heads": 12})"),
            "cfg.json: key \"hidden_size\": 100 is not divisible by num_attention_heads = 12");
  EXPECT_EQ(bad("{" + peg + R"(, "d_model": 64, "encoder_attention_heads": 4, "decoder_attention_heads": 5})"),
            "cfg.json: key \"d_model\": 64 is not divisible by decoder_attention_heads = 5");
  EXPECT_EQ(bad("{" + peg + R"(, "d_model": 64, "encoder_attention_heads": 3})"),
            "cfg.json: key \"d_model\": 64 is not divisible by encoder_attention_heads = 3");
  EXPECT_EQ(bad("{" + bb_ + R"(, "num_hidden_layers": -2})"),
            "cfg.json: key \"num_hidden_layers\": expected an integer in [1, 100000], got -2");
  EXPECT_EQ(bad("{" + bb_ + R"(, "num_attention_heads": 0})"),
            "cfg.json: key \"num_attention_heads\": expected an integer in [1, 2147483647], got 0");
  EXPECT_EQ(bad("{" + bb_ + R"(, "hidden_size": 768.0})"),
            "cfg.json: key \"hidden_size\": expected an integer in [1, 2147483647], got number 768.0");
  EXPECT_EQ(bad("{" + bb_ + R"(, "vocab_size": 99999999999999999999})"),
            "cfg.json: key \"vocab_size\": expected an integer in [1, 2147483647], got number 1e+20");
  EXPECT_EQ(bad("{" + bb_ + R"(, "intermediate_size": "3072"})"),
            "cfg.json: key \"intermediate_size\": expected an integer in [1, 2147483647], got string \"3072\"");
  EXPECT_EQ(bad("{" + bb_ + R"(, "use_bias": "yes"})"), "cfg.json: key \"use_bias\": expected true or false, got string \"yes\"");
  EXPECT_EQ(bad("{" + bb_ + R"(, "hidden_act": "swish"})"),
            "cfg.json: key \"hidden_act\": unknown activation \"swish\" (expected gelu_new, gelu_fast, gelu_pytorch_tanh, "
            "gelu, relu or tanh)");
  EXPECT_NE(bad("{" + peg + R"(, "activation_function": "silu"})").find("key \"activation_function\": unknown activation"),
            std::string::npos);
  EXPECT_EQ(bad("{" + bb_ + R"(, "attention_type": "sparse"})"),
            "cfg.json: key \"attention_type\": unknown attention type \"sparse\" (expected original_full, block_sparse or "
            "simulated_sparse)");
  EXPECT_EQ(bad("{" + bb_ + R"(, "block_size": 0})"), "cfg.json: key \"block_size\": expected an integer in [1, 1048576], got 0");
  EXPECT_EQ(bad("{" + bb_ + R"(, "num_random_blocks": -1})"),
            "cfg.json: key \"num_random_blocks\": expected an integer in [0, 1048576], got -1");
  EXPECT_EQ(bad("{" + bb_ + R"(, "hidden_dropout_prob": 1.5})"),
            "cfg.json: key \"hidden_dropout_prob\": expected a number in [0.0, 1.0], got 1.5");
  EXPECT_EQ(bad("{" + bb_ + R"(, "layer_norm_eps": 0})"), "cfg.json: key \"layer_norm_eps\": must be positive");
  EXPECT_EQ(bad("{" + bb_ + R"(, "pad_token_id": 50358})"),
            "cfg.json: key \"pad_token_id\": 50358 is outside the vocabulary (vocab_size = 50358)");
  EXPECT_EQ(bad("{" + bb_ + R"(, "eos_token_id": [1, 2]})"), "cfg.json: key \"eos_token_id\": lists of token ids are not supported");
  EXPECT_EQ(bad("{" + bb_ + R"(, "bos_token_id": -3})"), "cfg.json: key \"bos_token_id\": expected an integer in [0, 2147483647], got -3");
  EXPECT_EQ(bad("{" + bb_ + R"(, "id2label": {"0": "a", "x": "b"}})"),
            "cfg.json: key \"id2label\": key \"x\" is not a non-negative integer");
  EXPECT_EQ(bad("{" + bb_ + R"(, "id2label": {"0": "a", "-1": "b"}})"),
            "cfg.json: key \"id2label\": key \"-1\" is not a non-negative integer");
  EXPECT_EQ(bad("{" + bb_ + R"(, "id2label": {"0": "a", "2": "b"}})"),
            "cfg.json: key \"id2label\": ids must be 0..1, but id 1 is missing");
  EXPECT_EQ(bad("{" + bb_ + R"(, "id2label": {"0": 7}})"), "cfg.json: key \"id2label\": label of id 0 is not a string");
  EXPECT_EQ(bad("{" + bb_ + R"(, "id2label": {"0": "a"}, "num_labels": 3})"),
            "cfg.json: key \"num_labels\": 3 contradicts id2label with 1 labels");
  EXPECT_EQ(bad("{" + peg + R"(, "d_model": 64, "encoder_attention_heads": 4, "hidden_size": 128})"),
            "cfg.json: key \"hidden_size\": value 128 contradicts \"d_model\" = 64");
  EXPECT_EQ(bad("{" + peg + R"(, "encoder_layers": 2, "num_hidden_layers": 3})"),
            "cfg.json: key \"num_hidden_layers\": value 3 contradicts \"encoder_layers\" = 2");
  EXPECT_EQ(bad("{" + bb_ + R"(, "architectures": "BigBirdModel"})"),
            "cfg.json: key \"architectures\": expected a list of class names, got string \"BigBirdModel\"");
  EXPECT_EQ(bad(R"({"hidden_size": 768})"), "cfg.json: key \"model_type\" is missing (expected \"big_bird\" or \"bigbird_pegasus\")");
  EXPECT_EQ(bad(R"({"model_type": "bert"})"),
            "cfg.json: key \"model_type\": \"bert\" is not a BigBird model (expected \"big_bird\" or \"bigbird_pegasus\")");
  EXPECT_EQ(bad(R"({"model_type": 3})"), "cfg.json: key \"model_type\": expected a string, got number 3");
  EXPECT_EQ(bad(R"({"model_type": null})"), "cfg.json: key \"model_type\": expected a string, got null");
  EXPECT_EQ(bad("{" + bb_ + R"(, "hidden_size": 64, "hidden_size": 128})"), "cfg.json: duplicate key \"hidden_size\" in JSON object");
  EXPECT_EQ(bad("[1]"), "cfg.json: config.json must be a JSON object, got array");
  EXPECT_EQ(bad("{" + bb_ + ",}").rfind("cfg.json: invalid JSON: ", 0), 0u);
}

TEST(Config, KeysHfIgnoresAreKeptButNotUsed) {
  // BigBirdPegasusConfig has no layer_norm_eps and the model always uses nn.LayerNorm's 1e-5;
  // BigBirdConfig has no d_model. Such keys stay in `extra` (and are written back) without effect.
  const ModelConfig p = bb::parse_config_json(R"({"model_type": "bigbird_pegasus", "layer_norm_eps": 1e-12})", "c");
  EXPECT_EQ(p.layer_norm_eps, 1e-5);
  EXPECT_EQ(p.extra.at("layer_norm_eps"), "1e-12");
  const ModelConfig b = bb::parse_config_json(R"({"model_type": "big_bird", "d_model": 5})", "c");
  EXPECT_EQ(b.hidden_size, 768);
  EXPECT_EQ(json::parse(bb::config_to_json(b))["d_model"], 5);
}

TEST(Config, NumLabelsAloneMakesDefaultLabels) {
  const ModelConfig c = bb::parse_config_json(R"({"model_type": "big_bird", "num_labels": 4})", "cfg.json");
  EXPECT_EQ(c.num_labels(), 4);
  EXPECT_EQ(c.id2label.at(3), "LABEL_3");
  const ModelConfig n = bb::parse_config_json(R"({"model_type": "big_bird", "sep_token_id": null, "classifier_dropout": 0.2})", "c");
  EXPECT_EQ(n.sep_token_id, -1);
  EXPECT_EQ(n.classifier_dropout, 0.2);
}

TEST(Config, LoadConfigNamesTheFile) {
  bb::testing::TempDir dir;
  EXPECT_EQ(error_of([&] { bb::load_config(dir.file("config.json")); }),
            "cannot read " + dir.file("config.json") + ": No such file or directory");
  bb::io::write_file_atomic(dir.file("config.json"), std::string(R"({"model_type": "big_bird", "block_size": -64})"));
  EXPECT_EQ(error_of([&] { bb::load_config(dir.file("config.json")); }),
            dir.file("config.json") + ": key \"block_size\": expected an integer in [1, 1048576], got -64");
}
