// Access to tests/data/nn_reference.safetensors, written by generate_nn_reference.py (and to
// attention_zoo_reference.safetensors, by generate_attention_zoo.py, laid out alike): PyTorch's
// parameters, inputs, outputs, upstream gradients and gradients for each case.
#pragma once

#include <map>
#include <string>

#include "nn/nn.hpp"
#include "tests/helpers.hpp"

namespace heed::testing {

class NNReference {
 public:
  explicit NNReference(std::string case_name, DType dtype = kFloat64,
                       std::string file_name = "nn_reference.safetensors")
      : case_(std::move(case_name)), dtype_(dtype), file_name_(std::move(file_name)) {}

  // "<case>/<kind>/<name>", converted to the case's dtype when floating.
  Tensor get(const std::string& kind, const std::string& name) const {
    const auto& tensors = file().tensors;
    const auto found = tensors.find(case_ + "/" + kind + "/" + name);
    REQUIRE_MESSAGE(found != tensors.end(),
                    "no reference entry " << case_ << "/" << kind << "/" << name);
    const Tensor& t = found->second;
    return t.is_floating_point() ? t.to(dtype_) : t;
  }
  Tensor input(const std::string& name) const {
    Tensor x = get("in", name).clone();
    if (x.is_floating_point()) x.requires_grad_();
    return x;
  }

  // Loads the case's parameters into `module` with a strict load_state_dict.
  void load_into(nn::Module& module) const {
    nn::StateDict state;
    const std::string prefix = case_ + "/param/";
    for (const auto& [key, tensor] : file().tensors) {
      if (key.rfind(prefix, 0) == 0) state.emplace(key.substr(prefix.size()), tensor);
    }
    module.load_state_dict(state);
  }

  // Runs backward on sum(out_i * up_i) over the named outputs and compares the outputs.
  void check_outputs_and_backward(const std::map<std::string, Tensor>& outputs, double rtol) const {
    Tensor total;
    for (const auto& [name, y] : outputs) {
      const std::string& output_name = name;  // INFO captures a variable, not a binding (clang 14)
      INFO(case_ << " output " << output_name);
      check_close(y, get("out", name), rtol * 0.1, rtol);
      const Tensor term = (y * get("up", name)).sum();
      total = total.defined() ? total + term : term;
    }
    total.backward();
  }

  void check_grad(const std::string& name, const Tensor& grad, double rtol) const {
    INFO(case_ << " gradient of " << name);
    REQUIRE(grad.defined());
    check_close(grad, get("grad", name), rtol * 0.1, rtol);
  }

  // Compares the gradient of every parameter of `module`.
  void check_parameter_grads(const nn::Module& module, double rtol) const {
    for (const auto& [name, p] : module.named_parameters()) check_grad(name, p.grad(), rtol);
  }

 private:
  const SafetensorsFile& file() const {
    static std::map<std::string, SafetensorsFile> loaded;  // each file read once
    auto found = loaded.find(file_name_);
    if (found == loaded.end()) {
      found = loaded
                  .emplace(file_name_,
                           load_safetensors(std::string(HEED_TEST_DATA_DIR) + "/" + file_name_))
                  .first;
    }
    return found->second;
  }
  std::string case_;
  DType dtype_;
  std::string file_name_;
};

// Relative tolerance against PyTorch: float64 results agree to rounding, so 1e-7 (well inside
// the 1e-5 the project asks for); float32 to 1e-4. Absolute tolerance is a tenth of it.
inline double reference_rtol(DType dtype) {
  return dtype == kFloat64 ? 1e-7 : 1e-4;
}

}  // namespace heed::testing
