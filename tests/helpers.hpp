// Test helpers: gradcheck by central differences, tensor comparison, error-message checks,
// temporary directories and whole-file reads and writes.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/heed.hpp"

namespace heed::testing {

struct Tolerance {
  double eps, atol, rtol;
};
// PyTorch's gradcheck defaults for float64, and looser ones for float32.
inline constexpr Tolerance kFloat64Tolerance{1e-6, 1e-5, 1e-3};
inline constexpr Tolerance kFloat32Tolerance{1e-2, 1e-2, 2e-2};

// Element-wise |a - b| <= atol + rtol |b|, with a message naming the first mismatch.
inline void check_close(const Tensor& actual, const Tensor& expected, double atol = 1e-6,
                        double rtol = 1e-5) {
  REQUIRE(actual.shape() == expected.shape());
  const std::vector<double> a = actual.detach().to_vector<double>();
  const std::vector<double> b = expected.detach().to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    const bool close = std::abs(a[i] - b[i]) <= atol + rtol * std::abs(b[i]) ||
                       (std::isnan(a[i]) && std::isnan(b[i]));
    if (!close) {
      FAIL_CHECK("element " << i << ": got " << a[i] << ", expected " << b[i] << " (shape "
                            << shape_str(actual.shape()) << ")");
      return;
    }
  }
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

// Compares autograd's gradients of sum(f(inputs) * w), w fixed random weights, with central
// differences, for every element of every input. Inputs must be contiguous leaves.
inline void gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                      std::vector<Tensor> inputs, Tolerance tolerance = kFloat64Tolerance) {
  for (Tensor& input : inputs) {
    REQUIRE(input.is_contiguous());
    input.zero_grad();
    if (!input.requires_grad()) input.requires_grad_();
  }
  const Tensor probe = f(inputs);
  Generator generator(1234);
  const Tensor weights = randn(probe.shape(), {probe.dtype()}, &generator);
  const auto objective = [&] { return (f(inputs) * weights).sum(); };
  objective().backward();
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    const std::vector<double> analytic =
        input.grad().defined() ? input.grad().to_vector<double>()
                               : std::vector<double>(static_cast<size_t>(input.numel()), 0.0);
    for (int64_t j = 0; j < input.numel(); ++j) {
      auto nudge = [&](double delta) {
        if (input.dtype() == kFloat64) {
          input.data_ptr<double>()[j] += delta;
        } else {
          input.data_ptr<float>()[j] += static_cast<float>(delta);
        }
      };
      nudge(tolerance.eps);
      const double plus = objective().item();
      nudge(-2 * tolerance.eps);
      const double minus = objective().item();
      nudge(tolerance.eps);
      const double numeric = (plus - minus) / (2 * tolerance.eps);
      const double got = analytic[static_cast<size_t>(j)];
      CHECK_MESSAGE(
          std::abs(got - numeric) <= tolerance.atol + tolerance.rtol * std::abs(numeric),
          "input " << i << " element " << j << ": autograd " << got << ", numeric " << numeric);
    }
  }
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
