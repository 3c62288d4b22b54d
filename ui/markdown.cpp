#include "ui/markdown.h"

#include <imgui.h>

#include <cctype>
#include <cfloat>
#include <sstream>
#include <vector>

#include "ui/imgui_style.h"

namespace bb::ui {

namespace {

enum class Span { Plain, Bold, Code };

struct Word {
  std::string text;
  Span span;
  bool spaceBefore;
};

// Splits inline Markdown into words, each with its style.
std::vector<Word> words(const std::string& text) {
  std::vector<Word> out;
  Span span = Span::Plain;
  std::string cur;
  bool pendingSpace = false;
  auto flush = [&] {
    if (cur.empty()) return;
    out.push_back({cur, span, pendingSpace});
    cur.clear();
    pendingSpace = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (span != Span::Code && c == '*' && i + 1 < text.size() && text[i + 1] == '*') {
      flush();
      span = span == Span::Bold ? Span::Plain : Span::Bold;
      ++i;
      continue;
    }
    if (c == '`') {
      flush();
      span = span == Span::Code ? Span::Plain : Span::Code;
      continue;
    }
    if (c == ' ') {
      flush();
      pendingSpace = true;
      continue;
    }
    cur += c;
  }
  flush();
  return out;
}

ImFont* fontFor(Span s) { return s == Span::Bold ? font(FontRole::Bold) : s == Span::Code ? font(FontRole::Mono) : font(FontRole::Regular); }

// Lays out and draws inline text at the cursor, wrapped at the content width, indented by `indent`.
void drawInline(const std::string& text, float indent, ImU32 colour) {
  const std::vector<Word> ws = words(text);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 start = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x - indent;
  const float lineH = ImGui::GetTextLineHeight() + 4.0f;
  const float spaceW = ImGui::CalcTextSize(" ").x;
  float x = 0, y = 0;
  for (const Word& w : ws) {
    ImFont* f = fontFor(w.span);
    const float size = ImGui::GetFontSize() * (w.span == Span::Code ? 0.95f : 1.0f);
    const float ww = f->CalcTextSizeA(size, FLT_MAX, 0.0f, w.text.c_str()).x;
    float gap = w.spaceBefore && x > 0 ? spaceW : 0.0f;
    if (x > 0 && x + gap + ww > width) {
      x = 0;
      y += lineH;
      gap = 0;
    }
    x += gap;
    const ImVec2 p(start.x + indent + x, start.y + y);
    if (w.span == Span::Code)
      dl->AddRectFilled(ImVec2(p.x - 2, p.y), ImVec2(p.x + ww + 2, p.y + ImGui::GetTextLineHeight() + 1), IM_COL32(255, 255, 255, 20), 3);
    dl->AddText(f, size, ImVec2(p.x, p.y + (w.span == Span::Code ? 1.0f : 0.0f)),
                w.span == Span::Code ? IM_COL32(255, 205, 140, 255) : colour, w.text.c_str());
    x += ww;
  }
  ImGui::Dummy(ImVec2(width + indent, y + lineH));
}

}  // namespace

void drawMarkdown(const std::string& text) {
  std::istringstream in(text);
  std::string line, para;
  const ImU32 body = IM_COL32(222, 226, 232, 255);
  auto flushPara = [&] {
    if (!para.empty()) drawInline(para, 0, body);
    para.clear();
  };
  std::string item, marker;  // the list item being collected
  auto flushItem = [&] {
    if (item.empty()) return;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddText(ImVec2(p.x + 4, p.y), IM_COL32(120, 180, 240, 255), marker.c_str());
    drawInline(item, 22.0f, body);
    item.clear();
  };
  bool inCode = false;
  std::vector<std::string> code;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("```", 0) == 0) {
      flushItem();
      if (inCode) {
        ImDrawList* dl = ImGui::GetWindowDrawList();
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float h = float(code.size()) * (ImGui::GetTextLineHeight() + 2) + 12;
        dl->AddRectFilled(p, ImVec2(p.x + ImGui::GetContentRegionAvail().x, p.y + h), IM_COL32(16, 18, 22, 255), 5);
        float y = p.y + 6;
        for (const std::string& c : code) {
          dl->AddText(font(FontRole::Mono), ImGui::GetFontSize() * 0.95f, ImVec2(p.x + 10, y), IM_COL32(200, 215, 235, 255), c.c_str());
          y += ImGui::GetTextLineHeight() + 2;
        }
        ImGui::Dummy(ImVec2(0, h));
        code.clear();
      } else {
        flushPara();
      }
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      code.push_back(line);
      continue;
    }
    if (line.empty()) {
      flushPara();
      flushItem();
      ImGui::Dummy(ImVec2(0, 2));
      continue;
    }
    if (line.rfind("<!--", 0) == 0) continue;
    if (line[0] == '#') {
      flushPara();
      flushItem();
      size_t level = line.find_first_not_of('#');
      const std::string title = line.substr(std::min(line.size(), level + 1));
      ImGui::PushFont(font(level <= 1 ? FontRole::Title : FontRole::Bold));
      ImGui::PushTextWrapPos(0.0f);
      ImGui::TextUnformatted(title.c_str());
      ImGui::PopTextWrapPos();
      ImGui::PopFont();
      if (level <= 1) ImGui::Separator();
      continue;
    }
    const bool bullet = line.rfind("- ", 0) == 0 || line.rfind("* ", 0) == 0;
    size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    const bool numbered = digits > 0 && line.compare(digits, 2, ". ") == 0;
    if (bullet || numbered) {
      flushPara();
      flushItem();
      item = line.substr(bullet ? 2 : digits + 2);
      marker = bullet ? "•" : line.substr(0, digits + 1);
      continue;
    }
    if (!item.empty() && line.rfind("  ", 0) == 0) {  // an indented continuation of the list item
      item += ' ' + line.substr(line.find_first_not_of(' '));
      continue;
    }
    flushItem();
    if (!para.empty()) para += ' ';
    para += line;
  }
  flushPara();
  flushItem();
}

}  // namespace bb::ui
