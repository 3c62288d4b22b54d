#include "ui/svg_export.h"

#include <QBuffer>
#include <QByteArray>
#include <QImage>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>

#include "ui/gl_texture.h"

namespace bb::ui {

namespace {

struct GlyphInfo {
  const ImFontGlyph* glyph;
  const ImFont* font;
  int fontIndex;
};

// Glyphs by the top-left UV of their quad in the atlas.
std::map<std::pair<float, float>, GlyphInfo> glyphIndex(const ImFontAtlas* atlas) {
  std::map<std::pair<float, float>, GlyphInfo> out;
  for (int f = 0; f < atlas->Fonts.Size; ++f) {
    const ImFont* font = atlas->Fonts[f];
    for (int g = 0; g < font->Glyphs.Size; ++g) {
      const ImFontGlyph& glyph = font->Glyphs[g];
      if (glyph.Visible) out.emplace(std::make_pair(glyph.U0, glyph.V0), GlyphInfo{&glyph, font, f});
    }
  }
  return out;
}

std::string num(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", double(v));
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string colour(ImU32 c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", unsigned(c & 0xFF), unsigned((c >> 8) & 0xFF),
                unsigned((c >> 16) & 0xFF));
  return buf;
}

std::string fill(ImU32 c) {
  const unsigned a = (c >> 24) & 0xFF;
  std::string s = " fill=\"" + colour(c) + "\"";
  if (a < 255) s += " fill-opacity=\"" + num(float(a) / 255.0f) + "\"";
  return s;
}

void appendEscaped(std::string& out, unsigned codepoint) {
  switch (codepoint) {
    case '<': out += "&lt;"; return;
    case '>': out += "&gt;"; return;
    case '&': out += "&amp;"; return;
    case '"': out += "&quot;"; return;
    default: break;
  }
  if (codepoint < 0x80) {
    out += char(codepoint);
  } else if (codepoint < 0x800) {
    out += char(0xC0 | (codepoint >> 6));
    out += char(0x80 | (codepoint & 0x3F));
  } else {
    out += char(0xE0 | (codepoint >> 12));
    out += char(0x80 | ((codepoint >> 6) & 0x3F));
    out += char(0x80 | (codepoint & 0x3F));
  }
}

const char* fontAttributes(int fontIndex, bool fallback) {
  if (fallback) return "font-family=\"monospace\"";
  switch (fontIndex) {
    case 1:
    case 2: return "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-weight=\"bold\"";
    case 3: return "font-family=\"DejaVu Sans Mono, monospace\"";
    default: return "font-family=\"DejaVu Sans, Verdana, sans-serif\"";
  }
}

// A run of glyphs on one baseline with one font and colour, written as one <text>.
struct TextRun {
  int fontIndex = -1;
  ImU32 col = 0;
  float baseline = 0, size = 0;
  std::string text, xs;
  float lastRight = 0;
  bool empty() const { return text.empty(); }
};

class SvgWriter {
 public:
  SvgWriter(const ImFontAtlas* fonts) : fonts_(fonts), glyphs_(glyphIndex(fonts)) {
    fallbackFont_ = fonts->Fonts.Size < 4;
  }

  void drawList(const ImDrawList* list, ImVec2 offset) {
    for (int c = 0; c < list->CmdBuffer.Size; ++c) {
      const ImDrawCmd& cmd = list->CmdBuffer[c];
      if (cmd.UserCallback || cmd.ElemCount == 0) continue;
      const ImVec4 clip = cmd.ClipRect;
      if (clip.z <= clip.x || clip.w <= clip.y) continue;
      beginGroup(ImVec4(clip.x - offset.x, clip.y - offset.y, clip.z - offset.x, clip.w - offset.y));
      const ImDrawIdx* idx = list->IdxBuffer.Data + cmd.IdxOffset;
      const ImDrawVert* vtx = list->VtxBuffer.Data + cmd.VtxOffset;
      const bool atlas = cmd.TextureId == fonts_->TexID;
      for (unsigned i = 0; i + 2 < cmd.ElemCount;) {
        const ImDrawVert& a = vtx[idx[i]];
        const ImDrawVert& b = vtx[idx[i + 1]];
        const ImDrawVert& d = vtx[idx[i + 2]];
        // ImGui emits rectangles as quads: (0,1,2) (0,2,3).
        const bool quad = i + 5 < cmd.ElemCount && idx[i + 3] == idx[i] && idx[i + 4] == idx[i + 2];
        const ImDrawVert* e = quad ? &vtx[idx[i + 5]] : nullptr;
        if (!atlas) {
          if (quad) image(cmd.TextureId, a, d, *e, offset);
        } else if (isWhite(a) && isWhite(b) && isWhite(d) && (!e || isWhite(*e))) {
          if (quad && axisAligned(a, b, d, *e) && a.col == d.col) rect(a, d, a.col, offset);
          else if (quad) polygon({&a, &b, &d, e}, offset);
          else polygon({&a, &b, &d}, offset);
        } else if (quad) {
          glyph(a, d, offset);
        }
        i += quad ? 6 : 3;
      }
      flushText();
      endGroup();
    }
  }

  std::string finish(QSizeF size, ImU32 background) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(float(size.width())) + "\" height=\"" +
           num(float(size.height())) + "\" viewBox=\"0 0 " + num(float(size.width())) + " " + num(float(size.height())) +
           "\">\n<defs>\n" + defs_ + "</defs>\n";
    out += "<rect width=\"100%\" height=\"100%\"" + fill(background | IM_COL32_A_MASK) + "/>\n";
    out += body_ + "</svg>\n";
    return out;
  }

 private:
  bool isWhite(const ImDrawVert& v) const {
    return std::fabs(v.uv.x - fonts_->TexUvWhitePixel.x) < 1e-6f && std::fabs(v.uv.y - fonts_->TexUvWhitePixel.y) < 1e-6f;
  }
  static bool axisAligned(const ImDrawVert& a, const ImDrawVert& b, const ImDrawVert& c, const ImDrawVert& d) {
    return a.pos.y == b.pos.y && b.pos.x == c.pos.x && c.pos.y == d.pos.y && d.pos.x == a.pos.x;
  }

  void beginGroup(const ImVec4& clip) {
    const std::string key = num(clip.x) + "," + num(clip.y) + "," + num(clip.z) + "," + num(clip.w);
    auto it = clips_.find(key);
    if (it == clips_.end()) {
      const std::string id = std::string("c").append(std::to_string(clips_.size()));
      defs_ += "<clipPath id=\"" + id + "\"><rect x=\"" + num(clip.x) + "\" y=\"" + num(clip.y) + "\" width=\"" +
               num(clip.z - clip.x) + "\" height=\"" + num(clip.w - clip.y) + "\"/></clipPath>\n";
      it = clips_.emplace(key, id).first;
    }
    body_ += "<g clip-path=\"url(#" + it->second + ")\">\n";
  }
  void endGroup() { body_ += "</g>\n"; }

  void rect(const ImDrawVert& a, const ImDrawVert& c, ImU32 col, ImVec2 o) {
    if ((col & IM_COL32_A_MASK) == 0) return;
    const float x0 = std::min(a.pos.x, c.pos.x) - o.x, y0 = std::min(a.pos.y, c.pos.y) - o.y;
    const float w = std::fabs(c.pos.x - a.pos.x), h = std::fabs(c.pos.y - a.pos.y);
    if (w <= 0 || h <= 0) return;
    flushText();
    body_ += "<rect x=\"" + num(x0) + "\" y=\"" + num(y0) + "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\"" +
             fill(col) + "/>\n";
  }

  void polygon(std::initializer_list<const ImDrawVert*> vs, ImVec2 o) {
    const ImU32 col = (*vs.begin())->col;
    if ((col & IM_COL32_A_MASK) == 0) return;
    flushText();
    std::string pts;
    for (const ImDrawVert* v : vs) pts += num(v->pos.x - o.x) + "," + num(v->pos.y - o.y) + " ";
    pts.pop_back();
    // A hairline stroke of the same colour closes the seams between adjacent opaque triangles.
    const bool opaque = (col >> 24) == 0xFF;
    body_ += "<polygon points=\"" + pts + "\"" + fill(col) +
             (opaque ? " stroke=\"" + colour(col) + "\" stroke-width=\"0.3\"" : std::string()) + "/>\n";
  }

  void image(ImTextureID id, const ImDrawVert& a, const ImDrawVert& c, const ImDrawVert& b, ImVec2 o) {
    const QImage* img = textureImage(id);
    if (!img || img->isNull()) return;
    flushText();
    const float u0 = std::min(a.uv.x, c.uv.x), u1 = std::max(a.uv.x, c.uv.x);
    const float v0 = std::min(a.uv.y, c.uv.y), v1 = std::max(a.uv.y, c.uv.y);
    const QRect src(int(std::floor(u0 * float(img->width()))), int(std::floor(v0 * float(img->height()))),
                    std::max(1, int(std::ceil((u1 - u0) * float(img->width())))),
                    std::max(1, int(std::ceil((v1 - v0) * float(img->height())))));
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    img->copy(src).save(&buffer, "PNG");
    const float x0 = std::min({a.pos.x, b.pos.x, c.pos.x}) - o.x, y0 = std::min({a.pos.y, b.pos.y, c.pos.y}) - o.y;
    const float x1 = std::max({a.pos.x, b.pos.x, c.pos.x}) - o.x, y1 = std::max({a.pos.y, b.pos.y, c.pos.y}) - o.y;
    body_ += "<image x=\"" + num(x0) + "\" y=\"" + num(y0) + "\" width=\"" + num(x1 - x0) + "\" height=\"" +
             num(y1 - y0) + "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64," +
             png.toBase64().toStdString() + "\"/>\n";
  }

  void glyph(const ImDrawVert& tl, const ImDrawVert& br, ImVec2 o) {
    const auto it = glyphs_.find({tl.uv.x, tl.uv.y});
    if (it == glyphs_.end()) return;
    const ImFontGlyph& g = *it->second.glyph;
    const float gw = g.X1 - g.X0;
    if (gw <= 0) return;
    const float scale = (br.pos.x - tl.pos.x) / gw;
    const float left = tl.pos.x - g.X0 * scale - o.x;
    const float baseline = tl.pos.y - g.Y0 * scale + it->second.font->Ascent * scale - o.y;
    const float size = it->second.font->FontSize * scale;
    const float spaceW = it->second.font->GetCharAdvance(' ') * scale;
    // Words on one line stay one <text> with real spaces (renderers that ignore the per-glyph x
    // list still read "two words"); a wider gap starts a new <text>.
    const bool continues = !run_.empty() && run_.fontIndex == it->second.fontIndex && run_.col == tl.col &&
                           std::fabs(run_.baseline - baseline) < 0.01f && std::fabs(run_.size - size) < 0.01f &&
                           left >= run_.lastRight - 0.5f && left - run_.lastRight < 2.5f * spaceW;
    if (continues && left - run_.lastRight > 0.3f * spaceW) {
      run_.text += ' ';
      run_.xs += num(run_.lastRight) + " ";
    }
    if (!continues) {
      flushText();
      run_.fontIndex = it->second.fontIndex;
      run_.col = tl.col;
      run_.baseline = baseline;
      run_.size = size;
    }
    appendEscaped(run_.text, g.Codepoint);
    run_.xs += num(left) + " ";
    run_.lastRight = left + g.AdvanceX * scale;
  }

  void flushText() {
    if (run_.empty()) return;
    run_.xs.pop_back();
    body_ += "<text x=\"" + run_.xs + "\" y=\"" + num(run_.baseline) + "\" font-size=\"" + num(run_.size) + "\" " +
             fontAttributes(run_.fontIndex, fallbackFont_) + fill(run_.col) + " xml:space=\"preserve\">" + run_.text +
             "</text>\n";
    run_ = TextRun{};
  }

  const ImFontAtlas* fonts_;
  std::map<std::pair<float, float>, GlyphInfo> glyphs_;
  bool fallbackFont_ = false;
  std::map<std::string, std::string> clips_;
  std::string defs_, body_;
  TextRun run_;
};

}  // namespace

std::string drawDataToSvg(const ImDrawData* data, const ImFontAtlas* fonts, QSizeF logicalSize, ImU32 background) {
  SvgWriter w(fonts);
  if (data && data->Valid)
    for (int i = 0; i < data->CmdListsCount; ++i) w.drawList(data->CmdLists[i], data->DisplayPos);
  return w.finish(logicalSize, background);
}

}  // namespace bb::ui
