// What GRU and LSTM share: PyTorch's parameter layout, and the loop over layers, directions and
// time steps that calls a cell.
#include "nn/recurrent.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace heed::nn {

RecurrentCell::RecurrentCell(std::string type_name, int64_t gates, int64_t input, int64_t hidden,
                             bool bias, DType dtype)
    : Module(std::move(type_name)), input_size(input), hidden_size(hidden) {
  if (input < 1 || hidden < 1) {
    fail("{}: expected positive input_size and hidden_size, got {} and {}", this->type_name(),
         input, hidden);
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));  // PyTorch's default
  auto parameter = [&](const std::string& name, const Shape& shape) {
    Tensor p = register_parameter(name, empty(shape, {dtype}));
    init::uniform_(p, bound);
    return p;
  };
  weight_ih = parameter("weight_ih", {gates * hidden, input});
  weight_hh = parameter("weight_hh", {gates * hidden, hidden});
  if (bias) {
    bias_ih = parameter("bias_ih", {gates * hidden});
    bias_hh = parameter("bias_hh", {gates * hidden});
  }
}

Tensor RecurrentCell::input_gates(const Tensor& x) const {
  if (x.dim() != 2 || x.size(1) != input_size) {
    fail("{}: expected input of shape (B, {}), got {}", type_name(), input_size,
         shape_str(x.shape()));
  }
  Tensor gates = mm(x, weight_ih.t());  // (B, G*H)
  return bias_ih.defined() ? gates + bias_ih : gates;
}

Tensor RecurrentCell::state_or_zeros(const Tensor& state, const Tensor& x, const char* what) const {
  const Shape expected{x.size(0), hidden_size};
  if (!state.defined()) return zeros(expected, {x.dtype(), x.device()});
  if (state.shape() != expected) {
    fail("{}: expected {} of shape {}, got {}", type_name(), what, shape_str(expected),
         shape_str(state.shape()));
  }
  return state;
}

std::string RecurrentCell::extra_repr() const {
  return fmt::format("{}, {}{}", input_size, hidden_size, bias_ih.defined() ? "" : ", bias=False");
}

RecurrentLayers::RecurrentLayers(std::string type_name, int64_t gates, int64_t input,
                                 int64_t hidden, RecurrentOptions opts)
    : Module(std::move(type_name)), input_size(input), hidden_size(hidden), options(opts) {
  if (input < 1 || hidden < 1 || options.num_layers < 1) {
    fail("{}: expected positive input_size, hidden_size and num_layers, got {}, {} and {}",
         this->type_name(), input, hidden, options.num_layers);
  }
  if (!(options.dropout >= 0.0 && options.dropout < 1.0)) {
    fail("{}: expected 0 <= dropout < 1, got {}", this->type_name(), options.dropout);
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  for (int64_t layer = 0; layer < options.num_layers; ++layer) {
    const int64_t layer_input = layer == 0 ? input : hidden * num_directions();
    for (int64_t direction = 0; direction < num_directions(); ++direction) {
      const std::string suffix = fmt::format("_l{}{}", layer, direction == 1 ? "_reverse" : "");
      auto parameter = [&](const std::string& name, const Shape& shape) {
        Tensor p = register_parameter(name + suffix, empty(shape, {options.dtype}));
        init::uniform_(p, bound);
        return p;
      };
      RecurrentWeights w;
      w.weight_ih = parameter("weight_ih", {gates * hidden, layer_input});
      w.weight_hh = parameter("weight_hh", {gates * hidden, hidden});
      if (options.bias) {
        w.bias_ih = parameter("bias_ih", {gates * hidden});
        w.bias_hh = parameter("bias_hh", {gates * hidden});
      }
      weights_.push_back(w);
    }
  }
}

std::pair<Tensor, std::vector<Tensor>> RecurrentLayers::run(const Tensor& input,
                                                            std::vector<Tensor> initial,
                                                            int64_t state_parts) const {
  const std::string& name = type_name();
  if (input.dim() != 3 || input.size(2) != input_size) {
    fail("{}: expected input of shape ({}, {}, {}), got {}", name, options.batch_first ? "B" : "T",
         options.batch_first ? "T" : "B", input_size, shape_str(input.shape()));
  }
  const Tensor time_major = options.batch_first ? input.transpose(0, 1) : input;  // (T, B, in)
  const int64_t steps = time_major.size(0), batch = time_major.size(1);
  const int64_t slots = options.num_layers * num_directions();
  if (steps == 0)
    fail("{}: the input has no time steps (shape {})", name, shape_str(input.shape()));
  if (!initial.empty()) {
    if (static_cast<int64_t>(initial.size()) != state_parts) {
      fail("{}: expected {} initial state tensors, got {}", name, state_parts, initial.size());
    }
    for (const Tensor& part : initial) {
      if (part.shape() != Shape{slots, batch, hidden_size}) {
        fail("{}: expected an initial state of shape ({}, {}, {}), got {}", name, slots, batch,
             hidden_size, shape_str(part.shape()));
      }
    }
  }
  std::vector<std::vector<Tensor>> final_parts(static_cast<size_t>(state_parts));

  Tensor layer_input = time_major;  // (T, B, in) for layer 0, (T, B, D * H) after
  for (int64_t layer = 0; layer < options.num_layers; ++layer) {
    std::vector<Tensor> direction_outputs;
    for (int64_t direction = 0; direction < num_directions(); ++direction) {
      const int64_t slot = layer * num_directions() + direction;
      const RecurrentWeights& w = weights_[static_cast<size_t>(slot)];
      // The input's share of every gate for every step in one product: (T * B, in) @ (in, G*H)
      Tensor gates = mm(layer_input.reshape({steps * batch, -1}), w.weight_ih.t());
      if (w.bias_ih.defined()) gates = gates + w.bias_ih;
      // One (B, G*H) slice per step; a single step (a decoder's) needs no split at all.
      const std::vector<Tensor> gates_per_step =
          steps == 1 ? std::vector<Tensor>{gates} : unbind(gates.reshape({steps, batch, -1}), 0);

      std::vector<Tensor> state;  // each (B, H)
      for (int64_t part = 0; part < state_parts; ++part) {
        state.push_back(initial.empty()
                            ? zeros({batch, hidden_size}, {input.dtype(), input.device()})
                            : initial[static_cast<size_t>(part)].select(0, slot));
      }
      std::vector<Tensor> outputs(static_cast<size_t>(steps));  // h_t, each (B, H)
      for (int64_t i = 0; i < steps; ++i) {
        const int64_t t =
            direction == 0 ? i : steps - 1 - i;  // the reverse direction runs backwards
        state = step(gates_per_step[static_cast<size_t>(t)], state, w);
        outputs[static_cast<size_t>(t)] = state[0];
      }
      direction_outputs.push_back(steps == 1 ? outputs[0].unsqueeze(0)
                                             : stack(outputs, 0));  // (T, B, H)
      for (int64_t part = 0; part < state_parts; ++part) {
        final_parts[static_cast<size_t>(part)].push_back(state[static_cast<size_t>(part)]);
      }
    }
    layer_input = num_directions() == 1 ? direction_outputs[0] : cat(direction_outputs, 2);
    if (layer + 1 < options.num_layers && options.dropout > 0) {
      layer_input = dropout(layer_input, options.dropout, is_training());
    }
  }
  std::vector<Tensor> final_state;
  for (auto& parts : final_parts) final_state.push_back(stack(parts, 0));  // (L * D, B, H)
  Tensor output = options.batch_first ? layer_input.transpose(0, 1) : layer_input;
  return {output, final_state};
}

std::string RecurrentLayers::extra_repr() const {
  std::string out = fmt::format("{}, {}", input_size, hidden_size);
  if (options.num_layers != 1) out += fmt::format(", num_layers={}", options.num_layers);
  if (!options.bias) out += ", bias=False";
  if (options.batch_first) out += ", batch_first=True";
  if (options.dropout > 0) out += fmt::format(", dropout={}", options.dropout);
  if (options.bidirectional) out += ", bidirectional=True";
  return out;
}

}  // namespace heed::nn
