#include "ui/imgui_style.h"

#include <QFileInfo>
#include <QString>

namespace bb::ui {

namespace {

constexpr float kRegularSize = 15.0f;
constexpr float kTitleSize = 19.0f;
constexpr float kMonoSize = 14.0f;

// Latin-1 plus the arrows, dashes and comparison signs the views print.
// Latin-1, Latin Extended-A, general punctuation (curly quotes, dashes), arrows, maths and shapes.
const ImWchar kGlyphRanges[] = {0x0020, 0x017F, 0x2010, 0x2044, 0x2190, 0x21FF, 0x2200, 0x22FF,
                                0x25A0, 0x25FF, 0x1D40, 0x1D40, 0};

QString findFont(const char* file) {
  for (const char* dir : {"/usr/share/fonts/truetype/dejavu/", "/usr/share/fonts/dejavu/",
                          "/usr/local/share/fonts/dejavu/"}) {
    const QString path = QString::fromUtf8(dir) + QString::fromUtf8(file);
    if (QFileInfo::exists(path)) return path;
  }
  return {};
}

ImFont* addFont(const char* file, float size, float dpr) {
  const QString path = findFont(file);
  if (path.isEmpty()) return nullptr;
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  cfg.OversampleV = 1;
  cfg.PixelSnapH = true;
  return ImGui::GetIO().Fonts->AddFontFromFileTTF(path.toUtf8().constData(), size * dpr, &cfg, kGlyphRanges);
}

}  // namespace

ImFont* font(FontRole role) {
  ImFontAtlas* atlas = ImGui::GetIO().Fonts;
  const int i = int(role);
  return i < atlas->Fonts.Size ? atlas->Fonts[i] : ImGui::GetFont();
}

bool loadFonts(float dpr, float uiScale) {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  // The order matches FontRole.
  const float s = dpr * uiScale;  // rasterise at device pixels
  ImFont* regular = addFont("DejaVuSans.ttf", kRegularSize, s);
  ImFont* bold = regular ? addFont("DejaVuSans-Bold.ttf", kRegularSize, s) : nullptr;
  ImFont* title = bold ? addFont("DejaVuSans-Bold.ttf", kTitleSize, s) : nullptr;
  ImFont* mono = title ? addFont("DejaVuSansMono.ttf", kMonoSize, s) : nullptr;
  const bool found = regular && bold && title && mono;
  if (!found) {
    io.Fonts->Clear();
    ImFontConfig cfg;
    cfg.SizePixels = 13.0f * s;
    io.Fonts->AddFontDefault(&cfg);
  }
  io.FontGlobalScale = 1.0f / dpr;
  io.Fonts->Build();
  return found;
}

void applyStudioStyle(float uiScale) {
  ImGui::GetStyle() = ImGuiStyle();
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowPadding = ImVec2(14, 12);
  s.FramePadding = ImVec2(8, 5);
  s.ItemSpacing = ImVec2(10, 8);
  s.ItemInnerSpacing = ImVec2(8, 6);
  s.ScrollbarSize = 13;
  s.GrabMinSize = 12;
  s.WindowBorderSize = 0;
  s.ChildBorderSize = 1;
  s.PopupBorderSize = 1;
  s.FrameBorderSize = 0;
  s.WindowRounding = 0;
  s.ChildRounding = 6;
  s.FrameRounding = 4;
  s.PopupRounding = 6;
  s.ScrollbarRounding = 6;
  s.GrabRounding = 4;
  s.TabRounding = 4;

  ImVec4* c = s.Colors;
  auto rgb = [](int r, int g, int b, float a = 1.0f) { return ImVec4(r / 255.0f, g / 255.0f, b / 255.0f, a); };
  c[ImGuiCol_Text] = rgb(222, 226, 232);
  c[ImGuiCol_TextDisabled] = rgb(120, 127, 140);
  c[ImGuiCol_WindowBg] = rgb(28, 31, 36);
  c[ImGuiCol_ChildBg] = rgb(33, 36, 42);
  c[ImGuiCol_PopupBg] = rgb(38, 42, 49, 0.98f);
  c[ImGuiCol_Border] = rgb(55, 60, 70);
  c[ImGuiCol_BorderShadow] = rgb(0, 0, 0, 0);
  c[ImGuiCol_FrameBg] = rgb(46, 51, 60);
  c[ImGuiCol_FrameBgHovered] = rgb(56, 63, 75);
  c[ImGuiCol_FrameBgActive] = rgb(64, 73, 88);
  c[ImGuiCol_TitleBg] = rgb(28, 31, 36);
  c[ImGuiCol_TitleBgActive] = rgb(36, 40, 47);
  c[ImGuiCol_MenuBarBg] = rgb(33, 36, 42);
  c[ImGuiCol_ScrollbarBg] = rgb(28, 31, 36, 0.6f);
  c[ImGuiCol_ScrollbarGrab] = rgb(70, 77, 90);
  c[ImGuiCol_ScrollbarGrabHovered] = rgb(88, 96, 112);
  c[ImGuiCol_ScrollbarGrabActive] = rgb(104, 113, 130);
  c[ImGuiCol_CheckMark] = rgb(120, 190, 255);
  c[ImGuiCol_SliderGrab] = rgb(96, 150, 220);
  c[ImGuiCol_SliderGrabActive] = rgb(125, 175, 240);
  c[ImGuiCol_Button] = rgb(50, 56, 67);
  c[ImGuiCol_ButtonHovered] = rgb(64, 73, 88);
  c[ImGuiCol_ButtonActive] = rgb(74, 110, 160);
  c[ImGuiCol_Header] = rgb(50, 56, 67);
  c[ImGuiCol_HeaderHovered] = rgb(60, 68, 82);
  c[ImGuiCol_HeaderActive] = rgb(70, 80, 96);
  c[ImGuiCol_Separator] = rgb(55, 60, 70);
  c[ImGuiCol_SeparatorHovered] = rgb(96, 150, 220);
  c[ImGuiCol_SeparatorActive] = rgb(125, 175, 240);
  c[ImGuiCol_ResizeGrip] = rgb(96, 150, 220, 0.2f);
  c[ImGuiCol_ResizeGripHovered] = rgb(96, 150, 220, 0.6f);
  c[ImGuiCol_ResizeGripActive] = rgb(96, 150, 220, 0.9f);
  c[ImGuiCol_Tab] = rgb(40, 44, 52);
  c[ImGuiCol_TabHovered] = rgb(64, 73, 88);
  c[ImGuiCol_TabActive] = rgb(54, 62, 76);
  c[ImGuiCol_TabUnfocused] = rgb(36, 40, 47);
  c[ImGuiCol_TabUnfocusedActive] = rgb(46, 52, 62);
  c[ImGuiCol_TableHeaderBg] = rgb(40, 44, 52);
  c[ImGuiCol_TableBorderStrong] = rgb(58, 64, 75);
  c[ImGuiCol_TableBorderLight] = rgb(46, 51, 60);
  c[ImGuiCol_TableRowBg] = rgb(0, 0, 0, 0);
  c[ImGuiCol_TableRowBgAlt] = rgb(255, 255, 255, 0.03f);
  c[ImGuiCol_TextSelectedBg] = rgb(96, 150, 220, 0.35f);
  c[ImGuiCol_NavHighlight] = rgb(96, 150, 220);
  c[ImGuiCol_ModalWindowDimBg] = rgb(0, 0, 0, 0.5f);
  if (uiScale != 1.0f) s.ScaleAllSizes(uiScale);
}

}  // namespace bb::ui
