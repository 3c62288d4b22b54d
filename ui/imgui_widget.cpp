#include "ui/imgui_widget.h"

#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <QGuiApplication>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <algorithm>
#include <cmath>

#include <QScreen>
#include <QWindow>

#include "ui/gl_texture.h"
#include "ui/imgui_qt_input.h"
#include "ui/imgui_style.h"
#include "ui/svg_export.h"

namespace bb::ui {

QSurfaceFormat ImGuiWidget::surfaceFormat() {
  QSurfaceFormat f;
  f.setRenderableType(QSurfaceFormat::OpenGL);
  f.setVersion(3, 3);
  f.setProfile(QSurfaceFormat::CoreProfile);
  f.setDepthBufferSize(0);
  f.setStencilBufferSize(0);
  return f;
}

bool ImGuiWidget::openGLAvailable(QString* why) {
  auto fail = [why](const QString& reason) {
    if (why) *why = reason;
    return false;
  };
  // QOpenGLWidget crashes inside Qt 6.4 on 'offscreen' and has no context on 'minimal'.
  const QString platform = QGuiApplication::platformName();
  static const QStringList kGlPlatforms = {"xcb", "wayland", "wayland-egl", "eglfs", "windows", "cocoa"};
  if (!kGlPlatforms.contains(platform))
    return fail(QStringLiteral("the Qt platform '%1' cannot host OpenGL widgets (use X11/Wayland, or xvfb-run -a)")
                    .arg(platform));
  QOpenGLContext probe;
  probe.setFormat(surfaceFormat());
  if (!probe.create()) return fail(QStringLiteral("no OpenGL context could be created"));
  QOffscreenSurface surface;
  surface.setFormat(probe.format());
  surface.create();
  if (!probe.makeCurrent(&surface)) return fail(QStringLiteral("the OpenGL context cannot be made current"));
  const auto [major, minor] = probe.format().version();
  probe.doneCurrent();
  if (major < 3 || (major == 3 && minor < 3))
    return fail(QStringLiteral("OpenGL %1.%2 found, 3.3 is needed").arg(major).arg(minor));
  return true;
}

ImGuiWidget::ImGuiWidget(QWidget* parent) : QOpenGLWidget(parent) {
  IMGUI_CHECKVERSION();  // headers and libimgui.a must agree on the struct layouts
  context_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // layout is code, not a file in the working directory
  io.LogFilename = nullptr;
  applyStudioStyle();
  input_ = std::make_unique<ImGuiQtInput>(context_);

  setFormat(surfaceFormat());
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);  // after input_ exists: it already delivers events
  frameTimer_.setInterval(16);
  connect(&frameTimer_, &QTimer::timeout, this, qOverload<>(&QWidget::update));
  clock_.start();
}

ImGuiWidget::~ImGuiWidget() {
  if (QOpenGLContext* ctx = context()) disconnect(ctx, nullptr, this, nullptr);
  makeCurrent();
  setCurrentGlGeneration(backendReady_ ? glGeneration_ : -1);
  ImGui::SetCurrentContext(context_);
  views_.clear();  // their textures belong to this context
  shutdownBackend();
  setCurrentGlGeneration(-1);
  doneCurrent();
  ImGui::DestroyContext(context_);
}

void ImGuiWidget::shutdownBackend() {
  if (!backendReady_) return;
  ImGui::SetCurrentContext(context_);
  ImGui_ImplOpenGL3_Shutdown();
  backendReady_ = false;
}

void ImGuiWidget::initializeGL() {
  // QOpenGLWidget re-runs initializeGL when its context is re-created (reparenting).
  shutdownBackend();
  ImGui::SetCurrentContext(context_);
  ImGui_ImplOpenGL3_Init("#version 330 core");
  backendReady_ = true;
  glGeneration_ = newGlGeneration();
  connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] {
    makeCurrent();
    shutdownBackend();
    doneCurrent();
  });
  const auto* name = reinterpret_cast<const char*>(context()->functions()->glGetString(GL_RENDERER));
  renderer_ = QString::fromUtf8(name ? name : "unknown");
  emit glInitialized(renderer_);
}

void ImGuiWidget::resizeGL(int, int) { requestFrames(); }

void ImGuiWidget::showEvent(QShowEvent* e) {
  QOpenGLWidget::showEvent(e);
  // Moving to a screen with another device pixel ratio: the next frame rebuilds the fonts.
  if (QWindow* w = window()->windowHandle(); w && w != screenWindow_) {
    disconnect(screenConnection_);
    screenConnection_ = connect(w, &QWindow::screenChanged, this, [this] { requestFrames(); });
    screenWindow_ = w;
  }
  requestFrames();
}

void ImGuiWidget::hideEvent(QHideEvent* e) {
  frameTimer_.stop();  // a hidden widget gets no paints, so the frame budget would never run out
  QOpenGLWidget::hideEvent(e);
}

void ImGuiWidget::requestFrames(int n) {
  framesLeft_ = std::max(framesLeft_, n);
  frameTimer_.setInterval(16);
  if (!frameTimer_.isActive()) frameTimer_.start();
  update();
}

void ImGuiWidget::setSplit(std::vector<float> fractions) {
  split_ = std::move(fractions);
  requestFrames();
}

void ImGuiWidget::setUiScale(float scale) {
  uiScale_ = std::clamp(scale, 0.5f, 3.0f);
  requestFrames();
}

std::string ImGuiWidget::grabSvg() {
  // Anti-aliased edges are alpha fringes SVG cannot express; draw one frame without them.
  ImGui::SetCurrentContext(context_);
  ImGuiStyle& style = ImGui::GetStyle();
  const bool lines = style.AntiAliasedLines, tex = style.AntiAliasedLinesUseTex, fill = style.AntiAliasedFill;
  style.AntiAliasedLines = style.AntiAliasedLinesUseTex = style.AntiAliasedFill = false;
  grabFramebuffer();
  grabFramebuffer();
  captureSvg_ = true;
  grabFramebuffer();
  captureSvg_ = false;
  ImGui::SetCurrentContext(context_);
  style.AntiAliasedLines = lines;
  style.AntiAliasedLinesUseTex = tex;
  style.AntiAliasedFill = fill;
  return std::move(svg_);
}

void ImGuiWidget::setShowMetrics(bool show) {
  showMetrics_ = show;
  requestFrames();
}

bool ImGuiWidget::needsInputFrames() const {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput || input_->hasPendingInput()) return true;
  for (bool down : io.MouseDown)
    if (down) return true;
  return false;
}

bool ImGuiWidget::viewsAnimating() const {
  return std::any_of(views_.begin(), views_.end(), [](const auto& v) { return v->animating(); });
}

bool ImGuiWidget::event(QEvent* e) {
  if (input_) {
    if (e->type() == QEvent::ShortcutOverride) {
      ImGui::SetCurrentContext(context_);
      if (ImGui::GetIO().WantTextInput) {  // Ctrl+A/Z/C/V edit the text field, not the menus
        e->accept();
        return true;
      }
    }
    if (input_->handle(e)) requestFrames();
  }
  return QOpenGLWidget::event(e);
}

void ImGuiWidget::drawViews() {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0.0f);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.0f);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                 ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::Begin("##studio", nullptr, flags);
  if (views_.size() == 1) {
    views_.front()->draw();
  } else if (!views_.empty() && split_.size() == views_.size()) {
    const float total = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x * float(views_.size() - 1);
    for (size_t i = 0; i < views_.size(); ++i) {
      if (i > 0) ImGui::SameLine();
      const float w = i + 1 == views_.size() ? 0.0f : std::floor(total * split_[i]);
      ImGui::PushID(int(i));
      if (ImGui::BeginChild("##split", ImVec2(w, 0), false, ImGuiWindowFlags_NoScrollbar)) views_[i]->draw();
      ImGui::EndChild();
      ImGui::PopID();
    }
  } else if (!views_.empty() && ImGui::BeginTabBar("##views")) {
    for (auto& v : views_)
      if (ImGui::BeginTabItem(v->title())) {
        v->draw();
        ImGui::EndTabItem();
      }
    ImGui::EndTabBar();
  }
  ImGui::End();
  ImGui::PopStyleVar(2);
  if (showMetrics_) ImGui::ShowMetricsWindow(&showMetrics_);
}

void ImGuiWidget::paintGL() {
  if (!backendReady_) return;
  QElapsedTimer frameClock;
  frameClock.start();
  ImGui::SetCurrentContext(context_);
  setCurrentGlGeneration(glGeneration_);
  ImGuiIO& io = ImGui::GetIO();
  const float dpr = float(devicePixelRatioF());
  if (dpr != fontDpr_ || uiScale_ != fontScale_) {
    if (uiScale_ != fontScale_) applyStudioStyle(uiScale_);
    loadFonts(dpr, uiScale_);
    ImGui_ImplOpenGL3_DestroyDeviceObjects();  // NewFrame() re-creates them with the new font texture
    fontDpr_ = dpr;
    fontScale_ = uiScale_;
  }
  io.DisplaySize = ImVec2(float(width()), float(height()));
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);
  io.DeltaTime = std::max(float(clock_.restart()) / 1000.0f, 1.0f / 1000.0f);

  ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
  input_->afterNewFrame();
  drawViews();
  ImGui::Render();

  QOpenGLFunctions* gl = context()->functions();
  const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
  gl->glViewport(0, 0, int(float(width()) * dpr), int(float(height()) * dpr));
  gl->glClearColor(bg.x, bg.y, bg.z, 1.0f);
  gl->glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  if (finishFrames_) gl->glFinish();
  if (captureSvg_)
    svg_ = drawDataToSvg(ImGui::GetDrawData(), io.Fonts, QSizeF(width(), height()), ImGui::GetColorU32(ImGuiCol_WindowBg));
  input_->updateCursor(this);
  setCurrentGlGeneration(-1);
  lastFrameMs_ = double(frameClock.nsecsElapsed()) * 1e-6;

  ++frameCount_;
  if (framesLeft_ > 0) --framesLeft_;
  if (framesLeft_ > 0 || needsInputFrames()) {
    frameTimer_.setInterval(16);
    if (!frameTimer_.isActive()) frameTimer_.start();
  } else if (viewsAnimating()) {
    // Progress bars and spinners need no 60 fps: 10 frames a second leave the CPU to the engine.
    frameTimer_.setInterval(100);
    if (!frameTimer_.isActive()) frameTimer_.start();
  } else {
    frameTimer_.stop();
  }
  emit frameRendered();
}

}  // namespace bb::ui
