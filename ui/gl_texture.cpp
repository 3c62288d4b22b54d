#include "ui/gl_texture.h"

#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <map>
#include <utility>

namespace bb::ui {

namespace {

int g_current = -1;
int g_next = 0;
std::map<std::pair<int, unsigned int>, const QImage*>& registry() {
  static std::map<std::pair<int, unsigned int>, const QImage*> r;
  return r;
}

QOpenGLFunctions* gl() {
  QOpenGLContext* ctx = QOpenGLContext::currentContext();
  return ctx ? ctx->functions() : nullptr;
}

}  // namespace

void setCurrentGlGeneration(int generation) { g_current = generation; }
int currentGlGeneration() { return g_current; }
int newGlGeneration() { return g_next++; }

GlTexture::~GlTexture() { release(); }

void GlTexture::release() {
  if (name_ == 0) return;
  registry().erase({generation_, name_});
  // Delete only in the context that created it; a destroyed context took its textures with it.
  if (generation_ == g_current)
    if (QOpenGLFunctions* f = gl()) f->glDeleteTextures(1, &name_);
  name_ = 0;
  generation_ = -1;
}

void GlTexture::setImage(const QImage& image, bool smooth) {
  image_ = image.convertToFormat(QImage::Format_RGBA8888);
  smooth_ = smooth;
  dirty_ = true;
}

ImTextureID GlTexture::id() {
  if (image_.isNull() || g_current < 0) return nullptr;
  QOpenGLFunctions* f = gl();
  if (!f) return nullptr;
  if (generation_ != g_current) {
    if (name_ != 0) registry().erase({generation_, name_});
    name_ = 0;  // created by another (possibly destroyed) context
    dirty_ = true;
  }
  if (name_ == 0) {
    f->glGenTextures(1, &name_);
    generation_ = g_current;
  }
  if (dirty_) {
    f->glBindTexture(GL_TEXTURE_2D, name_);
    const GLint filter = smooth_ ? GL_LINEAR : GL_NEAREST;
    f->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    f->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
    f->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    f->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    f->glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    f->glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, image_.width(), image_.height(), 0, GL_RGBA, GL_UNSIGNED_BYTE,
                    image_.constBits());
    dirty_ = false;
    registry()[{generation_, name_}] = &image_;
  }
  return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(name_));
}

const QImage* textureImage(ImTextureID id) {
  const auto it = registry().find({g_current, unsigned(reinterpret_cast<intptr_t>(id))});
  return it == registry().end() ? nullptr : it->second;
}

}  // namespace bb::ui
