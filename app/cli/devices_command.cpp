// bigbird devices: the Vulkan devices this machine offers, with the properties that decide
// whether and how the backend uses them, and (--self-test) the kernel self-test of one of them.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/core/error.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird devices [--json] [--self-test] [--device SPEC] [--validate]

Lists the Vulkan devices (index, name, type, memory, subgroup size, fp16 support, the limits that
size the backend's buffers and dispatches) and which one `--backend vulkan` / `--backend auto`
would pick (auto never picks a CPU implementation such as lavapipe).
  --json           machine-readable output on stdout
  --self-test      run every kernel against the CPU ops on the chosen device (exit 1 on a mismatch)
  --device SPEC    the device for --self-test: an index or a name substring (default: best)
  --validate       enable the Khronos validation layers for --self-test)";

std::string bytes_text(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(b) / double(1ull << 30));
  else if (b >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.0f MiB", double(b) / double(1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0f KiB", double(b) / 1024.0);
  return buf;
}

nlohmann::json to_json(const vk::DeviceInfo& d) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const vk::MemoryHeapInfo& h : d.heaps) heaps.push_back({{"bytes", h.bytes}, {"device_local", h.device_local}});
  return {{"index", d.index},
          {"name", d.name},
          {"type", d.type},
          {"api_version", d.api_string()},
          {"driver", d.driver_name},
          {"driver_info", d.driver_info},
          {"vendor_id", d.vendor_id},
          {"device_id", d.device_id},
          {"memory_heaps", heaps},
          {"device_local_bytes", d.device_local_bytes},
          {"subgroup_size", d.subgroup_size},
          {"fp16_storage", d.fp16_storage},
          {"fp16_arithmetic", d.fp16_arithmetic},
          {"max_storage_buffer_range", d.max_storage_buffer_range},
          {"max_memory_allocation_size", d.max_memory_allocation_size},
          {"max_buffer_size", d.max_buffer_size},
          {"max_compute_shared_memory", d.max_shared_memory},
          {"max_workgroup_invocations", d.max_workgroup_invocations},
          {"max_push_constants", d.max_push_constants},
          {"timestamps", d.timestamps},
          {"usable", d.usable},
          {"unusable_reason", d.unusable_reason}};
}

int run_self_test(const Args& args, bool json) {
  vk::DeviceOptions o = vk::DeviceOptions::from_environment();
  o.device = args.get_or("device", o.device);
  o.validation = o.validation || args.has("validate");
  std::string reason;
  std::shared_ptr<vk::Device> device = vk::acquire_device(o, &reason);
  if (!device) {
    // acquire_device keeps only the verdict; rerun on a fresh device to show every check.
    try {
      vk::Device d(o);
      vk::SelfTestReport r = vk::run_self_test(d);
      for (const auto& c : r.checks) std::printf("%s\n", c.line().c_str());
    } catch (const Error&) {
    }
    std::fprintf(stderr, "bigbird devices: self-test failed: %s\n", reason.c_str());
    return 1;
  }
  const vk::SelfTestReport* r = vk::self_test_report(device);
  if (json) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r->checks)
      checks.push_back({{"kernel", c.kernel},
                        {"shape", c.shape},
                        {"error", c.error},
                        {"tolerance", c.tolerance},
                        {"passed", c.passed}});
    std::printf("%s\n", nlohmann::json{{"device", device->info().name},
                                       {"passed", r->passed},
                                       {"seconds", r->seconds},
                                       {"validation_errors", device->validation_errors()},
                                       {"checks", checks}}
                            .dump(1)
                            .c_str());
  } else {
    std::printf("self-test on %s:\n", device->info().name.c_str());
    for (const auto& c : r->checks) std::printf("  %s (%.3f s)\n", c.line().c_str(), c.seconds);
    std::printf("passed: %zu checks in %.2f s", r->checks.size(), r->seconds);
    if (o.validation) std::printf(", %d validation errors", device->validation_errors());
    std::printf("\n");
  }
  return device->validation_errors() == 0 ? 0 : 1;
}

int run_devices(const std::vector<std::string>& argv) {
  Args args(argv, {"device"}, {"json", "self-test", "validate"});
  const bool json = args.has("json");
  if (args.has("self-test")) return run_self_test(args, json);

  std::vector<vk::DeviceInfo> devices;
  try {
    devices = vk::list_devices();
  } catch (const vk::VulkanError& e) {
    if (json)
      std::printf("%s\n", nlohmann::json{{"devices", nlohmann::json::array()}, {"error", e.what()}}.dump(1).c_str());
    else
      std::printf("no Vulkan devices: %s\n", e.what());
    return 0;
  }
  auto pick = [&](bool allow_cpu) -> int {
    try {
      return vk::pick_device(devices, "", allow_cpu);
    } catch (const Error&) {
      return -1;
    }
  };
  const int for_vulkan = pick(true), for_auto = pick(false);
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : devices) list.push_back(to_json(d));
    std::printf(
        "%s\n",
        nlohmann::json{{"devices", list}, {"vulkan_pick", for_vulkan}, {"auto_pick", for_auto}}.dump(1).c_str());
    return 0;
  }
  if (devices.empty()) std::printf("no Vulkan devices\n");
  for (const auto& d : devices) {
    std::printf("%d: %s [%s]%s%s\n", d.index, d.name.c_str(), d.type.c_str(),
                d.index == for_vulkan ? "  <- --backend vulkan" : "", d.index == for_auto ? ", --backend auto" : "");
    std::printf("   Vulkan %s, driver %s %s, vendor 0x%04x device 0x%04x\n", d.api_string().c_str(),
                d.driver_name.empty() ? "?" : d.driver_name.c_str(), d.driver_info.c_str(), d.vendor_id, d.device_id);
    std::string heaps;
    for (const auto& h : d.heaps)
      heaps += (heaps.empty() ? "" : ", ") + bytes_text(h.bytes) + (h.device_local ? " device-local" : " host");
    std::printf("   memory: %s\n", heaps.c_str());
    std::printf("   subgroup %u, fp16 storage %s, fp16 arithmetic %s, timestamps %s\n", d.subgroup_size,
                d.fp16_storage ? "yes" : "no", d.fp16_arithmetic ? "yes" : "no", d.timestamps ? "yes" : "no");
    std::printf(
        "   limits: maxStorageBufferRange %s, maxMemoryAllocationSize %s, maxBufferSize %s, shared memory %s, "
        "workgroup invocations %u, push constants %u B\n",
        bytes_text(d.max_storage_buffer_range).c_str(), bytes_text(d.max_memory_allocation_size).c_str(),
        d.max_buffer_size ? bytes_text(d.max_buffer_size).c_str() : "n/a", bytes_text(d.max_shared_memory).c_str(),
        d.max_workgroup_invocations, d.max_push_constants);
    if (!d.usable) std::printf("   not usable: %s\n", d.unusable_reason.c_str());
  }
  if (!devices.empty() && for_auto < 0) std::printf("--backend auto runs on the CPU here (no usable Vulkan GPU)\n");
  return 0;
}

const Registrar reg{{"devices", "List Vulkan devices (memory, subgroup, fp16, limits); --self-test checks the kernels",
                     kUsage, run_devices}};

}  // namespace
}  // namespace bb::cli
