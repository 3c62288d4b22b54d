#pragma once
// A QOpenGLWidget that owns one Dear ImGui context and draws a list of views with the
// imgui_impl_opengl3 backend. Frames are rendered on demand: after input, while a mouse button or
// text field is active, or while a view animates; otherwise the widget sleeps.
// Every frame can also be captured as SVG (the draw lists converted to vector shapes and text).
#include <QElapsedTimer>
#include <QOpenGLWidget>
#include <QSurfaceFormat>
#include <QTimer>
#include <memory>
#include <string>
#include <vector>

struct ImGuiContext;
class QWindow;

namespace bb::ui {

class ImGuiQtInput;

// One panel of ImGui content. draw() runs between Begin/End of a window the widget owns, so it
// only emits widgets; the widget decides where the panel goes (full area, tabs, or side by side).
class ImGuiView {
 public:
  virtual ~ImGuiView() = default;
  virtual const char* title() const = 0;
  virtual void draw() = 0;
  // True while the view needs frames without input (progress, animation).
  virtual bool animating() const { return false; }
  // A file-name stem for exports ("pattern", "document-attention", ...).
  virtual std::string exportName() const { return "view"; }
  // The numbers behind the view (File > Export data); empty when there are none right now.
  virtual std::string exportCsv() const { return {}; }
  virtual std::string exportJson() const { return {}; }
};

class ImGuiWidget : public QOpenGLWidget {
  Q_OBJECT

 public:
  explicit ImGuiWidget(QWidget* parent = nullptr);
  ~ImGuiWidget() override;

  // The format every GL surface of the app uses (3.3 core). Set it as the default before
  // constructing QApplication.
  static QSurfaceFormat surfaceFormat();
  // False on platforms where QOpenGLWidget cannot work (e.g. QT_QPA_PLATFORM=offscreen, where
  // Qt 6.4 crashes) or when no GL 3.3 context can be created.
  static bool openGLAvailable(QString* why = nullptr);

  template <class View, class... Args>
  View* addView(Args&&... args) {
    auto view = std::make_unique<View>(std::forward<Args>(args)...);
    View* raw = view.get();
    views_.push_back(std::move(view));
    requestFrames();
    return raw;
  }
  int viewCount() const { return int(views_.size()); }
  ImGuiView* view(int i) const { return views_.at(size_t(i)).get(); }

  // Several views side by side with these width fractions (instead of one tab per view).
  void setSplit(std::vector<float> fractions);

  // Interface scale on top of the device pixel ratio (fonts and spacing), e.g. 1.25.
  void setUiScale(float scale);
  float uiScale() const { return uiScale_; }

  void setShowMetrics(bool show);
  QString rendererName() const { return renderer_; }
  int frameCount() const { return frameCount_; }
  bool isIdle() const { return !frameTimer_.isActive(); }
  // CPU time of the last paintGL (ImGui frame + GL submission), in milliseconds.
  double lastFrameMs() const { return lastFrameMs_; }
  // Benchmarks: end every frame with glFinish so lastFrameMs() includes the GL work.
  void setFinishFrames(bool on) { finishFrames_ = on; }

  // Keep rendering for at least n more frames.
  void requestFrames(int n = kFramesAfterInput);

  // Renders frames (like grabFramebuffer) and returns the last one as an SVG document.
  std::string grabSvg();

 signals:
  void glInitialized(const QString& renderer);
  void frameRendered();

 protected:
  void initializeGL() override;
  void paintGL() override;
  void resizeGL(int w, int h) override;
  bool event(QEvent* e) override;
  void showEvent(QShowEvent* e) override;
  void hideEvent(QHideEvent* e) override;
  bool focusNextPrevChild(bool) override { return false; }  // Tab belongs to ImGui

 private:
  static constexpr int kFramesAfterInput = 6;
  void shutdownBackend();
  void drawViews();
  bool needsInputFrames() const;
  bool viewsAnimating() const;

  ImGuiContext* context_ = nullptr;
  std::unique_ptr<ImGuiQtInput> input_;
  std::vector<std::unique_ptr<ImGuiView>> views_;
  std::vector<float> split_;
  bool backendReady_ = false;
  int glGeneration_ = -1;
  float fontDpr_ = 0.0f;
  float fontScale_ = 0.0f;
  float uiScale_ = 1.0f;
  bool showMetrics_ = false;
  bool captureSvg_ = false;
  bool finishFrames_ = false;
  std::string svg_;
  int framesLeft_ = 0;
  int frameCount_ = 0;
  double lastFrameMs_ = 0;
  QTimer frameTimer_;
  QElapsedTimer clock_;
  QString renderer_;
  QWindow* screenWindow_ = nullptr;  // the top-level window whose screen changes we follow
  QMetaObject::Connection screenConnection_;
};

}  // namespace bb::ui
