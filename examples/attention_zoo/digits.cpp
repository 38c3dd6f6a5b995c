// Reading the digits (gzip through zlib, every field checked), the seeded split, and the
// canvases of the detection task.
#include "examples/attention_zoo/digits.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <numeric>
#include <random>

#include "engine/error.hpp"
#include "engine/heed.hpp"

namespace zoo {

using namespace heed;

namespace {

constexpr int64_t kPixels = 64;
constexpr int64_t kMaxRows = 1'000'000;
constexpr size_t kMaxUnpackedBytes = size_t{64} << 20;

// The file's bytes, unpacked when it is gzip (zlib reads plain files as they are).
std::string read_unpacked(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    fail(
        "digits: cannot read '{}': not a regular file (give the digits CSV with --data; the "
        "project's copy is shared/data/digits/digits.csv.gz beside the checkout)",
        path);
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) fail("digits: cannot open '{}'", path);
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const int got = gzread(file, buffer, sizeof buffer);
    if (got < 0) {
      int code = 0;
      const std::string why = gzerror(file, &code);
      gzclose(file);
      fail("digits: '{}' is not a readable gzip or text file ({})", path, why);
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<size_t>(got));
    if (bytes.size() > kMaxUnpackedBytes) {
      gzclose(file);
      fail("digits: '{}' unpacks to more than {} MiB; expected a file of about 0.5 MiB", path,
           kMaxUnpackedBytes >> 20);
    }
  }
  gzclose(file);
  return bytes;
}

// One whole number in [low, high] from `field`, or an error naming the line and column.
int64_t parse_field(std::string_view field, int64_t low, int64_t high, const std::string& where,
                    int64_t column) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size() || value < low || value > high) {
    fail("{}, field {}: expected a whole number in [{}, {}], got '{}'", where, column + 1, low,
         high, std::string(field.substr(0, 20)));
  }
  return value;
}

}  // namespace

std::string default_digits_path() {
  return HEED_DEFAULT_DIGITS;
}

Digits load_digits(const std::string& path) {
  const std::string text = read_unpacked(path);
  std::vector<double> pixels;
  std::vector<int64_t> labels;
  size_t start = 0;
  int64_t line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = fmt::format("digits: {}, line {}", path, line_number);
    if (static_cast<int64_t>(labels.size()) == kMaxRows) {
      fail("{}: more than {} rows", where, kMaxRows);
    }
    int64_t column = 0;
    size_t field_start = 0;
    while (true) {
      const size_t comma = line.find(',', field_start);
      const std::string_view field = line.substr(field_start, comma - field_start);
      if (column < kPixels) {
        pixels.push_back(double(parse_field(field, 0, 16, where, column)) / 16.0);
      } else if (column == kPixels) {
        labels.push_back(parse_field(field, 0, 9, where, column));
      }
      ++column;
      if (comma == std::string_view::npos) break;
      field_start = comma + 1;
    }
    if (column != kPixels + 1) {
      fail("{}: expected {} comma-separated numbers (64 pixels, then the class), got {}", where,
           kPixels + 1, column);
    }
  }
  const auto n = static_cast<int64_t>(labels.size());
  if (n == 0) fail("digits: '{}' holds no rows", path);
  return {tensor(pixels, {n, 1, 8, 8}), int_tensor(labels, {n})};
}

Digits take(const Digits& digits, const Tensor& index) {
  return {index_select(digits.images, 0, index), index_select(digits.labels, 0, index)};
}

void split_digits(const Digits& all, double train_fraction, uint64_t seed, Digits& train,
                  Digits& held_out) {
  std::vector<int64_t> order(static_cast<size_t>(all.size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle(seed);
  std::shuffle(order.begin(), order.end(), shuffle);
  const auto cut = static_cast<int64_t>(train_fraction * double(order.size()));
  const std::vector<int64_t> first(order.begin(), order.begin() + cut);
  const std::vector<int64_t> rest(order.begin() + cut, order.end());
  train = take(all, int_tensor(first, {cut}));
  held_out = take(all, int_tensor(rest, {all.size() - cut}));
}

Tensor random_shifts(const Tensor& images, int64_t max_shift, Generator& generator) {
  const int64_t n = images.size(0), H = images.size(2), W = images.size(3);
  const std::vector<double> source = images.to_vector<double>();
  std::vector<double> moved(source.size(), 0.0);
  const auto draw = [&] {
    return static_cast<int64_t>(generator.next_u64() % uint64_t(2 * max_shift + 1)) - max_shift;
  };
  for (int64_t i = 0; i < n; ++i) {
    const int64_t dy = draw(), dx = draw();
    for (int64_t y = std::max<int64_t>(0, dy); y < std::min(H, H + dy); ++y) {
      for (int64_t x = std::max<int64_t>(0, dx); x < std::min(W, W + dx); ++x) {
        moved[static_cast<size_t>((i * H + y) * W + x)] =
            source[static_cast<size_t>((i * H + y - dy) * W + x - dx)];
      }
    }
  }
  return tensor(moved, images.shape(), {images.dtype()});
}

Canvases paste_on_canvases(const Digits& digits, int64_t canvas, int64_t scale,
                           Generator& generator) {
  const int64_t side = 8 * scale, n = digits.size();
  if (side > canvas) fail("detect: a digit of {} pixels does not fit a canvas of {}", side, canvas);
  const std::vector<double> ink = digits.images.to_vector<double>();
  std::vector<double> pixels(static_cast<size_t>(n * canvas * canvas), 0.0);
  std::vector<double> boxes;
  for (int64_t i = 0; i < n; ++i) {
    const auto top = static_cast<int64_t>(generator.uniform() * double(canvas - side + 1));
    const auto left = static_cast<int64_t>(generator.uniform() * double(canvas - side + 1));
    for (int64_t y = 0; y < side; ++y) {
      for (int64_t x = 0; x < side; ++x) {
        pixels[(i * canvas + top + y) * canvas + left + x] =
            ink[i * 64 + (y / scale) * 8 + x / scale];
      }
    }
    for (int64_t edge : {left, top, left + side, top + side}) {
      boxes.push_back(double(edge) / double(canvas));
    }
  }
  return {tensor(pixels, {n, 1, canvas, canvas}), digits.labels, tensor(boxes, {n, 4})};
}

Tensor box_iou(const Tensor& a, const Tensor& b) {
  const Tensor left = maximum(a.select(1, 0), b.select(1, 0));
  const Tensor top = maximum(a.select(1, 1), b.select(1, 1));
  const Tensor right = minimum(a.select(1, 2), b.select(1, 2));
  const Tensor bottom = minimum(a.select(1, 3), b.select(1, 3));
  const Tensor inter =
      (right - left).clamp(0.0, std::nullopt) * (bottom - top).clamp(0.0, std::nullopt);
  const auto area = [](const Tensor& box) {
    return (box.select(1, 2) - box.select(1, 0)).clamp(0.0, std::nullopt) *
           (box.select(1, 3) - box.select(1, 1)).clamp(0.0, std::nullopt);
  };
  return inter / (area(a) + area(b) - inter + 1e-12);  // (N)
}

}  // namespace zoo
