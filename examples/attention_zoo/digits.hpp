// The 8x8 handwritten digits (UCI, as scikit-learn ships them: digits.csv.gz, 1,797 rows of 64
// pixels 0..16 and a class 0..9), read and checked as untrusted input, split with a seed, and
// pasted onto larger canvases for the detector.
#pragma once

#include <cstdint>
#include <string>

#include "engine/generator.hpp"
#include "engine/tensor.hpp"

namespace zoo {

struct Digits {
  heed::Tensor images;  // (N, 1, 8, 8) float32, ink in [0, 1]
  heed::Tensor labels;  // (N) int64, 0..9
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// The default file: the project's shared data beside the checkout (set at build time).
std::string default_digits_path();

// Reads a gzip'd or plain CSV of rows "p0,...,p63,class". heed::Error naming the file and line
// for anything else: a short or long row, a pixel outside 0..16, a class outside 0..9, a file
// that is not gzip or text, more than a million rows or 64 MiB unpacked.
Digits load_digits(const std::string& path);

// A seeded shuffle cut in two: the first `train_fraction` of the rows and the rest.
void split_digits(const Digits& all, double train_fraction, uint64_t seed, Digits& train,
                  Digits& held_out);

// Rows `index` (int64) of the set.
Digits take(const Digits& digits, const heed::Tensor& index);

// Each image (N, 1, H, W) moved by a random whole number of pixels in [-max_shift, max_shift]
// along each axis, zeros filling in: the augmentation that keeps a small classifier from
// learning where a digit sits instead of what it is.
heed::Tensor random_shifts(const heed::Tensor& images, int64_t max_shift,
                           heed::Generator& generator);

// The detection task: each digit, scaled up `scale` times, pasted at a random place on a blank
// `canvas` x `canvas` image. boxes (N, 4) = (left, top, right, bottom) / canvas, in [0, 1].
struct Canvases {
  heed::Tensor images;  // (N, 1, canvas, canvas)
  heed::Tensor labels;  // (N) int64
  heed::Tensor boxes;   // (N, 4)
};
Canvases paste_on_canvases(const Digits& digits, int64_t canvas, int64_t scale,
                           heed::Generator& generator);

// The intersection over union of boxes (N, 4) and (N, 4), (left, top, right, bottom): (N).
heed::Tensor box_iou(const heed::Tensor& a, const heed::Tensor& b);

}  // namespace zoo
