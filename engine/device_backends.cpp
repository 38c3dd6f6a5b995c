// Which kernel table serves a device: the CPU backend (fast or reference kernels), or the CUDA
// plugin, found and loaded with dlopen on first use. Also the one thread knob. See
// docs/backends.md.
#include "engine/device_backends.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

#include "engine/cpu/allocator.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/error.hpp"

#ifndef HEED_INSTALL_LIBDIR
#define HEED_INSTALL_LIBDIR "/usr/local/lib"
#endif

namespace heed {

namespace {

thread_local bool use_reference_kernels = false;
constexpr const char* kCudaPluginName = "libheed-cuda.so";

// Where the plugin may be, in order: every directory in HEED_BACKEND_PATH (an explicit choice
// wins), beside the running program, beside libheed_engine itself (in a build tree the plugin is
// built next to it), and heed's install libdir.
std::vector<std::filesystem::path> cuda_plugin_directories() {
  std::vector<std::filesystem::path> directories;
  if (const char* extra = std::getenv("HEED_BACKEND_PATH")) {
    std::stringstream paths(extra);
    std::string directory;
    while (std::getline(paths, directory, ':')) {
      if (!directory.empty()) directories.emplace_back(directory);
    }
  }
  std::error_code error;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) directories.push_back(executable.parent_path());
  Dl_info engine{};
  if (dladdr(reinterpret_cast<void*>(&cuda_plugin_directories), &engine) != 0 &&
      engine.dli_fname != nullptr) {
    const auto here =
        std::filesystem::absolute(engine.dli_fname, error).lexically_normal().parent_path();
    if (!error && std::find(directories.begin(), directories.end(), here) == directories.end()) {
      directories.push_back(here);
    }
  }
  directories.emplace_back(HEED_INSTALL_LIBDIR);
  return directories;
}

// Finds, opens and initialises the CUDA plugin; throws heed::Error saying what failed.
// The entries a plugin left empty ("" when none): each would be a null call later, so the loader
// refuses such a table at once, naming them. The optional pair conv2d_forward and
// conv2d_backward (the op layer composes conv2d when they are absent) may be empty together.
std::string empty_entries(const heed_backend& t) {
  const std::pair<const char*, bool> entries[] = {
      {"name", t.name != nullptr},
      {"allocate", t.allocate != nullptr},
      {"release", t.release != nullptr},
      {"copy_from_host", t.copy_from_host != nullptr},
      {"copy_to_host", t.copy_to_host != nullptr},
      {"copy", t.copy != nullptr},
      {"fill", t.fill != nullptr},
      {"unary", t.unary != nullptr},
      {"binary", t.binary != nullptr},
      {"where", t.where != nullptr},
      {"reduce_rows", t.reduce_rows != nullptr},
      {"gemm", t.gemm != nullptr},
      {"softmax_forward", t.softmax_forward != nullptr},
      {"softmax_backward", t.softmax_backward != nullptr},
      {"layer_norm_forward", t.layer_norm_forward != nullptr},
      {"layer_norm_backward", t.layer_norm_backward != nullptr},
      {"index_select", t.index_select != nullptr},
      {"index_add", t.index_add != nullptr},
      {"gather", t.gather != nullptr},
      {"scatter_add", t.scatter_add != nullptr},
      {"cross_entropy_forward", t.cross_entropy_forward != nullptr},
      {"cross_entropy_backward", t.cross_entropy_backward != nullptr},
      {"gru_cell_forward", t.gru_cell_forward != nullptr},
      {"gru_cell_backward", t.gru_cell_backward != nullptr},
      {"additive_scores_forward", t.additive_scores_forward != nullptr},
      {"additive_scores_backward", t.additive_scores_backward != nullptr},
      {"attention_forward", t.attention_forward != nullptr},
      {"attention_backward", t.attention_backward != nullptr},
      {"im2col", t.im2col != nullptr},
      {"col2im", t.col2im != nullptr},
      {"max_pool2d_indices", t.max_pool2d_indices != nullptr},
      {"adam_step", t.adam_step != nullptr},
      {"set_num_threads", t.set_num_threads != nullptr},
      {"last_error", t.last_error != nullptr},
  };
  std::string missing;
  for (const auto& [entry, present] : entries) {
    if (!present) missing += (missing.empty() ? "" : ", ") + std::string(entry);
  }
  if ((t.conv2d_forward == nullptr) != (t.conv2d_backward == nullptr)) {
    missing += (missing.empty() ? "" : ", ") +
               std::string(t.conv2d_forward == nullptr ? "conv2d_forward" : "conv2d_backward") +
               " (the optional conv2d pair is both or neither)";
  }
  return missing;
}

const heed_backend* load_cuda_plugin() {
  std::string attempts;
  for (const auto& directory : cuda_plugin_directories()) {
    const auto candidate = directory / kCudaPluginName;
    if (!std::filesystem::exists(candidate)) {
      attempts += fmt::format("\n  {}: not found", candidate.string());
      continue;
    }
    void* library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      attempts += fmt::format("\n  {}: dlopen failed: {}", candidate.string(), dlerror());
      continue;
    }
    auto init = reinterpret_cast<heed_backend_init_fn>(dlsym(library, "heed_backend_init"));
    if (init == nullptr) {
      attempts += fmt::format("\n  {}: no heed_backend_init symbol", candidate.string());
      continue;
    }
    const char* reason = "unknown reason";
    const heed_backend* table = init(&reason);
    if (table == nullptr)
      fail("cuda: the plugin {} could not start: {}", candidate.string(), reason);
    if (table->api_version != HEED_BACKEND_API_VERSION) {
      fail("cuda: the plugin {} implements backend API version {}, this heed expects {}",
           candidate.string(), table->api_version, static_cast<int>(HEED_BACKEND_API_VERSION));
    }
    if (const std::string missing = empty_entries(*table); !missing.empty()) {
      fail("cuda: the plugin {} leaves these kernel table entries empty: {}", candidate.string(),
           missing);
    }
    return table;
  }
  fail(
      "cuda: the CUDA backend plugin {} was not found. Searched:{}\nBuild heed with -Dcuda=enabled "
      "on a machine with the CUDA toolkit, or set HEED_BACKEND_PATH",
      kCudaPluginName, attempts);
}

}  // namespace

const heed_backend& backend_for(Device device) {
  if (device.is_cpu()) return use_reference_kernels ? cpu::reference_backend() : cpu::backend();
  // Loaded once; a failure is reported on every attempt, with the same message.
  static std::once_flag loaded;
  static const heed_backend* cuda = nullptr;
  static std::string load_error;
  std::call_once(loaded, [] {
    try {
      cuda = load_cuda_plugin();
    } catch (const Error& error) {
      load_error = error.what();
    }
  });
  if (cuda == nullptr) throw Error(load_error);
  return *cuda;
}

void check_kernel(const heed_backend& backend, int status, const char* kernel) {
  if (status != 0)
    fail("{} backend: kernel {} failed: {}", backend.name, kernel, backend.last_error());
}

void set_num_threads(int threads) {
  if (threads < 1) fail("set_num_threads: expected at least 1 thread, got {}", threads);
  cpu::set_num_threads(threads);
}

int get_num_threads() {
  return cpu::num_threads();
}

size_t cpu_cached_bytes() {
  return cpu::cached_bytes();
}

void empty_cpu_cache() {
  cpu::empty_cache();
}

MemoryStats memory_stats() {
  return {cpu::live_bytes(), cpu::peak_live_bytes(), cpu::cached_bytes()};
}

void reset_peak_memory_stats() {
  cpu::reset_peak_live_bytes();
}

ReferenceKernelsGuard::ReferenceKernelsGuard() : previous_(use_reference_kernels) {
  use_reference_kernels = true;
}
ReferenceKernelsGuard::~ReferenceKernelsGuard() {
  use_reference_kernels = previous_;
}

}  // namespace heed
