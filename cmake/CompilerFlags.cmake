# Warnings for project code, architecture flags for the kernels, optional sanitizers.
set(BIGBIRD_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list (e.g. address,undefined)")

add_library(bigbird_warnings INTERFACE)
target_compile_options(bigbird_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

add_library(bigbird_arch INTERFACE)
if(BIGBIRD_ARCH)
  target_compile_options(bigbird_arch INTERFACE -march=${BIGBIRD_ARCH})
endif()

if(BIGBIRD_SANITIZE)
  add_compile_options(-fsanitize=${BIGBIRD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BIGBIRD_SANITIZE})
endif()
