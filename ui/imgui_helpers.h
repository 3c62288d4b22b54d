#pragma once
// Small ImGui building blocks shared by the views: section headers, muted labels, hover help,
// colour swatches and number formatting.
#include <imgui.h>

#include <cstdint>
#include <string>

#include "ui/mask_colours.h"

namespace bb::ui {

ImU32 toImU32(Rgb c);
std::string withCommas(int64_t v);             // 1234567 -> "1,234,567"
std::string percent(double part, double whole);  // "15.2 %"

void sectionHeader(const char* title);  // bold title over a separator
void label(const char* text);           // muted text
void hoverHelp(const char* text);       // wrapped tooltip for the last item
void swatch(Rgb c, float size);         // a rounded colour square, centred on the text line

}  // namespace bb::ui
