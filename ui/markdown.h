#pragma once
// A small Markdown renderer for the tour text inside ImGui: headings (#, ##, ###), paragraphs,
// bullet and numbered lists, fenced code blocks, **bold** and `code` spans, wrapped to the
// available width.
#include <string>

namespace bb::ui {

void drawMarkdown(const std::string& text);

}  // namespace bb::ui
