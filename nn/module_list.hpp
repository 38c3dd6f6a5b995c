// Holds submodules under the names "0", "1", ... (PyTorch's nn.ModuleList), so a stack of
// layers is saved as h.0.attn.in_proj_weight, h.1..., without a forward of its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace heed::nn {

template <typename M>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(std::move(module));
  }
  size_t size() const { return modules_.size(); }
  M& operator[](size_t i) const { return *modules_.at(i); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<M>> modules_;
};

}  // namespace heed::nn
