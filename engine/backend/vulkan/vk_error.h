#pragma once
// Vulkan failures as one exception type. The backend catches VulkanError (and only it) to fall
// back to the CPU; any other bb::Error (bad input, a cancelled pass) propagates unchanged.
#include <string>

#include "engine/backend/vulkan/vk_loader.h"
#include "engine/core/error.h"

namespace bb::vk {

class VulkanError : public Error {
 public:
  VulkanError(const std::string& message, VkResult result) : Error(message), result_(result) {}
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

const char* result_name(VkResult r);

// Throws VulkanError("<what>: VK_ERROR_...") unless r is VK_SUCCESS.
inline void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw VulkanError(std::string(what) + ": " + result_name(r), r);
}

}  // namespace bb::vk
