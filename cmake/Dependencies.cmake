# Every third-party dependency comes from Debian 12 packages (see scripts/install-deps).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc)
find_package(ZLIB REQUIRED)
# Checkpoint I/O: snappy blocks in TF indexes, the hub client (cpp-httplib + OpenSSL), sha256/sha1.
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)

if(BIGBIRD_BUILD_GUI)
  find_package(Qt6 6.4 REQUIRED COMPONENTS Core Gui Widgets OpenGL OpenGLWidgets Test)
  find_package(Vulkan REQUIRED)
  pkg_check_modules(IMGUI_PC REQUIRED imgui)
  # PDF text extraction in the Documents panel.
  pkg_check_modules(POPPLER_QT6 REQUIRED IMPORTED_TARGET poppler-qt6)
  find_library(IMGUI_STATIC_LIB NAMES libimgui.a REQUIRED HINTS ${IMGUI_PC_LIBRARY_DIRS})
  find_library(STB_LIB NAMES stb REQUIRED)
  # libimgui.a (Debian 1.86) has no CMake config. A STATIC IMPORTED target keeps its own
  # dependencies after it on the link line, which the bundled backends need.
  add_library(imgui::imgui STATIC IMPORTED)
  set_target_properties(imgui::imgui PROPERTIES
    IMPORTED_LOCATION ${IMGUI_STATIC_LIB}
    INTERFACE_INCLUDE_DIRECTORIES "${IMGUI_PC_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${STB_LIB};Vulkan::Vulkan;${CMAKE_DL_LIBS}")
endif()

if(BIGBIRD_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
