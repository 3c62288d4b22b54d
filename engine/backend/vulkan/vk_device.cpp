#include "engine/backend/vulkan/vk_device.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/backend/vulkan/vk_pipelines.h"

namespace bb::vk {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";
std::atomic<int> g_validation_messages{0};
constexpr uint64_t kSubmitTimeoutNs = 120ull * 1000 * 1000 * 1000;  // a stuck GPU, not a slow one

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A non-negative number from an environment variable or option; bb::Error names it otherwise.
double parse_number(const char* what, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0) || v > 1e18)
    throw Error(std::string(what) + ": '" + text + "' is not a non-negative number");
  return v;
}

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

std::vector<VkExtensionProperties> instance_extensions() {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> v(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, v.data());
  v.resize(n);
  return v;
}

void require_loader() {
  std::string reason;
  if (!load_loader(&reason)) throw VulkanError(reason, VK_ERROR_INITIALIZATION_FAILED);
}

// Creates an instance (Vulkan 1.1 or later, so properties2 and 16-bit storage are core).
VkInstance create_instance(bool validation, const VkDebugUtilsMessengerCreateInfoEXT* messenger_info) {
  require_loader();
  auto enumerate_version =
      reinterpret_cast<PFN_vkEnumerateInstanceVersion>(vkGetInstanceProcAddr(nullptr, "vkEnumerateInstanceVersion"));
  uint32_t loader_version = VK_API_VERSION_1_0;
  if (enumerate_version) enumerate_version(&loader_version);
  if (loader_version < VK_API_VERSION_1_1)
    throw VulkanError("the Vulkan loader is 1.0; the backend needs Vulkan 1.1", VK_ERROR_INCOMPATIBLE_DRIVER);

  auto app = make_struct<VkApplicationInfo>(VK_STRUCTURE_TYPE_APPLICATION_INFO);
  app.pApplicationName = "BigBird Studio";
  app.pEngineName = "bigbird";
  app.apiVersion = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

  std::vector<const char*> layers, extensions;
  const auto exts = instance_extensions();
  if (has_extension(exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME))
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
  if (validation) {
    if (!validation_layer_available())
      throw VulkanError(
          "validation requested but VK_LAYER_KHRONOS_validation is not installed (vulkan-validationlayers)",
          VK_ERROR_LAYER_NOT_PRESENT);
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  auto ci = make_struct<VkInstanceCreateInfo>(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  if (has_extension(exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME))
    ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  if (validation && messenger_info) ci.pNext = messenger_info;
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw VulkanError(
        "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER; install mesa-vulkan-drivers "
        "or a GPU driver)",
        r);
  check(r, "vkCreateInstance");
  load_instance_functions(instance);
  return instance;
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

int compute_queue_family(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fam(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fam.data());
  int any = -1;
  for (uint32_t i = 0; i < n; ++i) {
    if (!(fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    // A compute-only family is usually the async-compute queue: no graphics work competes with it.
    if (!(fam[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return int(i);
    if (any < 0) any = int(i);
  }
  return any;
}

DeviceInfo describe(VkPhysicalDevice pd, int index) {
  DeviceInfo d;
  d.index = index;
  VkPhysicalDeviceProperties base{};
  vkGetPhysicalDeviceProperties(pd, &base);
  d.api_version = base.apiVersion;
  d.name = base.deviceName;
  d.vk_type = base.deviceType;
  d.type = type_name(base.deviceType);
  d.driver_version = base.driverVersion;
  d.vendor_id = base.vendorID;
  d.device_id = base.deviceID;
  std::memcpy(d.pipeline_cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);
  const VkPhysicalDeviceLimits& lim = base.limits;
  d.max_storage_buffer_range = lim.maxStorageBufferRange;
  d.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
  d.max_shared_memory = lim.maxComputeSharedMemorySize;
  d.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  d.max_push_constants = lim.maxPushConstantsSize;
  for (int i = 0; i < 3; ++i) d.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
  d.timestamp_period_ns = lim.timestampPeriod;

  if (base.apiVersion < VK_API_VERSION_1_1) {
    d.unusable_reason = "Vulkan " + d.api_string() + " device (1.1 needed)";
    return d;
  }
  auto subgroup =
      make_struct<VkPhysicalDeviceSubgroupProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES);
  auto m3 =
      make_struct<VkPhysicalDeviceMaintenance3Properties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES);
  auto driver = make_struct<VkPhysicalDeviceDriverProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
  auto m4 =
      make_struct<VkPhysicalDeviceMaintenance4Properties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES);
  auto p2 = make_struct<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
  p2.pNext = &subgroup;
  subgroup.pNext = &m3;
  if (base.apiVersion >= VK_API_VERSION_1_2) m3.pNext = &driver;
  if (base.apiVersion >= VK_API_VERSION_1_3) driver.pNext = &m4;
  vkGetPhysicalDeviceProperties2(pd, &p2);
  d.subgroup_size = subgroup.subgroupSize;
  d.max_memory_allocation_size = m3.maxMemoryAllocationSize;
  if (base.apiVersion >= VK_API_VERSION_1_2) {
    d.driver_name = driver.driverName;
    d.driver_info = driver.driverInfo;
  }
  if (base.apiVersion >= VK_API_VERSION_1_3) d.max_buffer_size = m4.maxBufferSize;

  auto s16 =
      make_struct<VkPhysicalDevice16BitStorageFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES);
  auto f16 = make_struct<VkPhysicalDeviceShaderFloat16Int8Features>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES);
  auto f2 = make_struct<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2);
  f2.pNext = &s16;
  if (base.apiVersion >= VK_API_VERSION_1_2) s16.pNext = &f16;
  vkGetPhysicalDeviceFeatures2(pd, &f2);
  d.fp16_storage = s16.storageBuffer16BitAccess == VK_TRUE;
  d.fp16_arithmetic = base.apiVersion >= VK_API_VERSION_1_2 && f16.shaderFloat16 == VK_TRUE;

  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    const bool local = (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    d.heaps.push_back({mem.memoryHeaps[i].size, local});
    if (local) d.device_local_bytes += mem.memoryHeaps[i].size;
  }

  const int family = compute_queue_family(pd);
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fam(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fam.data());
  d.timestamps = family >= 0 && fam[size_t(family)].timestampValidBits > 0 && lim.timestampPeriod > 0;
  if (family < 0) {
    d.unusable_reason = "no compute queue";
    return d;
  }
  if (d.max_shared_memory < 16384) {
    d.unusable_reason =
        "only " + std::to_string(d.max_shared_memory) + " bytes of compute shared memory (16384 needed)";
    return d;
  }
  if (d.max_workgroup_invocations < 256 || d.max_push_constants < 128) {
    d.unusable_reason = "compute limits below the Vulkan minimums the kernels use";
    return d;
  }
  d.usable = true;
  return d;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/bigbird-studio/vulkan";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/bigbird-studio/vulkan";
  return "";
}

std::string cache_file_name(const DeviceInfo& d) {
  char head[96];
  std::snprintf(head, sizeof head, "pipelines-%04x-%04x-%08x-", d.vendor_id, d.device_id, d.driver_version);
  std::string name = head;
  for (uint8_t b : d.pipeline_cache_uuid) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    name += hex;
  }
  return name + ".bin";
}

}  // namespace

int DeviceInfo::rank() const {
  switch (vk_type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return 1;
    default:
      return 0;
  }
}

std::string DeviceInfo::api_string() const {
  return std::to_string(VK_API_VERSION_MAJOR(api_version)) + "." + std::to_string(VK_API_VERSION_MINOR(api_version)) +
         "." + std::to_string(VK_API_VERSION_PATCH(api_version));
}

Fault parse_fault(const std::string& spec) {
  Fault f;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t colon = item.find(':');
    const std::string key = item.substr(0, colon), arg = colon == std::string::npos ? "" : item.substr(colon + 1);
    if (key == "alloc") {
      f.allocation_limit = arg.empty() ? 0 : int64_t(parse_number("BIGBIRD_VK_FAULT=alloc:<bytes>", arg));
    } else if (key == "mismatch") {
      f.mismatch = arg.empty() ? "any" : arg;
    } else if (key == "lost") {
      f.device_lost = true;
    } else if (!key.empty()) {
      throw Error("BIGBIRD_VK_FAULT: unknown fault '" + key + "' (alloc[:bytes], mismatch[:kernel], lost)");
    }
    start = end + 1;
  }
  return f;
}

DeviceOptions DeviceOptions::from_environment() {
  DeviceOptions o;
  o.device = env_or("BIGBIRD_VK_DEVICE", "");
  o.validation = env_or("BIGBIRD_VK_VALIDATE", "0") == "1";
  o.fault = parse_fault(env_or("BIGBIRD_VK_FAULT", ""));
  o.pipeline_cache_dir = env_or("BIGBIRD_VK_PIPELINE_CACHE_DIR", "");
  const std::string ms = env_or("BIGBIRD_VK_MAX_SUBMIT_MS", "");
  if (!ms.empty()) o.max_submit_seconds = std::max(0.001, parse_number("BIGBIRD_VK_MAX_SUBMIT_MS", ms) / 1000.0);
  o.map_device_memory = env_or("BIGBIRD_VK_STAGING", "0") != "1";
  const std::string bind = env_or("BIGBIRD_VK_MAX_BINDING_BYTES", "");
  if (!bind.empty()) o.max_binding_bytes = uint64_t(parse_number("BIGBIRD_VK_MAX_BINDING_BYTES", bind));
  const std::string split = env_or("BIGBIRD_VK_SPLIT_BLOCKS", "");
  if (split == "off")
    o.split_blocks = UINT32_MAX;
  else if (!split.empty())
    o.split_blocks = uint32_t(std::clamp(parse_number("BIGBIRD_VK_SPLIT_BLOCKS", split), 0.0, 4294967295.0));
  return o;
}

int process_validation_messages() { return g_validation_messages.load(); }

bool validation_layer_available() {
  if (!load_loader(nullptr)) return false;
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (uint32_t i = 0; i < n; ++i)
    if (std::strcmp(layers[i].layerName, kValidationLayer) == 0) return true;
  return false;
}

std::vector<DeviceInfo> list_devices() {
  VkInstance instance = create_instance(false, nullptr);
  std::vector<DeviceInfo> out;
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(instance, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  if (r == VK_SUCCESS && n > 0) r = vkEnumeratePhysicalDevices(instance, &n, pds.data());
  if (r == VK_SUCCESS || r == VK_INCOMPLETE)
    for (uint32_t i = 0; i < n; ++i) out.push_back(describe(pds[i], int(i)));
  vkDestroyInstance(instance, nullptr);
  check(r == VK_INCOMPLETE ? VK_SUCCESS : r, "vkEnumeratePhysicalDevices");
  return out;
}

int pick_device(const std::vector<DeviceInfo>& devices, const std::string& spec, bool allow_cpu_device) {
  if (devices.empty()) throw VulkanError("no Vulkan device found", VK_ERROR_INITIALIZATION_FAILED);
  auto refuse = [&](const DeviceInfo& d) -> std::string {
    if (!d.usable) return d.unusable_reason;
    if (!allow_cpu_device && d.vk_type == VK_PHYSICAL_DEVICE_TYPE_CPU)
      return "a CPU implementation (slower than the engine's CPU path)";
    return "";
  };
  if (!spec.empty()) {
    int found = -1;
    const bool numeric = std::all_of(spec.begin(), spec.end(), [](char c) { return std::isdigit(uint8_t(c)); });
    if (numeric) {
      const double i = parse_number("--device", spec);
      if (i < double(devices.size())) found = int(i);
    } else {
      for (const DeviceInfo& d : devices)
        if (lower(d.name).find(lower(spec)) != std::string::npos) {
          found = d.index;
          break;
        }
    }
    if (found < 0) throw Error("--device " + spec + ": no such Vulkan device (see `bigbird devices`)");
    const std::string why = refuse(devices[size_t(found)]);
    if (!why.empty())
      throw VulkanError("device " + devices[size_t(found)].name + " cannot be used: " + why,
                        VK_ERROR_FEATURE_NOT_PRESENT);
    return found;
  }
  int best = -1;
  std::string why_none;
  for (const DeviceInfo& d : devices) {
    const std::string why = refuse(d);
    if (!why.empty()) {
      why_none = d.name + ": " + why;
      continue;
    }
    if (best < 0 || d.rank() > devices[size_t(best)].rank()) best = d.index;
  }
  if (best < 0) throw VulkanError("no usable Vulkan device (" + why_none + ")", VK_ERROR_FEATURE_NOT_PRESENT);
  return best;
}

VKAPI_ATTR VkBool32 VKAPI_CALL Device::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                  VkDebugUtilsMessageTypeFlagsEXT,
                                                  const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* self = static_cast<Device*>(user);
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    ++self->validation_errors_;
  } else if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    ++self->validation_warnings_;
  } else {
    return VK_FALSE;
  }
  ++g_validation_messages;
  const char* text = data && data->pMessage ? data->pMessage : "(no text)";
  std::fprintf(stderr, "bigbird: Vulkan validation: %s\n", text);
  std::lock_guard<std::mutex> lock(self->message_mutex_);
  self->last_message_ = text;
  return VK_FALSE;
}

std::string Device::last_validation_message() const {
  std::lock_guard<std::mutex> lock(message_mutex_);
  return last_message_;
}

Device::Device(const DeviceOptions& options) : options_(options) {
  auto mi = make_struct<VkDebugUtilsMessengerCreateInfoEXT>(VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT);
  mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mi.pfnUserCallback = &Device::on_message;
  mi.pUserData = this;
  instance_ = create_instance(options.validation, &mi);
  try {
    if (options.validation && vkCreateDebugUtilsMessengerEXT)
      check(vkCreateDebugUtilsMessengerEXT(instance_, &mi, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");

    uint32_t n = 0;
    check(vkEnumeratePhysicalDevices(instance_, &n, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> pds(n);
    if (n) check(vkEnumeratePhysicalDevices(instance_, &n, pds.data()), "vkEnumeratePhysicalDevices");
    std::vector<DeviceInfo> infos;
    for (uint32_t i = 0; i < n; ++i) infos.push_back(describe(pds[i], int(i)));
    const int chosen = pick_device(infos, options.device, options.allow_cpu_device);
    physical_ = pds[size_t(chosen)];
    info_ = infos[size_t(chosen)];
    queue_family_ = uint32_t(compute_queue_family(physical_));

    const float priority = 1.0f;
    auto qi = make_struct<VkDeviceQueueCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
    qi.queueFamilyIndex = queue_family_;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    auto s16 =
        make_struct<VkPhysicalDevice16BitStorageFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES);
    s16.storageBuffer16BitAccess = info_.fp16_storage ? VK_TRUE : VK_FALSE;
    auto di = make_struct<VkDeviceCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO);
    di.pNext = &s16;
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    std::vector<const char*> extensions;
    {
      uint32_t en = 0;
      vkEnumerateDeviceExtensionProperties(physical_, nullptr, &en, nullptr);
      std::vector<VkExtensionProperties> exts(en);
      vkEnumerateDeviceExtensionProperties(physical_, nullptr, &en, exts.data());
      exts.resize(en);
      // A portability (MoltenVK-style) implementation must have its subset extension enabled.
      if (has_extension(exts, "VK_KHR_portability_subset")) extensions.push_back("VK_KHR_portability_subset");
    }
    di.enabledExtensionCount = uint32_t(extensions.size());
    di.ppEnabledExtensionNames = extensions.data();
    check(vkCreateDevice(physical_, &di, nullptr, &device_), "vkCreateDevice");
    fp16_storage_enabled_ = info_.fp16_storage;
    // Starting guess of sustained fp32 throughput, corrected by every long submission.
    switch (info_.vk_type) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        flops_per_second_ = 2e12;
        break;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        flops_per_second_ = 2e11;
        break;
      case VK_PHYSICAL_DEVICE_TYPE_CPU:
        flops_per_second_ = 1e9;
        break;
      default:
        flops_per_second_ = 1e11;
        break;
    }
    vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

    max_binding_bytes_ = info_.max_storage_buffer_range;
    if (options.max_binding_bytes) max_binding_bytes_ = std::min(max_binding_bytes_, options.max_binding_bytes);
    uint64_t max_alloc = info_.max_memory_allocation_size ? info_.max_memory_allocation_size : (1ull << 30);
    if (options.max_allocation_bytes) max_alloc = std::min(max_alloc, options.max_allocation_bytes);
    if (info_.max_buffer_size) max_alloc = std::min(max_alloc, info_.max_buffer_size);

    VkPhysicalDeviceMemoryProperties mem{};
    vkGetPhysicalDeviceMemoryProperties(physical_, &mem);
    // Integrated GPUs and CPU implementations share memory with the host: map device memory directly.
    const bool unified =
        info_.vk_type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || info_.vk_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    allocator_ = std::make_unique<Allocator>(*this, mem, max_alloc, unified);

    std::string cache_path;
    std::string dir = options.pipeline_cache_dir.empty() ? default_cache_dir() : options.pipeline_cache_dir;
    if (dir != "none" && !dir.empty()) cache_path = dir + "/" + cache_file_name(info_);
    pipelines_ = std::make_unique<Pipelines>(*this, cache_path);
  } catch (...) {
    pipelines_.reset();
    allocator_.reset();
    if (device_) vkDestroyDevice(device_, nullptr);
    if (messenger_) vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
    vkDestroyInstance(instance_, nullptr);
    throw;
  }
}

Device::~Device() {
  if (device_ && !lost()) vkDeviceWaitIdle(device_);
  pipelines_.reset();
  allocator_.reset();
  if (device_) vkDestroyDevice(device_, nullptr);
  if (messenger_) vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

void Device::record_throughput(double flops, double seconds) {
  // Only submissions long enough to be dominated by arithmetic say anything about throughput.
  if (seconds < 0.02 || flops <= 0) return;
  const double measured = flops / seconds, old = flops_per_second_.load();
  flops_per_second_.store(measured < old ? measured : 0.5 * (old + measured));
}

void Device::submit_and_wait(VkCommandBuffer cmd, VkFence fence, const char* what) {
  if (lost()) throw VulkanError(std::string(what) + ": the device was lost earlier", VK_ERROR_DEVICE_LOST);
  if (options_.fault.device_lost) {
    mark_lost();
    throw VulkanError(std::string(what) + ": VK_ERROR_DEVICE_LOST (forced by BIGBIRD_VK_FAULT)", VK_ERROR_DEVICE_LOST);
  }
  auto si = make_struct<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  check(vkResetFences(device_, 1, &fence), "vkResetFences");
  VkResult r;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    r = vkQueueSubmit(queue_, 1, &si, fence);
  }
  if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &fence, VK_TRUE, kSubmitTimeoutNs);
  if (r == VK_ERROR_DEVICE_LOST || r == VK_TIMEOUT) mark_lost();
  if (r == VK_TIMEOUT)
    throw VulkanError(std::string(what) + ": the GPU did not finish within 120 s", VK_ERROR_DEVICE_LOST);
  check(r, what);
}

}  // namespace bb::vk
