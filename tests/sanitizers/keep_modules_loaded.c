// Linked into every executable of an AddressSanitizer build (cmake/CompilerFlags.cmake), never into
// a release. Mesa's GL and Vulkan drivers are dlopen()ed by the GL / Vulkan loaders and dlclose()d
// before exit, so LeakSanitizer's end-of-process report shows the drivers' process-lifetime
// allocations as "<unknown module>" frames (or attributes them to whatever library was mapped at
// the same address later) and no suppression can name them. Keeping every module mapped makes the
// report name the driver, which tests/sanitizers/lsan.supp then suppresses by library.
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
