#pragma once
// The Vulkan API without linking libvulkan: the loader is dlopen'ed on first use, so a machine
// without Vulkan still runs everything on the CPU (the backend reports "no Vulkan loader").
// Every file of the backend includes Vulkan through this header only; the entry points live in
// namespace bb::vk, so they never clash with a libvulkan that another part of the program links.
#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include <string>

namespace bb::vk {

#define BB_VK_GLOBAL_FUNCTIONS(X)           \
  X(vkCreateInstance)                       \
  X(vkEnumerateInstanceExtensionProperties) \
  X(vkEnumerateInstanceLayerProperties)

#define BB_VK_INSTANCE_FUNCTIONS(X)           \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceProperties2)           \
  X(vkGetPhysicalDeviceFeatures2)             \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkCreateDevice)                           \
  X(vkDestroyDevice)                          \
  X(vkGetDeviceQueue)                         \
  X(vkCreateCommandPool)                      \
  X(vkDestroyCommandPool)                     \
  X(vkAllocateCommandBuffers)                 \
  X(vkFreeCommandBuffers)                     \
  X(vkBeginCommandBuffer)                     \
  X(vkEndCommandBuffer)                       \
  X(vkResetCommandBuffer)                     \
  X(vkQueueSubmit)                            \
  X(vkDeviceWaitIdle)                         \
  X(vkCreateFence)                            \
  X(vkDestroyFence)                           \
  X(vkWaitForFences)                          \
  X(vkResetFences)                            \
  X(vkCreateBuffer)                           \
  X(vkDestroyBuffer)                          \
  X(vkGetBufferMemoryRequirements)            \
  X(vkAllocateMemory)                         \
  X(vkFreeMemory)                             \
  X(vkBindBufferMemory)                       \
  X(vkMapMemory)                              \
  X(vkUnmapMemory)                            \
  X(vkCreateShaderModule)                     \
  X(vkDestroyShaderModule)                    \
  X(vkCreateDescriptorSetLayout)              \
  X(vkDestroyDescriptorSetLayout)             \
  X(vkCreatePipelineLayout)                   \
  X(vkDestroyPipelineLayout)                  \
  X(vkCreateComputePipelines)                 \
  X(vkDestroyPipeline)                        \
  X(vkCreatePipelineCache)                    \
  X(vkDestroyPipelineCache)                   \
  X(vkGetPipelineCacheData)                   \
  X(vkCreateDescriptorPool)                   \
  X(vkDestroyDescriptorPool)                  \
  X(vkResetDescriptorPool)                    \
  X(vkAllocateDescriptorSets)                 \
  X(vkUpdateDescriptorSets)                   \
  X(vkCmdBindPipeline)                        \
  X(vkCmdBindDescriptorSets)                  \
  X(vkCmdPushConstants)                       \
  X(vkCmdDispatch)                            \
  X(vkCmdPipelineBarrier)                     \
  X(vkCmdCopyBuffer)                          \
  X(vkCmdFillBuffer)                          \
  X(vkCreateQueryPool)                        \
  X(vkDestroyQueryPool)                       \
  X(vkCmdResetQueryPool)                      \
  X(vkCmdWriteTimestamp)                      \
  X(vkGetQueryPoolResults)

// Optional (absent without VK_EXT_debug_utils): null when not provided.
#define BB_VK_OPTIONAL_INSTANCE_FUNCTIONS(X) \
  X(vkCreateDebugUtilsMessengerEXT)          \
  X(vkDestroyDebugUtilsMessengerEXT)

#define BB_VK_DECLARE(name) extern PFN_##name name;
BB_VK_DECLARE(vkGetInstanceProcAddr)
BB_VK_GLOBAL_FUNCTIONS(BB_VK_DECLARE)
BB_VK_INSTANCE_FUNCTIONS(BB_VK_DECLARE)
BB_VK_OPTIONAL_INSTANCE_FUNCTIONS(BB_VK_DECLARE)
#undef BB_VK_DECLARE

// A zero-initialised Vulkan struct with its sType set (avoids partial aggregate initialisers).
template <typename T>
T make_struct(VkStructureType type) {
  T s{};
  s.sType = type;
  return s;
}

// Opens the Vulkan loader once per process. False (with the reason) when it is not installed.
bool load_loader(std::string* reason);
// Resolves the instance- and device-level entry points through `instance` (loader trampolines,
// valid for every device of every instance). Throws VulkanError when a required one is missing.
void load_instance_functions(VkInstance instance);

}  // namespace bb::vk
