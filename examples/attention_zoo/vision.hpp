// The zoo's three vision models (widths as trained by default; the tests use narrower ones),
// with the attention the article meant: a score per spatial
// position computed from that position's channels, a softmax over the positions, and a
// weighted sum (or a re-weighting) of the positions. Submodule names match the PyTorch twins in
// tests/generate_attention_zoo.py, so weights move between the two by name.
#pragma once

#include "nn/nn.hpp"

namespace zoo {

using heed::Tensor;

// features (B, C, H, W) -> pooled (B, C) and weights (B, H, W): scores = Linear(C, 1) of each
// position's C channels, softmax over the H W positions, pooled = sum of weights * features.
class SpatialAttentionPool : public heed::nn::Module {
 public:
  explicit SpatialAttentionPool(int64_t channels);
  std::pair<Tensor, Tensor> forward(const Tensor& features);
  std::shared_ptr<heed::nn::Linear> score;
};

// Two 3x3 convolutions (1 -> 32 -> 64 channels, a 2x2 max pool between them), attention pooling
// over the 4x4 positions, Linear(64, 10).
class DigitClassifier : public heed::nn::Module {
 public:
  explicit DigitClassifier(int64_t channels1 = 32, int64_t channels2 = 64);
  struct Output {
    Tensor logits;   // (B, 10)
    Tensor weights;  // (B, 4, 4): where the model looked
  };
  Output forward(const Tensor& images);  // (B, 1, 8, 8)
  std::shared_ptr<heed::nn::Conv2d> conv1, conv2;
  std::shared_ptr<SpatialAttentionPool> attention;
  std::shared_ptr<heed::nn::Linear> fc;
};

// The article's classifier as printed: Linear(64, 1) meets the flattened H W axis, so it runs
// only when H W = 64, and its softmax weighs channels, not positions. Kept to show the bug.
class ArticleClassifier : public heed::nn::Module {
 public:
  ArticleClassifier();
  Tensor forward(const Tensor& images);  // (B, 1, H, W) -> (B, 10), or an error unless H W = 64
  std::shared_ptr<heed::nn::Conv2d> conv1, conv2;
  std::shared_ptr<heed::nn::Linear> attention, fc;
};

// One digit on a canvas: three convolutions (two 2x2 max pools between them) over the image and
// two coordinate channels (x, y in [0, 1]), attention pooling over the positions; the class head
// reads the pooled features, the box head those and the attention's expected (x, y).
class DigitDetector : public heed::nn::Module {
 public:
  explicit DigitDetector(int64_t channels1 = 32, int64_t channels2 = 64);
  struct Output {
    Tensor logits;   // (B, 10)
    Tensor boxes;    // (B, 4): left, top, right, bottom in [0, 1]
    Tensor weights;  // (B, H / 4, W / 4)
  };
  Output forward(const Tensor& canvases);  // (B, 1, H, W), H and W multiples of 4
  std::shared_ptr<heed::nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<SpatialAttentionPool> attention;
  std::shared_ptr<heed::nn::Linear> classifier, box;
};

// The article's GAN generator, fixed: noise -> (128, 2, 2) -> ConvTranspose2d -> (64, 4, 4) ->
// attention that re-weights the 16 positions (softmax scores, scaled so they average 1; the
// article squeezed the map to one number per channel here) -> ConvTranspose2d -> (1, 8, 8).
class DigitGenerator : public heed::nn::Module {
 public:
  explicit DigitGenerator(int64_t noise = 32, int64_t channels1 = 128, int64_t channels2 = 64);
  struct Output {
    Tensor images;   // (B, 1, 8, 8), ink in [0, 1]
    Tensor weights;  // (B, 4, 4)
  };
  Output forward(const Tensor& noise);  // (B, noise)
  int64_t noise_size, channels1;
  std::shared_ptr<heed::nn::Linear> fc, attention;
  std::shared_ptr<heed::nn::ConvTranspose2d> deconv1, deconv2;
};

// Two strided convolutions and a linear score: one logit per image (real > 0).
class DigitDiscriminator : public heed::nn::Module {
 public:
  explicit DigitDiscriminator(int64_t channels1 = 32, int64_t channels2 = 64);
  Tensor forward(const Tensor& images);  // (B, 1, 8, 8) -> (B)
  std::shared_ptr<heed::nn::Conv2d> conv1, conv2;
  std::shared_ptr<heed::nn::Linear> fc;
};

}  // namespace zoo
