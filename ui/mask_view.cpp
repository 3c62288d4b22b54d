#include "ui/mask_view.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <type_traits>

#include "engine/core/error.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/mask_colours.h"

namespace bb::ui {

using bb::attn::AttentionType;
using bb::attn::BlockKind;
using bb::attn::RandomBlocks;

namespace {

constexpr float kPanelWidth = 350.0f;

const char* modeHelp(RandomBlocks m) {
  switch (m) {
    case RandomBlocks::TF: return "google-research/bigbird: the original TensorFlow random blocks.";
    case RandomBlocks::HFTrain: return "Hugging Face transformers in training mode (and <= 4.29 in eval mode).";
    case RandomBlocks::HFEval:
      return "Hugging Face transformers >= 4.30 in eval mode: every random block is block 0, so the "
             "random tiles fall on the global column.";
  }
  return "";
}

}  // namespace

MaskView::MaskView(const MaskConfig& config) { setConfig(config); }

void MaskView::setConfig(const MaskConfig& config) {
  validate(config);
  config_ = config;
  recompute();
}

void MaskView::apply(const MaskConfig& edited) {
  if (edited == config_) return;
  MaskConfig c = edited;
  c.head = std::clamp(c.head, 0, c.heads - 1);
  try {
    validate(c);
  } catch (const bb::Error&) {
    return;  // the controls only offer valid values; ignore anything else
  }
  const bool samePlan = c.seq_len == config_.seq_len && c.block == config_.block &&
                        c.num_random == config_.num_random && c.heads == config_.heads &&
                        c.layer == config_.layer && c.mode == config_.mode && c.configured == config_.configured;
  config_ = c;
  if (samePlan) {
    refreshHead();
    if (onChange_) onChange_();
  } else {
    recompute();
  }
}

void MaskView::recompute() {
  try {
    plan_ = bb::attn::plan_layer(to_request(config_));
    planError_.clear();
  } catch (const bb::Error& e) {
    plan_ = {};
    planError_ = e.what();
  }
  refreshHead();
  if (onChange_) onChange_();
}

void MaskView::refreshHead() {
  std::fill(std::begin(kindCounts_), std::end(kindCounts_), 0);
  duplicatedCells_ = 0;
  grid_.clear();
  multiplicity_.clear();
  if (plan_.pattern.num_blocks() == 0) return;
  grid_ = plan_.pattern.grid(config_.head);
  multiplicity_ = plan_.pattern.multiplicity(config_.head);
  for (BlockKind k : grid_) ++kindCounts_[int(k)];
  for (uint8_t m : multiplicity_) duplicatedCells_ += m > 1;
  shown_ = grid_;
  if (visibleKinds_ != kShowAll) {
    // A cell takes the strongest reason among the kinds shown (a random block that is also a
    // window block stays visible as window when random is hidden).
    const int nb = plan_.pattern.num_blocks();
    std::fill(shown_.begin(), shown_.end(), BlockKind::NotComputed);
    for (int q = 0; q < nb; ++q)
      for (const bb::attn::KeyBlock& kb : plan_.pattern.key_blocks(config_.head, q)) {
        const bool on = (kb.kind == BlockKind::Global && (visibleKinds_ & kShowGlobal)) ||
                        (kb.kind == BlockKind::Window && (visibleKinds_ & kShowWindow)) ||
                        (kb.kind == BlockKind::Random && (visibleKinds_ & kShowRandom));
        BlockKind& cell = shown_[size_t(q) * size_t(nb) + size_t(kb.block)];
        if (on && int(kb.kind) > int(cell)) cell = kb.kind;
      }
  }
}

void MaskView::setVisibleKinds(uint8_t mask) {
  if (mask == visibleKinds_) return;
  visibleKinds_ = mask & kShowAll;
  refreshHead();
  if (onChange_) onChange_();
}

float MaskView::maxZoom() const {
  if (fitCell_ <= 0.0f) return kMaxZoom;
  return std::clamp(kMaxTokenPx * float(config_.block) / fitCell_, 1.0f, kMaxZoom);
}

void MaskView::zoomToTokenSize(float px) {
  if (fitCell_ <= 0.0f) return;
  zoom_ = std::clamp(px * float(config_.block) / fitCell_, 1.0f, kMaxZoom);
  if (onChange_) onChange_();
}

std::string MaskView::exportCsv() const {
  std::string out = "query_block,key_block,kind,times_attended,query_tokens,key_tokens\n";
  if (!planError_.empty()) return out;
  const int nb = drawnBlocks();
  const int64_t b = config_.block;
  auto range = [b](int blk) { return std::to_string(blk * b) + "-" + std::to_string((blk + 1) * b - 1); };
  for (int q = 0; q < nb; ++q)
    for (int k = 0; k < nb; ++k) {
      const size_t i = size_t(q) * size_t(nb) + size_t(k);
      const char* kind = fullAttention() ? "dense" : bb::attn::to_string(grid_[i]);
      const int times = fullAttention() ? 1 : int(multiplicity_[i]);
      if (times == 0) continue;
      out += std::to_string(q) + "," + std::to_string(k) + "," + kind + "," + std::to_string(times) + "," + range(q) +
             "," + range(k) + "\n";
    }
  return out;
}

std::string MaskView::exportJson() const {
  auto quote = [](const std::string& s) {
    std::string o = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') o += '\\';
      o += ch;
    }
    return o + "\"";
  };
  std::string out = "{\n";
  out += "  \"view\": \"pattern\",\n";
  out += "  \"length\": " + std::to_string(config_.seq_len) + ", \"block\": " + std::to_string(config_.block) +
         ", \"num_random_blocks\": " + std::to_string(config_.num_random) + ", \"heads\": " +
         std::to_string(config_.heads) + ", \"layer\": " + std::to_string(config_.layer) + ", \"head\": " +
         std::to_string(config_.head) + ",\n";
  out += "  \"random_blocks\": " + quote(bb::attn::to_string(config_.mode)) + ", \"attention_type\": " +
         quote(bb::attn::to_string(config_.configured)) + ",\n";
  if (!planError_.empty()) return out + "  \"error\": " + quote(planError_) + "\n}\n";
  const int nb = drawnBlocks();
  out += "  \"decision\": {\"type\": " + quote(bb::attn::to_string(plan_.decision.type)) +
         ", \"padded_length\": " + std::to_string(plan_.decision.padded_len) + ", \"fell_back\": " +
         (plan_.decision.fell_back ? "true" : "false") + ", \"reason\": " + quote(plan_.decision.reason) + "},\n";
  out += "  \"num_blocks\": " + std::to_string(nb) + ",\n";
  const int64_t computed = fullAttention() ? int64_t(nb) * nb : plan_.pattern.computed_block_pairs();
  out += "  \"computed_block_pairs\": " + std::to_string(computed) + ", \"full_block_pairs\": " +
         std::to_string(int64_t(nb) * nb) + ",\n";
  out += "  \"key_blocks\": [";
  if (!fullAttention()) {
    for (int q = 0; q < nb; ++q) {
      out += q ? ",\n    [" : "\n    [";
      const auto keys = plan_.pattern.key_blocks(config_.head, q);
      for (size_t j = 0; j < keys.size(); ++j)
        out += (j ? ", " : "") + std::string("{\"block\": ") + std::to_string(keys[j].block) + ", \"kind\": " +
               quote(bb::attn::to_string(keys[j].kind)) + "}";
      out += "]";
    }
    out += "\n  ";
  }
  out += "]\n}\n";
  return out;
}

bool MaskView::fullAttention() const {
  return planError_.empty() && plan_.decision.type == AttentionType::OriginalFull;
}

int MaskView::drawnBlocks() const {
  if (!planError_.empty()) return 0;
  if (fullAttention()) return int((config_.seq_len + config_.block - 1) / config_.block);
  return plan_.pattern.num_blocks();
}

std::string MaskView::summary() const {
  if (!planError_.empty()) return "Error: " + planError_;
  const int64_t nb = drawnBlocks();
  const int64_t all = nb * nb;
  if (fullAttention())
    return "nb = " + std::to_string(nb) + "  ·  full attention: all " + withCommas(all) +
           " block pairs computed (100 % of full)  ·  " + plan_.decision.reason;
  const int64_t computed = plan_.pattern.computed_block_pairs();
  return "nb = " + std::to_string(nb) + "  ·  " + withCommas(computed) + " of " + withCommas(all) +
         " block pairs computed per head (" + percent(double(computed), double(all)) + " of full)  ·  " +
         plan_.decision.reason;
}

void MaskView::remember(const std::string& id) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  controls_[id] = QRectF(QPointF(a.x, a.y), QPointF(b.x, b.y));
}

QRectF MaskView::controlRect(const std::string& id) const {
  const auto it = controls_.find(id);
  return it == controls_.end() ? QRectF() : it->second;
}

void MaskView::draw() {
  const float statusHeight = ImGui::GetTextLineHeight() + ImGui::GetStyle().ItemSpacing.y * 2.0f;
  if (ImGui::BeginChild("##controls", ImVec2(kPanelWidth, -statusHeight), true)) {
    drawControls();
    drawLegendAndStats();
  }
  ImGui::EndChild();
  ImGui::SameLine();
  if (ImGui::BeginChild("##canvas", ImVec2(0, -statusHeight), true, ImGuiWindowFlags_NoScrollbar)) drawCanvas();
  ImGui::EndChild();
  drawStatusLine();
}

void MaskView::drawControls() {
  MaskConfig c = config_;
  ImGui::PushFont(font(FontRole::Title));
  ImGui::TextUnformatted("Attention pattern");
  ImGui::PopFont();
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextWrapped("Which key blocks each query block attends to in one BigBird layer, as the engine plans it.");
  ImGui::PopStyleColor();

  const float spacing = ImGui::GetStyle().ItemSpacing.x * 0.5f;
  auto segmented = [&](const char* prefix, auto& value, const auto& options, auto&& name) {
    const float w = (ImGui::GetContentRegionAvail().x - spacing * float(options.size() - 1)) / float(options.size());
    for (size_t i = 0; i < options.size(); ++i) {
      if (i > 0) ImGui::SameLine(0, spacing);
      const bool selected = value == options[i];
      if (selected) {
        ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(62, 98, 150, 255));
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, IM_COL32(74, 114, 170, 255));
      }
      const std::string text = name(options[i]);
      if (ImGui::Button((text + "##" + prefix).c_str(), ImVec2(w, 0))) value = options[i];
      if (selected) ImGui::PopStyleColor(2);
      remember(std::string(prefix) + ":" + text);
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, RandomBlocks>) hoverHelp(modeHelp(options[i]));
    }
  };

  auto row = [](const char* name) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    label(name);
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(-FLT_MIN);
  };
  // One two-column form per section, with the same label width so the controls line up.
  auto heading = [first = true](const char* title) mutable {
    if (!first) ImGui::EndTable();
    first = false;
    sectionHeader(title);
    ImGui::BeginTable(title, 2, ImGuiTableFlags_SizingStretchProp);
    ImGui::TableSetupColumn("label", ImGuiTableColumnFlags_WidthFixed, 92.0f);
    ImGui::TableSetupColumn("control", ImGuiTableColumnFlags_WidthStretch);
  };

  heading("Input");
  row("Length");
  int len = int(c.seq_len);
  if (ImGui::SliderInt("##length", &len, 128, 8192, "%d tokens",
                       ImGuiSliderFlags_Logarithmic | ImGuiSliderFlags_AlwaysClamp))
    c.seq_len = len;
  remember("length");
  hoverHelp("Input length in tokens. Drag, or Ctrl+click to type an exact value. Lengths that are not a multiple "
            "of the block are padded, as the models do.");

  row("Block size");
  std::vector<int> blocks = {16, 32, 64, 128};
  if (std::find(blocks.begin(), blocks.end(), c.block) == blocks.end()) blocks.push_back(c.block);
  segmented("block", c.block, blocks, [](int b) { return std::to_string(b); });

  row("Random r");
  ImGui::SliderInt("##random", &c.num_random, 0, std::max(8, c.num_random), "%d blocks", ImGuiSliderFlags_AlwaysClamp);
  remember("random");
  hoverHelp("Random key blocks per query block (num_random_blocks).");

  heading("Model");
  row("Attention");
  const AttentionType types[] = {AttentionType::BlockSparse, AttentionType::SimulatedSparse,
                                 AttentionType::OriginalFull};
  if (ImGui::BeginCombo("##attention", bb::attn::to_string(c.configured).c_str())) {
    for (AttentionType t : types)
      if (ImGui::Selectable(bb::attn::to_string(t).c_str(), t == c.configured)) c.configured = t;
    ImGui::EndCombo();
  }
  remember("attention");
  hoverHelp("The configured attention type. Short inputs fall back to full attention regardless.");

  row("Heads");
  ImGui::SliderInt("##heads", &c.heads, 1, std::max(16, c.heads), "%d", ImGuiSliderFlags_AlwaysClamp);
  remember("heads");
  row("Layer");
  ImGui::SliderInt("##layer", &c.layer, 0, std::max(23, c.layer), "layer %d", ImGuiSliderFlags_AlwaysClamp);
  remember("layer");
  hoverHelp("The layer index seeds the random-block generator, so every layer has its own random blocks.");
  row("Head");
  ImGui::SliderInt("##head", &c.head, 0, std::max(0, c.heads - 1), "head %d", ImGuiSliderFlags_AlwaysClamp);
  remember("head");

  heading("Random-block reference");
  row("Mode");
  const std::vector<RandomBlocks> modes = {RandomBlocks::TF, RandomBlocks::HFTrain, RandomBlocks::HFEval};
  segmented("mode", c.mode, modes, [](RandomBlocks m) { return bb::attn::to_string(m); });
  ImGui::EndTable();

  apply(c);
}

void MaskView::drawLegendAndStats() {
  sectionHeader("Legend");
  const bool full = fullAttention();
  const int64_t cells = int64_t(drawnBlocks()) * drawnBlocks();
  if (ImGui::BeginTable("##legend", 3, ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("kind", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableSetupColumn("cells", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("share", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    auto row = [&](Rgb colour, const char* name, const char* help, int64_t count) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      swatch(colour, ImGui::GetTextLineHeight() * 0.8f);
      ImGui::SameLine();
      ImGui::TextUnformatted(name);
      hoverHelp(help);
      ImGui::TableNextColumn();
      ImGui::Text("%s cells", withCommas(count).c_str());
      ImGui::TableNextColumn();
      label(percent(double(count), double(cells)).c_str());
    };
    if (full) {
      row(mask_cell_colour(BlockKind::NotComputed, true), "dense", "Full attention: every block pair is computed.",
          cells);
    } else {
      row(mask_cell_colour(BlockKind::Global), "global",
          "The first and last query blocks attend every key block, and every query block attends the first and "
          "last key blocks.",
          kindCounts_[int(BlockKind::Global)]);
      row(mask_cell_colour(BlockKind::Window), "window", "The sliding window: key blocks q-1, q and q+1.",
          kindCounts_[int(BlockKind::Window)]);
      row(mask_cell_colour(BlockKind::Random), "random",
          "r random key blocks per query block, drawn exactly like the chosen reference implementation.",
          kindCounts_[int(BlockKind::Random)]);
      row(mask_cell_colour(BlockKind::NotComputed), "skipped", "Not computed: these scores are never formed.",
          kindCounts_[int(BlockKind::NotComputed)]);
    }
    ImGui::EndTable();
  }

  sectionHeader("This head");
  if (!planError_.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextError);
    ImGui::TextWrapped("%s", planError_.c_str());
    ImGui::PopStyleColor();
    return;
  }
  const int64_t nb = drawnBlocks();
  const int64_t computed = full ? nb * nb : plan_.pattern.computed_block_pairs();
  if (ImGui::BeginTable("##stats", 2, ImGuiTableFlags_SizingStretchProp)) {
    auto stat = [](const char* name, const std::string& value) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      label(name);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(value.c_str());
    };
    stat("Blocks (nb)", std::to_string(nb) + " × " + std::to_string(config_.block) + " tokens");
    stat("Attention length", std::to_string(plan_.decision.padded_len) + " tokens");
    stat("Computed tiles", withCommas(computed) + " / " + withCommas(nb * nb));
    hoverHelp("Query-block x key-block score tiles computed per head, repeats counted, against nb² for full "
              "attention.");
    stat("Share of full", percent(double(computed), double(nb * nb)));
    if (!full) {
      stat("Repeated tiles", withCommas(duplicatedCells_));
      hoverHelp("Cells whose key block appears more than once in the query block's softmax (a random block that "
                "is also a window or global block, or repeated random blocks). The references attend them twice.");
    }
    ImGui::EndTable();
  }
  ImGui::Dummy(ImVec2(0, 2));
  ImGui::PushStyleColor(ImGuiCol_Text, plan_.decision.fell_back ? theme::kTextWarning : theme::kTextMuted);
  ImGui::TextWrapped("%s%s", plan_.decision.fell_back ? "Fallback: " : "", plan_.decision.reason.c_str());
  ImGui::PopStyleColor();
}

void MaskView::drawCanvas() {
  const bool full = fullAttention();
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::Text("Layer %d  ·  head %d", config_.layer, config_.head);
  ImGui::PopFont();
  // Zoom controls, right-aligned on the title line; the axis hint only where it fits.
  const float buttonW = ImGui::GetFrameHeight();
  const float fitW = ImGui::CalcTextSize("Fit").x + ImGui::GetStyle().FramePadding.x * 2.0f;
  const float zoomW = ImGui::CalcTextSize("32000 %").x;
  const float spacing = ImGui::GetStyle().ItemSpacing.x * 0.5f;
  const float controlsX = ImGui::GetWindowContentRegionMax().x - (zoomW + buttonW * 2.0f + fitW + spacing * 3.0f);
  const char* hint = "  query blocks ↓  ×  key blocks →";
  ImGui::SameLine();
  if (ImGui::GetCursorPosX() + ImGui::CalcTextSize(hint).x < controlsX - 8.0f) label(hint);
  ImGui::SameLine(controlsX);
  ImGui::AlignTextToFramePadding();
  label((std::to_string(int(std::lround(zoom_ * 100.0f))) + " %").c_str());
  ImGui::SameLine(0, spacing);
  if (ImGui::Button("-##zoom", ImVec2(buttonW, 0))) zoom_ = std::max(1.0f, zoom_ / 1.5f);
  remember("zoom:out");
  ImGui::SameLine(0, spacing);
  if (ImGui::Button("Fit##zoom")) zoom_ = 1.0f;
  remember("zoom:fit");
  ImGui::SameLine(0, spacing);
  if (ImGui::Button("+##zoom", ImVec2(buttonW, 0))) zoom_ = std::min(maxZoom(), zoom_ * 1.5f);
  remember("zoom:in");
  hoverHelp("Ctrl+wheel over the grid zooms at the mouse (down to single tokens); the wheel scrolls; drag to pan.");

  if (!planError_.empty()) {
    geometry_ = {};
    ImGui::Dummy(ImVec2(0, 12));
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextError);
    ImGui::TextWrapped("The engine cannot plan this configuration: %s", planError_.c_str());
    ImGui::PopStyleColor();
    return;
  }
  if (full) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextWarning);
    ImGui::TextWrapped("Full attention: %s. Every block pair is computed (dense), so there is no sparse pattern.",
                       plan_.decision.reason.c_str());
    ImGui::PopStyleColor();
  }
  drawGrid();
}

void MaskView::drawStatusLine() const {
  ImU32 colour = theme::kTextMuted;
  if (!planError_.empty()) colour = theme::kTextError;
  else if (plan_.decision.fell_back) colour = theme::kTextWarning;
  ImGui::PushStyleColor(ImGuiCol_Text, colour);
  ImGui::TextUnformatted(summary().c_str());
  ImGui::PopStyleColor();
}

}  // namespace bb::ui
