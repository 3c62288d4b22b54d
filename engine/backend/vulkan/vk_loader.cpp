#include "engine/backend/vulkan/vk_loader.h"

#include <dlfcn.h>

#include <mutex>

#include "engine/backend/vulkan/vk_error.h"

namespace bb::vk {

#define BB_VK_DEFINE(name) PFN_##name name = nullptr;
BB_VK_DEFINE(vkGetInstanceProcAddr)
BB_VK_GLOBAL_FUNCTIONS(BB_VK_DEFINE)
BB_VK_INSTANCE_FUNCTIONS(BB_VK_DEFINE)
BB_VK_OPTIONAL_INSTANCE_FUNCTIONS(BB_VK_DEFINE)
#undef BB_VK_DEFINE

bool load_loader(std::string* reason) {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    void* lib = nullptr;
    for (const char* name : {"libvulkan.so.1", "libvulkan.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    if (!lib) {
      failure = "no Vulkan loader (libvulkan.so.1) installed";
      return;
    }
    vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
    if (!vkGetInstanceProcAddr) {
      failure = "libvulkan.so.1 has no vkGetInstanceProcAddr";
      return;
    }
#define BB_VK_LOAD_GLOBAL(name) name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(nullptr, #name));
    BB_VK_GLOBAL_FUNCTIONS(BB_VK_LOAD_GLOBAL)
#undef BB_VK_LOAD_GLOBAL
    if (!vkCreateInstance || !vkEnumerateInstanceExtensionProperties || !vkEnumerateInstanceLayerProperties)
      failure = "the Vulkan loader lacks the global entry points";
  });
  if (!failure.empty() && reason) *reason = failure;
  return failure.empty();
}

void load_instance_functions(VkInstance instance) {
#define BB_VK_LOAD(name)                                                       \
  name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(instance, #name)); \
  if (!name)                                                                   \
    throw VulkanError(std::string("the Vulkan driver does not provide ") + #name, VK_ERROR_INITIALIZATION_FAILED);
  BB_VK_INSTANCE_FUNCTIONS(BB_VK_LOAD)
#undef BB_VK_LOAD
#define BB_VK_LOAD_OPTIONAL(name) name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(instance, #name));
  BB_VK_OPTIONAL_INSTANCE_FUNCTIONS(BB_VK_LOAD_OPTIONAL)
#undef BB_VK_LOAD_OPTIONAL
}

}  // namespace bb::vk
