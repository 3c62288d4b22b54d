#include "engine/backend/vulkan/vk_pipelines.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"
#include "engine/io/atomic_file.h"
#include "shaders/shader_library.h"

namespace bb::vk {

namespace {

// Accepts a cache blob only if its header names this device (drivers should check too; some don't).
bool header_matches(const std::vector<uint8_t>& blob, const DeviceInfo& info) {
  if (blob.size() < 32) return false;
  uint32_t header_size, version, vendor, device;
  std::memcpy(&header_size, blob.data(), 4);
  std::memcpy(&version, blob.data() + 4, 4);
  std::memcpy(&vendor, blob.data() + 8, 4);
  std::memcpy(&device, blob.data() + 12, 4);
  return header_size >= 32 && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && vendor == info.vendor_id &&
         device == info.device_id && std::memcmp(blob.data() + 16, info.pipeline_cache_uuid, VK_UUID_SIZE) == 0;
}

}  // namespace

Pipelines::Pipelines(Device& device, std::string cache_path) : device_(device), cache_path_(std::move(cache_path)) {
  std::vector<uint8_t> blob;
  if (!cache_path_.empty()) {
    std::ifstream f(cache_path_, std::ios::binary);
    if (f) blob.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (!header_matches(blob, device.info())) blob.clear();
  }
  auto ci = make_struct<VkPipelineCacheCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO);
  ci.initialDataSize = blob.size();
  ci.pInitialData = blob.empty() ? nullptr : blob.data();
  if (vkCreatePipelineCache(device.handle(), &ci, nullptr, &cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;  // a corrupt file must not stop the backend
    ci.pInitialData = nullptr;
    check(vkCreatePipelineCache(device.handle(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
  } else {
    cache_loaded_ = !blob.empty();
  }
  saved_size_ = blob.size();
}

Pipelines::~Pipelines() {
  save();
  VkDevice dev = device_.handle();
  for (auto& [key, p] : pipelines_) {
    vkDestroyPipeline(dev, p->pipeline, nullptr);
    vkDestroyPipelineLayout(dev, p->layout, nullptr);
    vkDestroyDescriptorSetLayout(dev, p->set_layout, nullptr);
  }
  for (auto& [name, m] : modules_) vkDestroyShaderModule(dev, m, nullptr);
  if (cache_) vkDestroyPipelineCache(dev, cache_, nullptr);
}

int Pipelines::created() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return int(pipelines_.size());
}

const Pipeline& Pipelines::get(const KernelLayout& kernel, const std::vector<uint32_t>& spec) {
  std::string key = kernel.name;
  for (uint32_t v : spec) {
    key += ':';
    key += std::to_string(v);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  VkDevice dev = device_.handle();
  VkShaderModule& module = modules_[kernel.name];
  if (!module) {
    const shaders::Blob* blob = shaders::find(kernel.name);
    if (!blob)
      throw VulkanError(std::string("no embedded SPIR-V for kernel ") + kernel.name, VK_ERROR_INITIALIZATION_FAILED);
    auto mi = make_struct<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
    mi.codeSize = blob->word_count * sizeof(uint32_t);
    mi.pCode = blob->words;
    const VkResult r = vkCreateShaderModule(dev, &mi, nullptr, &module);
    if (r != VK_SUCCESS) {
      modules_.erase(kernel.name);
      check(r, "vkCreateShaderModule");
    }
  }

  auto p = std::make_unique<Pipeline>();
  p->name = kernel.name;
  p->bindings = kernel.bindings;
  p->push_bytes = kernel.push_bytes;
  try {
    std::vector<VkDescriptorSetLayoutBinding> binds(kernel.bindings);
    for (uint32_t i = 0; i < kernel.bindings; ++i) {
      binds[i].binding = i;
      binds[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      binds[i].descriptorCount = 1;
      binds[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    auto li = make_struct<VkDescriptorSetLayoutCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
    li.bindingCount = kernel.bindings;
    li.pBindings = binds.data();
    check(vkCreateDescriptorSetLayout(dev, &li, nullptr, &p->set_layout), "vkCreateDescriptorSetLayout");
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kernel.push_bytes};
    auto pl = make_struct<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &p->set_layout;
    pl.pushConstantRangeCount = kernel.push_bytes ? 1 : 0;
    pl.pPushConstantRanges = &range;
    check(vkCreatePipelineLayout(dev, &pl, nullptr, &p->layout), "vkCreatePipelineLayout");

    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (size_t i = 0; i < spec.size(); ++i) entries[i] = {uint32_t(i), uint32_t(i * 4), 4};
    VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};
    auto ci = make_struct<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
    ci.layout = p->layout;
    check(vkCreateComputePipelines(dev, cache_, 1, &ci, nullptr, &p->pipeline),
          ("vkCreateComputePipelines(" + key + ")").c_str());
  } catch (...) {
    if (p->layout) vkDestroyPipelineLayout(dev, p->layout, nullptr);
    if (p->set_layout) vkDestroyDescriptorSetLayout(dev, p->set_layout, nullptr);
    throw;
  }
  const Pipeline& ref = *p;
  pipelines_[key] = std::move(p);
  return ref;
}

void Pipelines::save() noexcept {
  if (cache_path_.empty() || !cache_) return;
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t size = 0;
    if (vkGetPipelineCacheData(device_.handle(), cache_, &size, nullptr) != VK_SUCCESS || size == 0 ||
        size == saved_size_)
      return;
    std::vector<uint8_t> data(size);
    if (vkGetPipelineCacheData(device_.handle(), cache_, &size, data.data()) != VK_SUCCESS) return;
    data.resize(size);
    std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path());
    io::write_file_atomic(cache_path_, std::span<const uint8_t>(data.data(), data.size()));
    saved_size_ = size;
  } catch (...) {
  }
}

}  // namespace bb::vk
