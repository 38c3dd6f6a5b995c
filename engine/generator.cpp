// Seeded random numbers (xoshiro256**, seeded through splitmix64) and the random factories
// rand, randn and randint built on them.
#include "engine/generator.hpp"

#include <cmath>
#include <sstream>
#include <vector>

#include "engine/error.hpp"

namespace heed {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotate_left(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

// Fills a host vector with draws, then builds the tensor from it in one transfer.
template <typename Draw>
Tensor generate(const Shape& shape, TensorOptions options, const char* op, Draw draw) {
  check_shape(shape, op);
  if (!is_floating(options.dtype))
    fail("{}: expected a floating dtype, got {}", op, dtype_name(options.dtype));
  std::vector<double> values(static_cast<size_t>(numel_of(shape)));
  for (double& value : values) value = draw();
  return from_vector(values, shape, {options.dtype, options.device, options.requires_grad});
}

}  // namespace

void Generator::manual_seed(uint64_t seed) {
  for (uint64_t& word : state_) word = splitmix64(seed);
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

std::string Generator::state() const {
  return fmt::format("{} {} {} {}", state_[0], state_[1], state_[2], state_[3]);
}

namespace {

// A state string from a file, quoted for an error message: at most 100 characters of it.
std::string shown(const std::string& text) {
  if (text.size() <= 100) return "'" + text + "'";
  return fmt::format("'{}...' ({} characters)", text.substr(0, 100), text.size());
}

// istream reads "-1" into an unsigned word as 2^64 - 1; a state never has a minus sign.
bool word_text_is_negative(const std::string& text) {
  return text.find('-') != std::string::npos;
}

}  // namespace

void Generator::set_state(const std::string& text) {
  std::istringstream in(text);
  uint64_t words[4];
  for (uint64_t& word : words) {
    if (!(in >> word) || word_text_is_negative(text)) {
      fail("Generator::set_state: expected four unsigned 64-bit words, got {}", shown(text));
    }
  }
  std::string rest;
  if (in >> rest) {
    fail("Generator::set_state: expected four unsigned 64-bit words, got {}", shown(text));
  }
  if ((words[0] | words[1] | words[2] | words[3]) == 0) {
    fail("Generator::set_state: the all-zero state is not a valid xoshiro256** state");
  }
  for (int i = 0; i < 4; ++i) state_[i] = words[i];
}

double Generator::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Generator::normal() {
  const double u1 = 1.0 - uniform();  // in (0, 1], so log is finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) {
  default_generator().manual_seed(seed);
}

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator) {
  Generator& g = generator ? *generator : default_generator();
  return generate(shape, options, "rand", [&] { return g.uniform(); });
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* generator) {
  Generator& g = generator ? *generator : default_generator();
  return generate(shape, options, "randn", [&] { return g.normal(); });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* generator) {
  if (high <= low) fail("randint: expected low < high, got [{}, {})", low, high);
  check_shape(shape, "randint");
  Generator& g = generator ? *generator : default_generator();
  const auto range = static_cast<uint64_t>(high - low);
  std::vector<int64_t> values(static_cast<size_t>(numel_of(shape)));
  for (int64_t& value : values) value = low + static_cast<int64_t>(g.next_u64() % range);
  return from_vector(values, shape, {kInt64});
}

}  // namespace heed
