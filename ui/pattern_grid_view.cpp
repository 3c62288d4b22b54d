#include "ui/pattern_grid_view.h"

#include <imgui.h>

#include <QImage>
#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/mask_colours.h"
#include "ui/text_utils.h"

namespace bb::ui {

using bb::attn::BlockKind;

PatternGridView::PatternGridView() = default;

void PatternGridView::setConfig(const MaskConfig& c, int layers) {
  MaskConfig k = c;
  k.layer = 0;
  k.head = 0;
  layers = std::clamp(layers, 1, 48);
  if (k == config_ && layers == layers_) return;
  config_ = k;
  layers_ = layers;
  dirty_ = true;
}

void PatternGridView::rebuild() {
  dirty_ = false;
  error_.clear();
  thumbs_.clear();
  nb_ = 0;
  try {
    for (int l = 0; l < layers_; ++l) {
      MaskConfig c = config_;
      c.layer = l;
      const bb::attn::LayerPattern lp = bb::attn::plan_layer(to_request(c));
      full_ = lp.decision.type == bb::attn::AttentionType::OriginalFull;
      if (full_) return;
      nb_ = lp.pattern.num_blocks();
      // At most 128 x 128 texels per thumbnail, filled from the key lists (O(nb · keys), not nb²),
      // each texel showing the strongest kind among the cells it covers.
      const int side = std::min(nb_, 128);
      for (int h = 0; h < config_.heads; ++h) {
        std::vector<uint8_t> kinds(size_t(side) * size_t(side), uint8_t(BlockKind::NotComputed));
        auto mark = [&](int q, int k, BlockKind kind) {
          if (randomOnly_ && kind != BlockKind::Random) return;
          uint8_t& cell = kinds[size_t(q * side / nb_) * size_t(side) + size_t(k * side / nb_)];
          cell = std::max(cell, uint8_t(kind));
        };
        for (int q = 0; q < nb_; ++q)
          for (const bb::attn::KeyBlock& kb : lp.pattern.key_blocks(h, q)) mark(q, kb.block, kb.kind);
        QImage img(side, side, QImage::Format_RGB32);
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const Rgb col = mask_cell_colour(BlockKind(kinds[size_t(y) * size_t(side) + size_t(x)]));
            img.setPixel(x, y, qRgb(col.r, col.g, col.b));
          }
        thumbs_.push_back(std::make_unique<GlTexture>());
        thumbs_.back()->setImage(img);
      }
    }
  } catch (const bb::Error& e) {
    error_ = e.what();
    thumbs_.clear();
  }
}

void PatternGridView::draw() {
  if (dirty_) rebuild();
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::Text("Random blocks: %d layers × %d heads", layers_, config_.heads);
  ImGui::PopFont();
  ImGui::SameLine();
  label(("  L " + std::to_string(config_.seq_len) + " · b " + std::to_string(config_.block) + " · r " +
         std::to_string(config_.num_random) + " · " + bb::attn::to_string(config_.mode))
            .c_str());
  ImGui::SameLine();
  if (ImGui::Checkbox("random blocks only", &randomOnly_)) dirty_ = true;
  hoverHelp("Hide the global and window blocks (identical in every head) to compare the random ones.");
  if (!error_.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextError);
    ImGui::TextWrapped("%s", error_.c_str());
    ImGui::PopStyleColor();
    return;
  }
  if (full_) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextWarning);
    ImGui::TextWrapped("This length falls back to full attention: there are no random blocks to compare.");
    ImGui::PopStyleColor();
    return;
  }
  ImGui::PushStyleColor(ImGuiCol_ChildBg, theme::kCanvasBg);
  ImGui::BeginChild("##thumbs", ImVec2(0, 0), false);
  ImGui::PopStyleColor();
  const float labelW = 58.0f, gap = 6.0f;
  const float avail = ImGui::GetContentRegionAvail().x - labelW;
  const float side = std::clamp(std::floor(avail / float(config_.heads) - gap), 24.0f, 160.0f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float headerH = ImGui::GetTextLineHeight() + 4;
  ImGui::Dummy(ImVec2(labelW + float(config_.heads) * (side + gap), headerH + float(layers_) * (side + gap)));
  const ImVec2 clipMin = dl->GetClipRectMin(), clipMax = dl->GetClipRectMax();
  for (int h = 0; h < config_.heads; ++h) {
    const std::string t = "head " + std::to_string(h);
    dl->AddText(ImVec2(origin.x + labelW + float(h) * (side + gap) + (side - ImGui::CalcTextSize(t.c_str()).x) * 0.5f, origin.y),
                theme::kTextMuted, t.c_str());
  }
  const ImVec2 m = ImGui::GetIO().MousePos;
  for (int l = 0; l < layers_; ++l) {
    const float y = origin.y + headerH + float(l) * (side + gap);
    if (y > clipMax.y || y + side < clipMin.y) continue;
    const std::string t = "layer " + std::to_string(l);
    dl->AddText(ImVec2(origin.x, y + side * 0.5f - ImGui::GetTextLineHeight() * 0.5f), theme::kTextMuted, t.c_str());
    for (int h = 0; h < config_.heads; ++h) {
      const float x = origin.x + labelW + float(h) * (side + gap);
      GlTexture& tex = *thumbs_[size_t(l * config_.heads + h)];
      dl->AddImage(tex.id(), ImVec2(x, y), ImVec2(x + side, y + side));
      const bool hover = ImGui::IsWindowHovered() && m.x >= x && m.x < x + side && m.y >= y && m.y < y + side;
      if (l == curLayer_ && h == curHead_) dl->AddRect(ImVec2(x - 2, y - 2), ImVec2(x + side + 2, y + side + 2), theme::kSelection, 2, 0, 2);
      else if (hover) dl->AddRect(ImVec2(x - 1, y - 1), ImVec2(x + side + 1, y + side + 1), theme::kAccent, 2, 0, 1.5f);
      if (hover) {
        ImGui::SetTooltip("Layer %d, head %d — click to show it in the pattern view", l, h);
        if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
          curLayer_ = l;
          curHead_ = h;
          if (onPick_) onPick_(l, h);
        }
      }
    }
  }
  ImGui::EndChild();
}

std::string PatternGridView::exportCsv() const {
  std::string out = "layer,head,query_block,random_key_blocks\n";
  try {
    for (int l = 0; l < layers_; ++l) {
      MaskConfig c = config_;
      c.layer = l;
      const bb::attn::LayerPattern lp = bb::attn::plan_layer(to_request(c));
      if (lp.pattern.num_blocks() == 0) return out;
      for (int h = 0; h < config_.heads; ++h)
        for (int q = 1; q + 1 < lp.pattern.num_blocks(); ++q) {
          std::string blocks;
          for (const auto& kb : lp.pattern.key_blocks(h, q))
            if (kb.kind == BlockKind::Random) {
              if (!blocks.empty()) blocks += ' ';
              blocks += std::to_string(kb.block);
            }
          out += std::to_string(l) + "," + std::to_string(h) + "," + std::to_string(q) + "," + blocks + "\n";
        }
    }
  } catch (const bb::Error&) {
  }
  return out;
}

}  // namespace bb::ui

namespace bb::ui {

std::string PatternGridView::exportJson() const {
  std::string out = "{\n  \"view\": \"layers-heads\",\n  \"length\": " + std::to_string(config_.seq_len) +
                    ", \"block\": " + std::to_string(config_.block) + ", \"num_random_blocks\": " +
                    std::to_string(config_.num_random) + ", \"heads\": " + std::to_string(config_.heads) +
                    ", \"random_blocks\": \"" + bb::attn::to_string(config_.mode) + "\",\n  \"layers\": [";
  try {
    for (int l = 0; l < layers_; ++l) {
      MaskConfig c = config_;
      c.layer = l;
      const bb::attn::LayerPattern lp = bb::attn::plan_layer(to_request(c));
      out += l ? ",\n    [" : "\n    [";
      for (int h = 0; h < config_.heads && lp.pattern.num_blocks() > 0; ++h) {
        out += h ? ", [" : "[";
        for (int q = 1; q + 1 < lp.pattern.num_blocks(); ++q) {
          out += q > 1 ? ", [" : "[";
          bool first = true;
          for (const auto& kb : lp.pattern.key_blocks(h, q))
            if (kb.kind == BlockKind::Random) {
              out += (first ? "" : ", ") + std::to_string(kb.block);
              first = false;
            }
          out += "]";
        }
        out += "]";
      }
      out += "]";
    }
  } catch (const bb::Error& e) {
    return out + "],\n  \"error\": " + jsonString(e.what()) + "\n}\n";
  }
  return out + "\n  ]\n}\n";
}

}  // namespace bb::ui
