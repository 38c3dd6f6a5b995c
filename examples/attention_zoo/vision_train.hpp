// Training and evaluating the zoo's vision models on the 8x8 digits: `classify`, `detect` and
// `gan`. Each returns the held-out figures its target is stated in.
#pragma once

#include <cstdint>
#include <string>

namespace zoo {

struct VisionOptions {
  std::string data = {};  // the digits CSV (gzip or plain); "" for the project's copy
  int64_t epochs = 0;     // 0: the subcommand's default
  int64_t batch_size = 64;
  double lr = 0;  // 0: the subcommand's default
  uint64_t seed = 0;
  std::string checkpoint = {};  // where to save the trained model; "" for none
  std::string picture = {};     // attention maps / boxes / samples drawn here; "" for none
  std::string classifier = {};  // gan: the trained classifier that judges the samples
  std::string plot_loss = {};   // gan: the loss curves
  int64_t sample_every = 0;     // gan: a grid of samples every N steps (beside --picture)
  bool quiet = false;           // no progress lines
};

struct ClassifyResult {
  double train_accuracy = 0, held_out_accuracy = 0, seconds = 0;
  int64_t held_out = 0;
};
ClassifyResult train_classifier(const VisionOptions& options);

struct DetectResult {
  double class_accuracy = 0;  // held-out canvases whose digit is named right
  double iou_share = 0;       // held-out canvases whose box has IoU >= 0.7
  double mean_iou = 0, seconds = 0;
  int64_t held_out = 0;
};
DetectResult train_detector(const VisionOptions& options);

struct GanResult {
  double confident_share = 0;  // samples the classifier names with probability >= 0.9
  int64_t samples = 0, steps = 0;
  double seconds = 0;
};
GanResult train_gan(const VisionOptions& options);

}  // namespace zoo
