# Warnings for project code, architecture flags for the kernels, optional sanitizers.
set(BIGBIRD_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list (e.g. address,undefined)")

option(BIGBIRD_WERROR "Treat warnings in project code as errors (CI sets it through .ci/run)" OFF)

add_library(bigbird_warnings INTERFACE)
target_compile_options(bigbird_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(BIGBIRD_WERROR)
  target_compile_options(bigbird_warnings INTERFACE -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 false positive inside libstdc++'s inlined std::string operator+ at -O3 (GCC PR 105329).
    target_compile_options(bigbird_warnings INTERFACE -Wno-error=restrict)
  endif()
endif()

add_library(bigbird_arch INTERFACE)
# The kernels never read floating-point exception flags; without this gcc refuses to vectorise the
# float->int conversion inside fast::exp, and GELU/softmax run scalar.
target_compile_options(bigbird_arch INTERFACE -fno-trapping-math)
if(BIGBIRD_ARCH)
  target_compile_options(bigbird_arch INTERFACE -march=${BIGBIRD_ARCH})
endif()

if(BIGBIRD_SANITIZE)
  add_compile_options(-fsanitize=${BIGBIRD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BIGBIRD_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's flow analysis sees through the sanitizers' instrumentation and reports libstdc++'s own
    # std::function / <regex> internals as maybe-uninitialized (-O1 + ASan); the release build keeps the warning.
    target_compile_options(bigbird_warnings INTERFACE -Wno-maybe-uninitialized)
  endif()
  if(BIGBIRD_SANITIZE MATCHES "address")
    add_library(bigbird_keep_modules_loaded SHARED ${PROJECT_SOURCE_DIR}/tests/sanitizers/keep_modules_loaded.c)
    # Every target defined after this line links it; no-as-needed because nothing references it by name.
    link_libraries("-Wl,--push-state,--no-as-needed" bigbird_keep_modules_loaded "-Wl,--pop-state")
  endif()
endif()
