// Seeded random numbers. A Generator is a small deterministic stream (xoshiro256**): the same
// seed gives the same tensors on every machine and at every thread count.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.hpp"

namespace heed {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();  // in [0, 1)
  double normal();   // standard normal (Box-Muller)

  // The whole state, as text ("w0 w1 w2 w3"), so a checkpoint can resume the same stream.
  std::string state() const;
  void set_state(const std::string& state);  // heed::Error if it is not four 64-bit words

 private:
  uint64_t state_[4] = {};
};

// The generator used when none is passed; heed::manual_seed(s) reseeds it.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform on [0, 1), standard normal, integers in [low, high).
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* generator = nullptr);

}  // namespace heed
