#include "engine/backend/vulkan/vk_runtime.h"

#include <chrono>
#include <map>
#include <mutex>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_pipelines.h"
#include "engine/backend/vulkan/vk_stream.h"

namespace bb::vk {

namespace {

struct Entry {
  std::shared_ptr<Device> device;
  std::string failure;
  SelfTestReport report;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, Entry>& registry() {
  static auto* r = new std::map<std::string, Entry>();  // never destroyed: devices outlive static teardown order
  return *r;
}

std::string key_of(const DeviceOptions& o) {
  return o.device + "|" + (o.allow_cpu_device ? "cpu" : "gpu") + "|" + (o.validation ? "v" : "") + "|" +
         std::to_string(o.max_binding_bytes) + "|" + std::to_string(o.max_allocation_bytes) + "|" +
         std::to_string(o.fault.allocation_limit) + o.fault.mismatch + (o.fault.device_lost ? "lost" : "") + "|" +
         o.pipeline_cache_dir + "|" + std::to_string(o.max_submit_seconds) + (o.map_device_memory ? "" : "|staging");
}

}  // namespace

SelfTestReport run_self_test(Device& device) {
  SelfTestReport r;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Stream s(device);
    r.checks = checks::self_test_suite(s, device.options().fault.mismatch);
    r.passed = true;
    for (const checks::Check& c : r.checks)
      if (!c.passed) {
        r.passed = false;
        r.failure = "self-test mismatch: " + c.line();
        break;
      }
  } catch (const VulkanError& e) {
    r.passed = false;
    r.failure = std::string("self-test failed: ") + e.what();
  }
  device.pipelines().save();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::shared_ptr<Device> acquire_device(const DeviceOptions& options, std::string* reason) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  Entry& e = registry()[key_of(options)];
  if (!e.device && e.failure.empty()) {
    try {
      auto device = std::make_shared<Device>(options);
      e.report = run_self_test(*device);
      if (e.report.passed)
        e.device = std::move(device);
      else
        e.failure = device->info().name + ": " + e.report.failure;
    } catch (const Error& err) {  // VulkanError, or a bad --device
      e.failure = err.what();
    }
  }
  if (!e.device && reason) *reason = e.failure;
  return e.device;
}

void report_device_failure(const std::shared_ptr<Device>& device, const std::string& reason) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (auto& [key, e] : registry())
    if (e.device == device) {
      e.device.reset();
      e.failure = reason;
    }
}

const SelfTestReport* self_test_report(const std::shared_ptr<Device>& device) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (auto& [key, e] : registry())
    if (e.device == device) return &e.report;
  return nullptr;
}

void release_devices() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry().clear();
}

}  // namespace bb::vk
