// bigbird mask: print or draw the block-sparse attention pattern the engine uses.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/attention/pattern_palette.h"
#include "engine/attention/plan.h"
#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/png_writer.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird mask --length L [--block B] [--random R] [--heads N] [--layer N] [--head H]
                    [--mode tf|hf-train|hf-eval] [--max-position P] [--format text|json|png] [--out FILE]

Shows which key blocks every query block attends to in BigBird's ITC block-sparse attention:
G = global (first/last block), W = 3-block window, R = random block, . = not computed;
a digit marks a key block that appears more than once in that softmax (it is attended twice).
  --length L        input length in tokens (padded to a block multiple)      (required)
  --block B         block size (default 64)         --random R   random blocks per row (default 3)
  --heads N         number of heads (default 12)    --layer N    layer index = RNG seed (default 0)
  --head H          head to show (default 0)        --mode       random-block reference (default hf-train)
  --max-position P  max_position_embeddings of the model (default 4096; HF draws old-plan tables on it)
  --format          text (default), json (pattern, key blocks, random table) or png (needs --out)
  --out FILE        write to FILE instead of stdout (png: cell size chosen to fit ~1024 px))";

char cell_char(attn::BlockKind k, int multiplicity) {
  if (multiplicity > 1) return char('0' + std::min(multiplicity, 9));
  switch (k) {
    case attn::BlockKind::Global: return 'G';
    case attn::BlockKind::Window: return 'W';
    case attn::BlockKind::Random: return 'R';
    case attn::BlockKind::NotComputed: return '.';
  }
  return '?';
}

int run_mask(const std::vector<std::string>& argv) {
  Args args(argv, {"length", "block", "random", "heads", "layer", "head", "mode", "max-position", "format", "out"});
  attn::PatternRequest req;
  args.require("length");
  req.seq_len = args.get_int("length", 0);
  req.block = args.get_int("block", 64);
  req.num_random = args.get_int("random", 3);
  req.heads = args.get_int("heads", 12);
  req.layer = args.get_int("layer", 0);
  req.max_position_embeddings = args.get_int("max-position", 4096);
  req.mode = attn::parse_random_blocks(args.get_or("mode", "hf-train"));
  const int head = args.get_int("head", 0);
  const std::string format = args.get_or("format", "text");
  if (req.block <= 0) throw Error("--block must be positive");
  if (req.num_random < 0) throw Error("--random must be >= 0");
  if (req.heads <= 0) throw Error("--heads must be positive");
  if (head < 0 || head >= req.heads) throw Error("--head must be in 0.." + std::to_string(req.heads - 1));
  if (req.layer < 0) throw Error("--layer must be >= 0");
  if (req.seq_len <= 0) throw Error("--length must be positive");
  if (req.seq_len > 1 << 20) throw Error("--length is larger than 1048576 tokens");

  attn::LayerPattern lp = attn::plan_layer(req);
  const attn::BlockPattern& p = lp.pattern;
  const bool full = lp.decision.type == attn::AttentionType::OriginalFull;
  const int nb = full ? int((req.seq_len + req.block - 1) / req.block) : p.num_blocks();
  std::vector<attn::BlockKind> grid;
  std::vector<uint8_t> mult;
  if (full) {
    grid.assign(size_t(nb) * nb, attn::BlockKind::Global);
    mult.assign(size_t(nb) * nb, 1);
  } else {
    grid = p.grid(head);
    mult = p.multiplicity(head);
  }

  std::string text;
  if (format == "text") {
    text += "# " + lp.decision.reason + "\n";
    text += "# layer " + std::to_string(req.layer) + ", head " + std::to_string(head) + ", " +
            attn::to_string(req.mode) + " random blocks\n";
    if (full) text += "# full attention: every block pair is computed\n";
    for (int q = 0; q < nb; ++q) {
      for (int k = 0; k < nb; ++k) text += full ? 'F' : cell_char(grid[size_t(q) * nb + k], mult[size_t(q) * nb + k]);
      text += '\n';
    }
    if (!full)
      text += "# computed block pairs per head: " + std::to_string(p.computed_block_pairs()) + " of " +
              std::to_string(int64_t(nb) * nb) + "\n";
  } else if (format == "json") {
    nlohmann::json j;
    j["length"] = req.seq_len;
    j["padded_length"] = lp.decision.padded_len;
    j["block"] = req.block;
    j["random_blocks"] = req.num_random;
    j["heads"] = req.heads;
    j["layer"] = req.layer;
    j["head"] = head;
    j["mode"] = attn::to_string(req.mode);
    j["attention_type"] = attn::to_string(lp.decision.type);
    j["reason"] = lp.decision.reason;
    j["num_blocks"] = nb;
    if (!full) {
      nlohmann::json rows = nlohmann::json::array();
      for (int q = 0; q < nb; ++q) {
        nlohmann::json keys = nlohmann::json::array();
        for (const attn::KeyBlock& kb : p.key_blocks(head, q))
          keys.push_back({{"block", kb.block}, {"kind", attn::to_string(kb.kind)}});
        rows.push_back({{"query_block", q}, {"keys", keys}});
      }
      j["query_blocks"] = rows;
      const attn::RandomTable& t = p.table();
      nlohmann::json table = nlohmann::json::array();
      for (int r = 0; r < t.rows; ++r) {
        nlohmann::json row = nlohmann::json::array();
        for (int c = 0; c < t.r; ++c) row.push_back(t.at(head, r, c));
        table.push_back(row);
      }
      j["random_table"] = table;
      j["computed_block_pairs"] = p.computed_block_pairs();
    }
    text = j.dump(1) + "\n";
  } else if (format == "png") {
    const std::string out = args.require("out");
    const int cell = std::max(1, 1024 / std::max(1, nb));
    io::RgbImage img;
    img.width = img.height = cell * nb;
    img.rgb.assign(size_t(img.width) * size_t(img.height) * 3, 0);
    for (int q = 0; q < nb; ++q)
      for (int k = 0; k < nb; ++k) {
        img.fill_rect(k * cell, q * cell, cell, cell, attn::color_of(grid[size_t(q) * nb + k], full));
      }
    io::write_png(out, img);
    std::fprintf(stderr, "bigbird mask: wrote %s (%dx%d, %d blocks)\n", out.c_str(), img.width, img.height, nb);
    return 0;
  } else {
    throw Error("--format must be text, json or png, got '" + format + "'");
  }
  if (auto out = args.get("out")) {
    io::write_file_atomic(*out, text);
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

const Registrar reg{{"mask", "Show the block-sparse attention pattern (text, JSON or PNG)", kUsage, run_mask}};

}  // namespace
}  // namespace bb::cli
