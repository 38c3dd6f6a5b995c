// heed::nn::Module: the base of every layer. A module owns named parameters (tensors that
// train), named buffers (tensors that are saved but do not train) and named submodules, and
// from those it derives everything generic: the dotted parameter names of a whole model, train
// and eval mode, moving to a device, and the state_dict that checkpoints save and load.
//
// A layer registers its tensors in its constructor and keeps the handles it gets back:
//   weight = register_parameter("weight", empty({out, in}));
// The names and shapes follow PyTorch's, so weights move between the two unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/heed.hpp"

namespace heed::nn {

// name -> tensor, for checkpoints. Parameters and buffers of the whole model, dotted names.
using StateDict = std::map<std::string, Tensor>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its submodules, in registration order, depth first.
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters()
      const;  // "decoder.rnn.weight_hh_l0"
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  int64_t num_parameters() const;  // total elements over all parameters

  // Dropout and friends behave differently when training; train() and eval() set the whole tree.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops every parameter's gradient

  // Moves or converts every parameter and buffer in place: handles kept by layers stay valid.
  void to(Device device);
  void to(DType dtype);

  // Parameters and buffers by dotted name; loading copies values into the existing tensors.
  // Strict loading requires exactly the same names and shapes, and the error lists every
  // missing, unexpected and mis-shaped entry.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state, bool strict = true);

  // PyTorch-style printout: "Linear(in_features=4, out_features=2, bias=True)", nested.
  std::string repr() const;
  const std::string& type_name() const { return type_name_; }

 protected:
  // One line of constructor arguments for repr(), e.g. "in_features=4, out_features=2".
  virtual std::string extra_repr() const { return ""; }

  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name);
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool parameters,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  void repr_into(std::string& out, int indent) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module that maps one tensor to one tensor: what Sequential chains.
class UnaryModule : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace heed::nn
