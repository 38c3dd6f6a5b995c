// heed against values PyTorch computed (tests/generate_pytorch_reference.py, committed output in
// tests/data/pytorch_reference.txt): forward outputs and input gradients, in float64.
#include <fstream>
#include <map>
#include <sstream>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// name -> tensor, from lines "name ndim d0 .. v0 v1 ..".
std::map<std::string, Tensor> load_reference() {
  const std::string path = std::string(HEED_TEST_DATA_DIR) + "/pytorch_reference.txt";
  std::ifstream file(path);
  REQUIRE_MESSAGE(file.good(), "cannot open " << path);
  std::map<std::string, Tensor> records;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    int64_t ndim = 0;
    fields >> name >> ndim;
    Shape shape(static_cast<size_t>(ndim));
    for (int64_t& size : shape) fields >> size;
    std::vector<double> values(static_cast<size_t>(numel_of(shape)));
    for (double& value : values) fields >> value;
    REQUIRE_MESSAGE(!fields.fail(), "malformed record " << name);
    records[name] = tensor(values, shape, {kFloat64});
  }
  return records;
}

const std::map<std::string, Tensor>& reference() {
  static const std::map<std::string, Tensor> records = load_reference();
  return records;
}

const Tensor& get(const std::string& name) {
  const auto found = reference().find(name);
  REQUIRE_MESSAGE(found != reference().end(), "no record " << name);
  return found->second;
}

// Runs f on the recorded x and compares y and dx = d/dx sum(f(x) * w) with PyTorch's.
void compare(const std::string& name, const std::function<Tensor(const Tensor&)>& f) {
  INFO("record " << name);
  Tensor x = get(name + ".x").clone().detach().requires_grad_();
  const Tensor y = f(x);
  (y * get(name + ".w")).sum().backward();
  check_close(y, get(name + ".y"), 1e-12, 1e-9);
  check_close(x.grad(), get(name + ".dx"), 1e-12, 1e-9);
}

}  // namespace

TEST_CASE("masked_softmax agrees with d2l's masked_softmax run by PyTorch") {
  compare("masked_softmax_lens_b", [](const Tensor& x) {
    return masked_softmax(x, {.valid_lens = int_tensor({2, 3})});
  });
  compare("masked_softmax_lens_bq", [](const Tensor& x) {
    return masked_softmax(x, {.valid_lens = int_tensor({1, 3, 2, 4}, {2, 2})});
  });
  compare("masked_softmax_keep", [](const Tensor& x) {
    return masked_softmax(x, {.keep_mask = int_tensor({0, 0, 1, 1, 1, 1, 1, 1}, {2, 1, 4})});
  });
  compare("masked_softmax_causal",
          [](const Tensor& x) { return masked_softmax(x, {.causal = true}); });
}

TEST_CASE("softmax, log_softmax, gelu agree with PyTorch") {
  compare("softmax", [](const Tensor& x) { return softmax(x, -1); });
  compare("log_softmax", [](const Tensor& x) { return log_softmax(x, -1); });
  compare("gelu_exact", [](const Tensor& x) { return gelu(x); });
  compare("gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); });
}

TEST_CASE("log1p, expm1, sin, cos, erf, silu, softplus agree with PyTorch") {
  compare("log1p", [](const Tensor& x) { return log1p(x); });
  compare("expm1", [](const Tensor& x) { return expm1(x); });
  compare("sin", [](const Tensor& x) { return sin(x); });
  compare("cos", [](const Tensor& x) { return cos(x); });
  compare("erf", [](const Tensor& x) { return erf(x); });
  compare("silu", [](const Tensor& x) { return silu(x); });
  compare("softplus", [](const Tensor& x) { return softplus(x); });
  compare("softplus_beta2_threshold1", [](const Tensor& x) { return softplus(x, 2, 1); });
}

TEST_CASE("cross_entropy with ignore_index agrees with PyTorch") {
  const Tensor targets = get("cross_entropy.extra0").to(kInt64);
  compare("cross_entropy", [&](const Tensor& x) { return cross_entropy(x, targets).reshape({1}); });
}

TEST_CASE("layer_norm agrees with PyTorch") {
  const Tensor& weight = get("layer_norm.extra0");
  const Tensor& bias = get("layer_norm.extra1");
  compare("layer_norm", [&](const Tensor& x) { return layer_norm(x, {6}, weight, bias, 1e-5); });
}

TEST_CASE("matmul with broadcast batch dims agrees with PyTorch") {
  const Tensor& b = get("matmul_broadcast.extra0");
  compare("matmul_broadcast", [&](const Tensor& x) { return matmul(x, b); });
}

namespace {

// Runs f on the recorded inputs (name.in0, name.in1, ...) and compares its output and every
// input's gradient of sum(f(...) * w) with PyTorch's.
void compare_inputs(const std::string& name, size_t count,
                    const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  INFO("record " << name);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < count; ++i) {
    inputs.push_back(get(name + ".in" + std::to_string(i)).clone().detach().requires_grad_());
  }
  const Tensor y = f(inputs);
  (y * get(name + ".w")).sum().backward();
  check_close(y, get(name + ".y"), 1e-12, 1e-9);
  for (size_t i = 0; i < count; ++i) {
    INFO("input " << i);
    check_close(inputs[i].grad(), get(name + ".d" + std::to_string(i)), 1e-12, 1e-9);
  }
}

}  // namespace

TEST_CASE("conv2d, conv_transpose2d, unfold, fold and the pools agree with PyTorch") {
  compare_inputs("conv2d", 3, [](const auto& in) {
    return conv2d(in[0], in[1], in[2],
                  {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2});
  });
  compare_inputs("conv_transpose2d", 3, [](const auto& in) {
    return conv_transpose2d(in[0], in[1], in[2],
                            {.stride = {2, 3},
                             .padding = {1, 0},
                             .output_padding = {1, 2},
                             .dilation = {1, 2},
                             .groups = 2});
  });
  compare_inputs("unfold", 1, [](const auto& in) {
    return unfold(in[0], {2, 3}, {.dilation = {2, 1}, .padding = {1, 1}, .stride = {1, 2}});
  });
  compare_inputs("fold", 1, [](const auto& in) {
    return fold(in[0], {5, 6}, {2, 3}, {.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}});
  });
  compare_inputs("max_pool2d", 1, [](const auto& in) {
    return max_pool2d(in[0], {3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}});
  });
  compare_inputs("avg_pool2d", 1, [](const auto& in) {
    return avg_pool2d(in[0], {3, 2}, {.stride = {2, 2}, .padding = {1, 1}});
  });
  compare_inputs("avg_pool2d_exclude_pad", 1, [](const auto& in) {
    return avg_pool2d(in[0], {3, 3},
                      {.stride = {2, 1}, .padding = {1, 1}, .count_include_pad = false});
  });
}
