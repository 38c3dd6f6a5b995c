// The vision models' training loops: Adam over seeded shuffles of the 80% training split, then
// the held-out figures with gradients off.
#include "examples/attention_zoo/vision_train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "examples/attention_zoo/digits.hpp"
#include "examples/attention_zoo/trainer.hpp"
#include "examples/attention_zoo/vision.hpp"
#include "examples/common/image_grid.hpp"
#include "examples/common/line_plot.hpp"
#include "examples/common/progress.hpp"

namespace zoo {

using namespace heed;

namespace {

struct Split {
  Digits train, held_out;
};

Split load_split(const VisionOptions& options) {
  const Digits all = load_digits(options.data.empty() ? default_digits_path() : options.data);
  Split split;
  split_digits(all, 0.8, options.seed, split.train, split.held_out);
  if (split.train.size() < 10 || split.held_out.size() < 1) {
    fail(
        "digits: {} rows split 80/20 give {} to train on and {} held out; expected at least 10 "
        "and 1 (the project's file has 1,797 rows)",
        all.size(), split.train.size(), split.held_out.size());
  }
  return split;
}

// The batches of one epoch: a seeded permutation of [0, n) cut into index tensors.
std::vector<Tensor> epoch_batches(int64_t n, int64_t batch_size, Generator& generator) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with the run's generator
    std::swap(order[i], order[generator.next_u64() % static_cast<uint64_t>(i + 1)]);
  }
  std::vector<Tensor> batches;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t size = std::min(batch_size, n - start);
    batches.push_back(int_tensor(
        std::vector<int64_t>(order.begin() + start, order.begin() + start + size), {size}));
  }
  return batches;
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  return eq(argmax(logits, 1), labels).to(kFloat64).mean().item<double>();
}

// Trains `model` on `train` in place: Adam with a warmup and cosine decay, cross-entropy on
// images shifted by up to a pixel, the options' epochs (default 60).
void fit_classifier(DigitClassifier& model, const Digits& train, const VisionOptions& options) {
  const int64_t epochs = options.epochs > 0 ? options.epochs : 60;
  const int64_t steps_per_epoch = (train.size() + options.batch_size - 1) / options.batch_size;
  Trainer trainer({.name = "classify",
                   .parameters = model.parameters(),
                   .lr = options.lr > 0 ? options.lr : 0.01,
                   .epochs = epochs,
                   .steps_per_epoch = steps_per_epoch,
                   .warmup_steps = steps_per_epoch,
                   .min_lr_factor = 0.02,
                   .quiet = options.quiet});
  Generator shuffle(options.seed + 1), shifts(options.seed + 5);
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    for (const Tensor& batch : epoch_batches(train.size(), options.batch_size, shuffle)) {
      const Digits b = take(train, batch);
      const Tensor images = random_shifts(b.images, 1, shifts);  // (B, 1, 8, 8)
      trainer.step(nn::cross_entropy(model.forward(images).logits, b.labels), epoch);
    }
  }
  trainer.finish();
}

}  // namespace

ClassifyResult train_classifier(const VisionOptions& options) {
  const auto start = examples::Clock::now();
  const Split data = load_split(options);
  manual_seed(options.seed);
  DigitClassifier model;
  fit_classifier(model, data.train, options);
  NoGradGuard no_grad;
  model.eval();
  ClassifyResult result;
  result.train_accuracy = accuracy(model.forward(data.train.images).logits, data.train.labels);
  const DigitClassifier::Output held = model.forward(data.held_out.images);
  result.held_out_accuracy = accuracy(held.logits, data.held_out.labels);
  result.held_out = data.held_out.size();
  if (!options.checkpoint.empty()) {
    nn::save_checkpoint(options.checkpoint, model, nullptr, {{"model", "classify"}});
  }
  if (!options.picture.empty()) {
    const Tensor predicted = argmax(held.logits, 1);
    std::vector<examples::GridImage> images;
    for (int64_t i = 0; i < std::min<int64_t>(16, result.held_out); ++i) {
      images.push_back({data.held_out.images.select(0, i).select(0, 0),
                        held.weights.select(0, i),
                        {},
                        {},
                        fmt::format("{} (true {})", predicted.select(0, i).item<int64_t>(),
                                    data.held_out.labels.select(0, i).item<int64_t>())});
    }
    examples::write_image_grid(options.picture,
                               "classify: where the attention pooling looked (red)", images, 8);
  }
  result.seconds = examples::seconds_since(start);
  return result;
}

DetectResult train_detector(const VisionOptions& options) {
  const auto start = examples::Clock::now();
  const Split data = load_split(options);
  const int64_t canvas = 32, scale = 2;
  Generator placing(options.seed + 2);
  const Canvases held_out = paste_on_canvases(data.held_out, canvas, scale, placing);
  manual_seed(options.seed);
  DigitDetector model;
  const int64_t epochs = options.epochs > 0 ? options.epochs : 80;
  const int64_t steps_per_epoch = (data.train.size() + options.batch_size - 1) / options.batch_size;
  Trainer trainer({.name = "detect",
                   .parameters = model.parameters(),
                   .lr = options.lr > 0 ? options.lr : 0.005,
                   .epochs = epochs,
                   .steps_per_epoch = steps_per_epoch,
                   .warmup_steps = steps_per_epoch,
                   .min_lr_factor = 0.02,
                   .quiet = options.quiet});
  Generator shuffle(options.seed + 1);
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    // every epoch puts the training digits somewhere new
    const Canvases train = paste_on_canvases(data.train, canvas, scale, placing);
    for (const Tensor& batch : epoch_batches(train.labels.size(0), options.batch_size, shuffle)) {
      const Tensor images = index_select(train.images, 0, batch);  // (B, 1, 32, 32)
      const Tensor labels = index_select(train.labels, 0, batch);  // (B)
      const Tensor boxes = index_select(train.boxes, 0, batch);    // (B, 4)
      const DigitDetector::Output out = model.forward(images);
      // the class's cross-entropy and the box's mean absolute error, in canvas widths
      trainer.step(nn::cross_entropy(out.logits, labels) + 10.0 * (out.boxes - boxes).abs().mean(),
                   epoch);
    }
  }
  trainer.finish();
  NoGradGuard no_grad;
  model.eval();
  const DigitDetector::Output out = model.forward(held_out.images);
  const Tensor iou = box_iou(out.boxes, held_out.boxes);  // (N)
  DetectResult result;
  result.held_out = held_out.labels.size(0);
  result.class_accuracy = accuracy(out.logits, held_out.labels);
  result.iou_share = ge(iou, scalar_like(iou, 0.7)).to(kFloat64).mean().item<double>();
  result.mean_iou = iou.to(kFloat64).mean().item<double>();
  if (!options.checkpoint.empty()) {
    nn::save_checkpoint(options.checkpoint, model, nullptr, {{"model", "detect"}});
  }
  if (!options.picture.empty()) {
    const Tensor predicted = argmax(out.logits, 1);
    std::vector<examples::GridImage> images;
    for (int64_t i = 0; i < std::min<int64_t>(12, result.held_out); ++i) {
      images.push_back({held_out.images.select(0, i).select(0, 0), out.weights.select(0, i),
                        out.boxes.select(0, i).to_vector<double>(),
                        held_out.boxes.select(0, i).to_vector<double>(),
                        fmt::format("{} ({}) IoU {:.2f}", predicted.select(0, i).item<int64_t>(),
                                    held_out.labels.select(0, i).item<int64_t>(),
                                    iou.select(0, i).item<double>())});
    }
    examples::write_image_grid(options.picture,
                               "detect: predicted (true) digit; attention (red), found box (blue), "
                               "true box (dashed green)",
                               images, 6);
  }
  result.seconds = examples::seconds_since(start);
  return result;
}

namespace {

// --classifier must be a checkpoint `attention_zoo classify --checkpoint` wrote.
void check_classifier_checkpoint(const std::string& path) {
  const nn::Metadata metadata = nn::read_checkpoint_metadata(path);
  const auto model = metadata.find("model");
  if (model == metadata.end() || model->second != "classify") {
    fail(
        "gan: --classifier {}: expected a checkpoint written by `attention_zoo classify "
        "--checkpoint`, found {}",
        path,
        model == metadata.end() ? "no 'model' entry in its metadata"
                                : "a '" + model->second + "' model");
  }
}

// The generator's samples as a grid.
void draw_samples(const std::string& path, const std::string& title, const Tensor& images) {
  std::vector<examples::GridImage> grid;
  for (int64_t i = 0; i < images.size(0); ++i) {
    grid.push_back({images.select(0, i).select(0, 0), {}, {}, {}, ""});
  }
  examples::write_image_grid(path, title, grid, 8);
}

// "runs/samples.png" with a step: "runs/samples_step500.png" (the file's name changes, never
// its folder).
std::string with_step(const std::string& path, int64_t step) {
  const std::filesystem::path p(path);
  const std::string name =
      fmt::format("{}_step{}{}", p.stem().string(), step, p.extension().string());
  return (p.parent_path() / name).string();
}

}  // namespace

GanResult train_gan(const VisionOptions& options) {
  const auto start = examples::Clock::now();
  if (!options.classifier.empty()) check_classifier_checkpoint(options.classifier);  // before work
  const Split data = load_split(options);
  // The judge: a trained classifier from --classifier, or one trained here first.
  manual_seed(options.seed);
  DigitClassifier judge;
  if (!options.classifier.empty()) {
    nn::load_checkpoint(options.classifier, judge);
  } else {
    VisionOptions quietly = options;  // the classify subcommand's defaults, not the GAN's
    quietly.epochs = 0;
    quietly.lr = 0;
    quietly.quiet = true;
    fit_classifier(judge, data.train, quietly);
    if (!options.quiet) fmt::print("gan: trained the judging classifier first\n");
  }
  judge.eval();

  DigitGenerator generator, averaged;  // averaged: the weights' moving average, which samples
  DigitDiscriminator discriminator;
  averaged.load_state_dict(generator.state_dict());
  const std::vector<Tensor> live = generator.parameters();
  std::vector<Tensor> slow = averaged.parameters();
  const nn::AdamOptions betas{.beta1 = 0.5, .beta2 = 0.999};
  const double lr = options.lr > 0 ? options.lr : 0.002;
  nn::Adam generator_optimizer({{generator.parameters(), lr}}, betas);
  nn::Adam discriminator_optimizer({{discriminator.parameters(), lr}}, betas);
  Generator shuffle(options.seed + 1), noise(options.seed + 4);
  const auto draw_noise = [&](int64_t count) {
    return randn({count, generator.noise_size}, {}, &noise);  // (count, noise)
  };
  const Tensor fixed_noise = draw_noise(32);  // the same 32 samples at every drawing
  examples::ProgressLine progress;
  std::vector<examples::Series> curves{{"discriminator", {}, {}}, {"generator", {}, {}}};
  const int64_t epochs = options.epochs > 0 ? options.epochs : 400;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    for (const Tensor& batch : epoch_batches(data.train.size(), options.batch_size, shuffle)) {
      ++step;
      const Tensor real = index_select(data.train.images, 0, batch);            // (B, 1, 8, 8)
      const Tensor fake = generator.forward(draw_noise(batch.size(0))).images;  // (B, 1, 8, 8)
      // the discriminator: log sigmoid(D(real)) + log(1 - sigmoid(D(fake))), as softplus
      const Tensor d_loss = softplus(-discriminator.forward(real)).mean() +
                            softplus(discriminator.forward(fake.detach())).mean();
      check_finite_loss("gan", d_loss, epoch);
      discriminator_optimizer.zero_grad();
      d_loss.backward();
      discriminator_optimizer.step();
      // the generator, non-saturating: -log sigmoid(D(fake))
      const Tensor g_loss = softplus(-discriminator.forward(fake)).mean();
      generator_optimizer.zero_grad();
      g_loss.backward();
      generator_optimizer.step();
      {
        // averaged = decay averaged + (1 - decay) generator: the samples of a GAN's last
        // thousand steps, smoothed, are sharper than those of its last step. The decay
        // (1 + step) / (10 + step) grows from 0.18 at step 1 to its cap of 0.999, so the average
        // soon forgets the untrained initial weights instead of keeping 0.999^step of them.
        NoGradGuard no_grad;
        const double decay = std::min(0.999, double(1 + step) / double(10 + step));
        for (size_t i = 0; i < live.size(); ++i) {
          slow[i].copy_(slow[i] * decay + live[i] * (1 - decay));
        }
      }
      curves[0].x.push_back(double(step));
      curves[0].y.push_back(d_loss.item<double>());
      curves[1].x.push_back(double(step));
      curves[1].y.push_back(g_loss.item<double>());
      if (options.sample_every > 0 && step % options.sample_every == 0 &&
          !options.picture.empty()) {
        NoGradGuard no_grad;
        draw_samples(with_step(options.picture, step), fmt::format("gan: samples at step {}", step),
                     averaged.forward(fixed_noise).images);
      }
    }
    if (!options.quiet) {
      progress.update(fmt::format("gan: epoch {}/{}  step {}  D loss {:.3f}  G loss {:.3f}  {}",
                                  epoch, epochs, step, curves[0].y.back(), curves[1].y.back(),
                                  examples::format_duration(examples::seconds_since(start))));
    }
  }
  progress.break_line();
  NoGradGuard no_grad;
  GanResult result;
  result.steps = step;
  result.samples = 500;
  const Tensor samples = averaged.forward(draw_noise(result.samples)).images;      // (500, 1, 8, 8)
  const Tensor confidence = amax(softmax(judge.forward(samples).logits, 1), {1});  // (500)
  result.confident_share =
      ge(confidence, scalar_like(confidence, 0.9)).to(kFloat64).mean().item<double>();
  if (!options.checkpoint.empty()) {
    nn::save_checkpoint(options.checkpoint, averaged, nullptr, {{"model", "gan"}});
  }
  if (!options.picture.empty()) {
    draw_samples(options.picture, fmt::format("gan: samples after {} steps", step),
                 averaged.forward(fixed_noise).images);
  }
  if (!options.plot_loss.empty()) {
    examples::write_line_plot(options.plot_loss, "gan: losses", "step", "loss", curves);
  }
  result.seconds = examples::seconds_since(start);
  return result;
}

}  // namespace zoo
