// The vision models' forward passes, shapes on every line.
#include "examples/attention_zoo/vision.hpp"

namespace zoo {

using namespace heed;

namespace {

Tensor leaky_relu(const Tensor& x, double slope = 0.2) {
  return maximum(x, x * slope);
}

// (B, 2, H, W): x then y of each pixel's centre, in [0, 1]
Tensor coordinate_channels(int64_t batch, int64_t height, int64_t width, DType dtype) {
  std::vector<double> values;
  for (int64_t axis = 0; axis < 2; ++axis) {
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        values.push_back(axis == 0 ? (double(x) + 0.5) / double(width)
                                   : (double(y) + 0.5) / double(height));
      }
    }
  }
  return tensor(values, {1, 2, height, width}, {dtype}).expand({batch, 2, height, width});
}

}  // namespace

SpatialAttentionPool::SpatialAttentionPool(int64_t channels) : Module("SpatialAttentionPool") {
  score = register_module("score", std::make_shared<nn::Linear>(channels, 1));
}

std::pair<Tensor, Tensor> SpatialAttentionPool::forward(const Tensor& features) {
  const int64_t B = features.size(0), C = features.size(1);
  const int64_t H = features.size(2), W = features.size(3);
  const Tensor positions = features.flatten(2).transpose(1, 2);   // (B, H W, C)
  const Tensor scores = (*score)(positions).squeeze(-1);          // (B, H W)
  const Tensor weights = softmax(scores, -1);                     // (B, H W), over positions
  const Tensor pooled = matmul(weights.unsqueeze(1), positions);  // (B, 1, C)
  return {pooled.reshape({B, C}), weights.reshape({B, H, W})};
}

DigitClassifier::DigitClassifier(int64_t c1, int64_t c2) : Module("DigitClassifier") {
  conv1 = register_module(
      "conv1", std::make_shared<nn::Conv2d>(1, c1, Size2d{3, 3}, Conv2dOptions{.padding = {1, 1}}));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c1, c2, Size2d{3, 3},
                                                                Conv2dOptions{.padding = {1, 1}}));
  attention = register_module("attention", std::make_shared<SpatialAttentionPool>(c2));
  fc = register_module("fc", std::make_shared<nn::Linear>(c2, 10));
}

DigitClassifier::Output DigitClassifier::forward(const Tensor& images) {
  const Tensor h1 = max_pool2d(relu((*conv1)(images)), {2, 2});  // (B, 32, 4, 4)
  const Tensor h2 = relu((*conv2)(h1));  // (B, 64, 4, 4): each position sees most of the digit
  const auto [pooled, weights] = attention->forward(h2);  // (B, 64), (B, 4, 4)
  return {(*fc)(pooled), weights};                        // (B, 10)
}

ArticleClassifier::ArticleClassifier() : Module("ArticleClassifier") {
  conv1 = register_module(
      "conv1", std::make_shared<nn::Conv2d>(1, 32, Size2d{3, 3}, Conv2dOptions{.padding = {1, 1}}));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(32, 64, Size2d{3, 3},
                                                                Conv2dOptions{.padding = {1, 1}}));
  attention = register_module("attention", std::make_shared<nn::Linear>(64, 1));
  fc = register_module("fc", std::make_shared<nn::Linear>(64, 10));
}

Tensor ArticleClassifier::forward(const Tensor& images) {
  const Tensor h = relu((*conv2)(relu((*conv1)(images))));  // (B, 64, H, W)
  const Tensor flat = h.flatten(2);                         // (B, 64, H W)
  // The article's line: Linear(64, 1) over the last axis, which is H W, not the channels.
  const Tensor scores = (*attention)(flat);         // (B, 64, 1): one score per channel
  const Tensor weights = softmax(scores, 1);        // (B, 64, 1): a softmax over channels
  const Tensor pooled = (weights * flat).sum({1});  // (B, H W): channels summed away
  return (*fc)(pooled);                             // (B, 10), again only when H W = 64
}

DigitDetector::DigitDetector(int64_t c1, int64_t c2) : Module("DigitDetector") {
  conv1 = register_module(
      "conv1", std::make_shared<nn::Conv2d>(3, c1, Size2d{3, 3}, Conv2dOptions{.padding = {1, 1}}));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c1, c2, Size2d{3, 3},
                                                                Conv2dOptions{.padding = {1, 1}}));
  conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(c2, c2, Size2d{3, 3},
                                                                Conv2dOptions{.padding = {1, 1}}));
  attention = register_module("attention", std::make_shared<SpatialAttentionPool>(c2));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c2, 10));
  box = register_module("box", std::make_shared<nn::Linear>(c2 + 2, 4));
}

DigitDetector::Output DigitDetector::forward(const Tensor& canvases) {
  const int64_t B = canvases.size(0), H = canvases.size(2), W = canvases.size(3);
  const Tensor input =
      cat({canvases, coordinate_channels(B, H, W, canvases.dtype())}, 1);  // (B, 3, H, W)
  const Tensor h1 = max_pool2d(relu((*conv1)(input)), {2, 2});             // (B, 32, H/2, W/2)
  const Tensor h2 = max_pool2d(relu((*conv2)(h1)), {2, 2});                // (B, 64, H/4, W/4)
  // each position now sees 18x18 pixels: a whole digit of 16
  const Tensor h3 = relu((*conv3)(h2));                   // (B, 64, H/4, W/4)
  const auto [pooled, weights] = attention->forward(h3);  // (B, 64), (B, H/4, W/4)
  // where the attention looked: the expected x and y of its weights
  const Tensor grid = coordinate_channels(1, H / 4, W / 4, canvases.dtype())
                          .reshape({1, 2, (H / 4) * (W / 4)})
                          .transpose(1, 2);                                    // (1, P, 2)
  const Tensor centre = matmul(weights.reshape({B, 1, -1}), grid).squeeze(1);  // (B, 2)
  const Tensor boxes = sigmoid((*box)(cat({pooled, centre}, 1)));              // (B, 4)
  return {(*classifier)(pooled), boxes, weights};
}

DigitGenerator::DigitGenerator(int64_t noise, int64_t c1, int64_t c2)
    : Module("DigitGenerator"), noise_size(noise), channels1(c1) {
  const ConvTranspose2dOptions doubling{.stride = {2, 2}, .padding = {1, 1}};
  fc = register_module("fc", std::make_shared<nn::Linear>(noise, c1 * 2 * 2));
  deconv1 = register_module("deconv1",
                            std::make_shared<nn::ConvTranspose2d>(c1, c2, Size2d{4, 4}, doubling));
  attention = register_module("attention", std::make_shared<nn::Linear>(c2, 1));
  deconv2 = register_module("deconv2",
                            std::make_shared<nn::ConvTranspose2d>(c2, 1, Size2d{4, 4}, doubling));
}

DigitGenerator::Output DigitGenerator::forward(const Tensor& noise) {
  const int64_t B = noise.size(0);
  const Tensor h0 = relu((*fc)(noise)).reshape({B, channels1, 2, 2});       // (B, c1, 2, 2)
  const Tensor h1 = relu((*deconv1)(h0));                                   // (B, c2, 4, 4)
  const Tensor positions = h1.flatten(2).transpose(1, 2);                   // (B, 16, c2)
  const Tensor weights = softmax((*attention)(positions).squeeze(-1), -1);  // (B, 16)
  // re-weight each position, keeping the map: 16 w averages 1 over the positions
  const Tensor reweighted = h1 * (weights * 16.0).reshape({B, 1, 4, 4});  // (B, c2, 4, 4)
  const Tensor images = sigmoid((*deconv2)(reweighted));                  // (B, 1, 8, 8)
  return {images, weights.reshape({B, 4, 4})};
}

DigitDiscriminator::DigitDiscriminator(int64_t c1, int64_t c2) : Module("DigitDiscriminator") {
  const Conv2dOptions halving{.stride = {2, 2}, .padding = {1, 1}};
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(1, c1, Size2d{3, 3}, halving));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c1, c2, Size2d{3, 3}, halving));
  fc = register_module("fc", std::make_shared<nn::Linear>(c2 * 2 * 2, 1));
}

Tensor DigitDiscriminator::forward(const Tensor& images) {
  const Tensor h1 = leaky_relu((*conv1)(images));  // (B, 32, 4, 4)
  const Tensor h2 = leaky_relu((*conv2)(h1));      // (B, 64, 2, 2)
  return (*fc)(h2.flatten(1)).squeeze(-1);         // (B)
}

}  // namespace zoo
