// Test helpers: doctest checks over heed::testing (gradcheck, allclose), error-message checks,
// temporary directories and whole-file reads and writes.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/heed.hpp"
#include "engine/testing.hpp"

namespace heed::testing {

// Element-wise |a - b| <= atol + rtol |b| (heed::testing::allclose), failing the check with
// its report: how many differ, and the worst element.
inline void check_close(const Tensor& actual, const Tensor& expected, double atol = 1e-6,
                        double rtol = 1e-5) {
  const AllcloseResult result = allclose(actual, expected, atol, rtol, /*equal_nan=*/true);
  if (!result) FAIL_CHECK(result.report);
}

inline void check_values(const Tensor& actual, const std::vector<double>& expected,
                         double atol = 1e-6) {
  const std::vector<double> a = actual.detach().to_vector<double>();
  REQUIRE(a.size() == expected.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK_MESSAGE(std::abs(a[i] - expected[i]) <= atol + 1e-6 * std::abs(expected[i]),
                  "element " << i << ": got " << a[i] << ", expected " << expected[i]);
  }
}

// heed::testing::gradcheck as a doctest check: fails with its report (the input and element of
// the worst mismatch).
inline void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                            std::vector<Tensor> inputs, Tolerance tolerance = kFloat64Tolerance) {
  const GradcheckResult result = gradcheck(f, std::move(inputs), tolerance);
  CHECK_MESSAGE(result.passed, result.report);
}

// A fused op against its composite twin and against itself on the naive reference kernels:
// `run(op)` runs one of them (forward, then backward) and returns the tensors to compare.
template <typename Run, typename Fused, typename Composite>
void check_fused(const Run& run, const Fused& fused, const Composite& composite, double tolerance) {
  const std::vector<Tensor> fast = run(fused);
  const std::vector<Tensor> twin = run(composite);
  std::vector<Tensor> reference;
  {
    ReferenceKernelsGuard naive;
    reference = run(fused);
  }
  REQUIRE(fast.size() == twin.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    INFO("result " << i);
    check_close(fast[i], twin[i], tolerance, tolerance);
    check_close(reference[i], twin[i], tolerance, tolerance);
  }
}

// Two safetensors files hold the same tensors, bit for bit (an interrupted and resumed run
// against an uninterrupted one).
inline void check_same_tensors(const std::filesystem::path& a_path,
                               const std::filesystem::path& b_path) {
  const SafetensorsFile a = load_safetensors(a_path), b = load_safetensors(b_path);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& entry : a.tensors) {
    INFO(entry.first);
    check_close(b.tensors.at(entry.first), entry.second, 0, 0);
  }
}

// A float64 leaf with values from a seeded normal distribution.
inline Tensor random64(const Shape& shape, uint64_t seed) {
  Generator generator(seed);
  return randn(shape, {kFloat64}, &generator);
}

// Runs `call`, requires a heed::Error, and checks the message contains each fragment.
template <typename Call>
void check_error(Call&& call, const std::vector<std::string>& fragments) {
  bool thrown = false;
  try {
    call();
  } catch (const Error& error) {
    thrown = true;
    const std::string message = error.what();
    for (const std::string& fragment : fragments) {
      CHECK_MESSAGE(message.find(fragment) != std::string::npos,
                    "message \"" << message << "\" lacks \"" << fragment << "\"");
    }
  }
  CHECK_MESSAGE(thrown,
                "expected a heed::Error mentioning " << (fragments.empty() ? "" : fragments[0]));
}

// The project's shared data sits beside the checkout and may be absent: true when `path` is
// there, else false with the reason the caller skips printed.
inline bool shared_data_present(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return true;
  MESSAGE("skipping: " << path.string() << " is not present (the shared data is not checked out)");
  return false;
}

// Turns the profiler on with no rows for the test's life, and restores it afterwards (also when
// a check throws).
class ProfilerOn {
 public:
  ProfilerOn() : was_on_(profiler::enabled()) {
    profiler::reset();
    profiler::set_enabled(true);
  }
  ~ProfilerOn() {
    profiler::set_enabled(was_on_);
    profiler::reset();
  }
  ProfilerOn(const ProfilerOn&) = delete;
  ProfilerOn& operator=(const ProfilerOn&) = delete;

 private:
  bool was_on_;
};

// The profile's row of this name, kind and phase, if it has one.
inline std::optional<profiler::Row> find_row(const std::vector<profiler::Row>& rows,
                                             const std::string& name, profiler::Kind kind,
                                             profiler::Phase phase) {
  for (const profiler::Row& row : rows) {
    if (row.name == name && row.kind == kind && row.phase == phase) return row;
  }
  return std::nullopt;
}

// A fresh directory per test, removed afterwards.
struct TemporaryDirectory {
  std::filesystem::path path;
  TemporaryDirectory() {
    path = std::filesystem::temp_directory_path() /
           fmt::format("heed-test-{}", std::random_device{}());
    std::filesystem::create_directories(path);
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path); }
};

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace heed::testing
