// Module: registration of parameters, buffers and submodules, dotted names, train/eval, to(),
// state_dict with strict loading, and PyTorch-style printing.
#include "nn/module.hpp"

#include <fmt/ranges.h>

#include <set>

namespace heed::nn {

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos) {
    fail("{}: a parameter, buffer or submodule name must be non-empty and without '.', got '{}'",
         type_name_, name);
  }
  auto taken = [&](const auto& entries) {
    for (const auto& entry : entries) {
      if (entry.first == name) return true;
    }
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_)) {
    fail("{}: the name '{}' is already registered", type_name_, name);
  }
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.is_floating_point()) {
    fail("{}: parameter '{}' must be float32 or float64, got {}", type_name_, name,
         dtype_name(value.dtype()));
  }
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::collect(const std::string& prefix, bool parameters,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, tensor] : parameters ? parameters_ : buffers_) {
    out.emplace_back(prefix + name, tensor);
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t total = 0;
  for (const Tensor& p : parameters()) total += p.numel();
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.zero_grad();
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) p.set_data(p.detach().to(device));
  for (auto& [name, b] : named_buffers()) b.set_data(b.detach().to(device));
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) fail("{}.to: modules convert to float32 or float64 only", type_name_);
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) p.set_data(p.detach().to(dtype));
  for (auto& [name, b] : named_buffers()) {
    if (b.is_floating_point()) b.set_data(b.detach().to(dtype));
  }
}

StateDict Module::state_dict() const {
  StateDict state;
  for (auto& [name, p] : named_parameters()) state.emplace(name, p.detach());
  for (auto& [name, b] : named_buffers()) state.emplace(name, b.detach());
  return state;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<std::pair<std::string, Tensor>> own = named_parameters();
  for (auto& entry : named_buffers()) own.push_back(entry);

  std::vector<std::string> missing, mis_shaped;
  std::set<std::string> known;
  for (const auto& [name, tensor] : own) {
    known.insert(name);
    auto found = state.find(name);
    if (found == state.end()) {
      missing.push_back(name);
    } else if (found->second.shape() != tensor.shape()) {
      mis_shaped.push_back(fmt::format("{} (expected {}, found {})", name,
                                       shape_str(tensor.shape()),
                                       shape_str(found->second.shape())));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : state) {
    if (!known.contains(name)) unexpected.push_back(name);
  }
  if (!mis_shaped.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::string message = fmt::format("load_state_dict into {}:", type_name_);
    if (!missing.empty()) message += fmt::format(" missing {};", fmt::join(missing, ", "));
    if (!unexpected.empty()) message += fmt::format(" unexpected {};", fmt::join(unexpected, ", "));
    if (!mis_shaped.empty())
      message += fmt::format(" wrong shape {};", fmt::join(mis_shaped, ", "));
    message.pop_back();
    fail("{}", message);
  }
  NoGradGuard no_grad;
  for (auto& [name, tensor] : own) {
    auto found = state.find(name);
    if (found == state.end()) continue;
    tensor.copy_(found->second.to(tensor.dtype()).to(tensor.device()));
  }
}

void Module::repr_into(std::string& out, int indent) const {
  const std::string extra = extra_repr();
  if (children_.empty()) {
    out += type_name_ + "(" + extra + ")";
    return;
  }
  // As PyTorch prints it: with children, the extra text gets a line of its own, above them.
  out += type_name_ + "(\n";
  if (!extra.empty()) out += std::string(static_cast<size_t>(indent + 2), ' ') + extra + "\n";
  for (const auto& [name, child] : children_) {
    out += std::string(static_cast<size_t>(indent + 2), ' ') + "(" + name + "): ";
    child->repr_into(out, indent + 2);
    out += "\n";
  }
  out += std::string(static_cast<size_t>(indent), ' ') + ")";
}

std::string Module::repr() const {
  std::string out;
  repr_into(out, 0);
  return out;
}

}  // namespace heed::nn
