// Shapes, strides and the broadcasting rules shared by every op.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace heed {

inline constexpr int64_t kMaxDims = 8;

// A shape or strides: a short list of int64_t kept inside the object, with the part of
// std::vector's interface the engine uses. Why not std::vector: every tensor, view, autograd edge
// and saved shape holds one or two, and a heap allocation each made allocation the largest fixed
// cost of a small op (bench/op_overhead). Tensors have at most kMaxDims dims (check_shape says
// so, naming the op); a Shape holds up to kCapacity numbers, so that a shape one op is about to
// refuse still reaches that check, and more is a heed::Error here.
class Shape {
 public:
  static constexpr size_t kCapacity = 16;
  using value_type = int64_t;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using reference = int64_t&;
  using const_reference = const int64_t&;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  Shape() = default;
  Shape(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  explicit Shape(size_t count, int64_t value = 0) {
    check_fits(count);
    size_ = count;
    std::fill(begin(), end(), value);
  }
  template <std::input_iterator Iterator>
  Shape(Iterator first, Iterator last) {
    assign(first, last);
  }
  // To and from std::vector<int64_t>, which dims lists and the public API use.
  Shape(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }
  operator std::vector<int64_t>() const { return {begin(), end()}; }

  template <std::input_iterator Iterator>
  void assign(Iterator first, Iterator last) {
    if constexpr (std::forward_iterator<Iterator>) {  // checked before anything changes
      check_fits(static_cast<size_t>(std::distance(first, last)));
    }
    size_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return values_; }
  const int64_t* data() const { return values_; }
  iterator begin() { return values_; }
  iterator end() { return values_ + size_; }
  const_iterator begin() const { return values_; }
  const_iterator end() const { return values_ + size_; }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  reverse_iterator rbegin() { return reverse_iterator(end()); }
  reverse_iterator rend() { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }
  int64_t& operator[](size_t i) {
    assert(i < size_);
    return values_[i];
  }
  const int64_t& operator[](size_t i) const {
    assert(i < size_);
    return values_[i];
  }
  int64_t& front() { return values_[0]; }
  const int64_t& front() const { return values_[0]; }
  int64_t& back() { return values_[size_ - 1]; }
  const int64_t& back() const { return values_[size_ - 1]; }

  void push_back(int64_t value) {
    check_fits(size_ + 1);
    values_[size_++] = value;
  }
  void pop_back() {
    assert(size_ > 0);
    --size_;
  }
  void clear() { size_ = 0; }
  void resize(size_t count, int64_t value = 0) {
    check_fits(count);
    for (size_t i = size_; i < count; ++i) values_[i] = value;
    size_ = count;
  }
  iterator insert(const_iterator position, int64_t value) {
    const auto at = static_cast<size_t>(position - begin());
    check_fits(size_ + 1);
    std::copy_backward(values_ + at, values_ + size_, values_ + size_ + 1);
    values_[at] = value;
    ++size_;
    return values_ + at;
  }
  template <std::forward_iterator Iterator>
  iterator insert(const_iterator position, Iterator first, Iterator last) {
    check_fits(size_ + static_cast<size_t>(std::distance(first, last)));  // before any change
    const auto at = static_cast<size_t>(position - begin());
    const Shape tail(values_ + at, values_ + size_);
    size_ = at;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
    for (int64_t value : tail) push_back(value);
    return values_ + at;
  }
  iterator erase(const_iterator position) { return erase(position, position + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const auto at = static_cast<size_t>(first - begin());
    const auto count = static_cast<size_t>(last - first);
    std::copy(values_ + at + count, values_ + size_, values_ + at);
    size_ -= count;
    return values_ + at;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const Shape& a, const std::vector<int64_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  static void check_fits(size_t count);  // a heed::Error beyond kCapacity

  int64_t values_[kCapacity] = {};
  size_t size_ = 0;
};

// The element count of a shape already checked by check_shape (which guarantees it fits).
int64_t numel_of(const Shape& shape);
// The element count, or a heed::Error naming `op` and the shape when it overflows int64_t.
int64_t checked_numel(const Shape& shape, std::string_view op);
// The bytes a contiguous tensor of this shape needs, or a heed::Error naming `op` and the shape
// when that exceeds kMaxAllocationBytes (engine/checked_size.hpp).
size_t checked_bytes(const Shape& shape, size_t element_bytes, std::string_view op);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

// Wraps a possibly negative dim into [0, ndim); `op` names the caller in the error.
int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op);

// NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// True when `from` broadcasts to exactly `to` (a mask to the scores it masks, a source to the
// view it is copied into).
bool broadcasts_to(const Shape& from, const Shape& to);

// Checks a shape has at most kMaxDims dims, no negative size, and an element count that fits.
void check_shape(const Shape& shape, std::string_view op);

}  // namespace heed
