#pragma once
// Converts one rendered Dear ImGui frame (its draw lists) into SVG: solid triangles become
// rectangles and polygons, glyph quads become real <text> (searchable, scalable), textured quads
// (heatmaps) become embedded PNG images, and every draw command keeps its clip rectangle. The
// frame should be drawn without anti-aliasing (ImGuiWidget::grabSvg does that).
#include <imgui.h>

#include <QSizeF>
#include <string>

namespace bb::ui {

std::string drawDataToSvg(const ImDrawData* data, const ImFontAtlas* fonts, QSizeF logicalSize, ImU32 background);

}  // namespace bb::ui
