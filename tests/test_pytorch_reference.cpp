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
