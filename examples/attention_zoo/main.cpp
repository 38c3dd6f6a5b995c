// attention_zoo: the six models of the "attention in practice" article, each corrected, trained
// and shown with heed (docs/attention_zoo.md tells what each printed version got wrong).
//   attention_zoo classify    two convolutions and attention pooling over positions, 8x8 digits
//   attention_zoo detect      a digit on a canvas: its class and box, attention drawn
//   attention_zoo gan         the attention generator against a convolutional discriminator
//   attention_zoo seq2seq     LSTM encoder-decoder with concat scoring, on the date task
//   attention_zoo summarize   the same shape, extracting the marked words of a sentence
//   attention_zoo ner         a BiLSTM tagger with per-token attention: day, month, year, ...
// Nothing is downloaded: the digits are the project's shared data, the tasks are generated from
// a seed. Every flag is documented in --help. Errors print one line and exit with status 2.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "examples/attention_zoo/sequence_train.hpp"
#include "examples/attention_zoo/vision_train.hpp"
#include "examples/common/flags.hpp"
#include "examples/common/job.hpp"
#include "examples/common/progress.hpp"

using namespace zoo;

namespace {

const examples::IntRange kEpochs{0, 100000}, kBatch{1, 65536}, kEvery{0, 1000000000};
const examples::RealRange kLr{0, 10, true};

// The flags every vision subcommand shares.
void add_vision_options(CLI::App& command, VisionOptions& o, const std::string& epochs_default,
                        const std::string& lr_default) {
  command.add_option("--data", o.data,
                     "the digits CSV, gzip'd or plain (default: the project's "
                     "shared/data/digits/digits.csv.gz)");
  command
      .add_option("--epochs", o.epochs,
                  "passes over the training images (default " + epochs_default + ")")
      ->check(examples::in_range(kEpochs));
  command.add_option("--batch-size", o.batch_size, "images per step")
      ->capture_default_str()
      ->check(examples::in_range(kBatch));
  command.add_option("--lr", o.lr, "Adam learning rate (default " + lr_default + ")")
      ->check(examples::in_range(kLr));
  command.add_option("--seed", o.seed, "the split, the initial weights and the batches")
      ->capture_default_str()
      ->check(examples::in_range(examples::kSeedRange));
  command.add_option("--checkpoint", o.checkpoint, "save the trained model here (safetensors)");
  command.add_flag("--quiet", o.quiet, "no progress lines");
}

void check_outputs(const VisionOptions& o) {
  if (!o.checkpoint.empty()) examples::check_output_file(o.checkpoint, "--checkpoint");
  if (!o.picture.empty()) examples::check_output_file(o.picture, "--heatmap/--samples");
  if (!o.plot_loss.empty()) examples::check_output_file(o.plot_loss, "--plot-loss");
}

void run_classify(const VisionOptions& o) {
  check_outputs(o);
  const ClassifyResult r = train_classifier(o);
  fmt::print("classify: held-out accuracy {:.2f}% on {} images (train {:.2f}%), {}\n",
             100 * r.held_out_accuracy, r.held_out, 100 * r.train_accuracy,
             examples::format_duration(r.seconds));
  if (!o.picture.empty()) fmt::print("attention maps written to {}\n", o.picture);
}

void run_detect(const VisionOptions& o) {
  check_outputs(o);
  const DetectResult r = train_detector(o);
  fmt::print(
      "detect: held-out class accuracy {:.2f}%, IoU >= 0.7 on {:.2f}% (mean IoU {:.3f}) "
      "of {} canvases, {}\n",
      100 * r.class_accuracy, 100 * r.iou_share, r.mean_iou, r.held_out,
      examples::format_duration(r.seconds));
  if (!o.picture.empty()) fmt::print("boxes and attention written to {}\n", o.picture);
}

void run_gan(const VisionOptions& o) {
  check_outputs(o);
  const GanResult r = train_gan(o);
  fmt::print(
      "gan: {:.2f}% of {} samples named with confidence >= 0.9 by the classifier, after {} "
      "steps, {}\n",
      100 * r.confident_share, r.samples, r.steps, examples::format_duration(r.seconds));
  if (!o.picture.empty()) fmt::print("samples written to {}\n", o.picture);
  if (!o.plot_loss.empty()) fmt::print("loss curves written to {}\n", o.plot_loss);
}

// The flags every sequence subcommand shares.
void add_sequence_options(CLI::App& command, SequenceOptions& o,
                          const std::string& epochs_default) {
  command
      .add_option("--epochs", o.epochs,
                  "passes over the training examples (default " + epochs_default + ")")
      ->check(examples::in_range(kEpochs));
  command.add_option("--train-examples", o.train_examples, "generated training examples")
      ->capture_default_str()
      ->check(examples::in_range(examples::IntRange{1, 10000000}));
  command.add_option("--held-out", o.held_out, "generated held-out examples")
      ->capture_default_str()
      ->check(examples::in_range(examples::IntRange{1, 1000000}));
  command.add_option("--batch-size", o.batch_size, "examples per step")
      ->capture_default_str()
      ->check(examples::in_range(kBatch));
  command.add_option("--hidden", o.hidden, "LSTM and attention width")
      ->capture_default_str()
      ->check(examples::in_range(examples::IntRange{1, 4096}));
  command.add_option("--embed", o.embed, "embedding width")
      ->capture_default_str()
      ->check(examples::in_range(examples::IntRange{1, 4096}));
  command.add_option("--lr", o.lr, "Adam learning rate")
      ->capture_default_str()
      ->check(examples::in_range(kLr));
  command.add_option("--seed", o.seed, "the task, the initial weights and the batches")
      ->capture_default_str()
      ->check(examples::in_range(examples::kSeedRange));
  command.add_option("--checkpoint", o.checkpoint, "save the trained model here (safetensors)");
  command.add_option("--heatmap", o.heatmap,
                     "draw the attention of a few held-out examples (PNG or SVG)");
  command.add_flag("--quiet", o.quiet, "no progress lines");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attention_zoo: six attention models from an article, corrected and trained"};
  app.require_subcommand(1);
  examples::GlobalOptions global;
  examples::add_global_options(app, global);

  VisionOptions classify;
  CLI::App* classify_command = app.add_subcommand(
      "classify", "digits: two convolutions, attention pooling over the 64 positions");
  examples::add_global_options(*classify_command, global);
  add_vision_options(*classify_command, classify, "60", "0.01");
  classify_command->add_option("--heatmap", classify.picture,
                               "draw held-out digits with the attention over them (PNG or SVG)");

  VisionOptions detect;
  CLI::App* detect_command = app.add_subcommand(
      "detect", "one digit on a 32x32 canvas: its class and box from attention pooling");
  examples::add_global_options(*detect_command, global);
  add_vision_options(*detect_command, detect, "80", "0.005");
  detect_command->add_option("--heatmap", detect.picture,
                             "draw held-out canvases with attention and boxes (PNG or SVG)");

  VisionOptions gan;
  CLI::App* gan_command = app.add_subcommand(
      "gan", "the attention generator against a convolutional discriminator, on the digits");
  examples::add_global_options(*gan_command, global);
  add_vision_options(*gan_command, gan, "400", "0.002");
  gan_command->add_option("--samples", gan.picture, "draw 32 samples at the end (PNG or SVG)");
  gan_command
      ->add_option("--sample-every", gan.sample_every,
                   "also draw them every N steps, beside --samples (0: only at the end)")
      ->check(examples::in_range(kEvery));
  gan_command->add_option("--plot-loss", gan.plot_loss, "draw both losses per step");
  gan_command->add_option("--classifier", gan.classifier,
                          "the classifier that judges the samples (a `classify --checkpoint` "
                          "file; default: train one first)");

  SequenceOptions seq2seq, summarize, ner;
  CLI::App* seq2seq_command = app.add_subcommand(
      "seq2seq", "LSTM encoder-decoder with concat scoring, human dates to ISO 8601");
  CLI::App* summarize_command = app.add_subcommand(
      "summarize", "the same model extracting the marked words of a sentence, in order");
  CLI::App* ner_command = app.add_subcommand(
      "ner", "BiLSTM tagger with per-token attention: day, month, year, weekday, other");
  for (auto [command, options, epochs] :
       {std::tuple{seq2seq_command, &seq2seq, "12"},
        std::tuple{summarize_command, &summarize, "12"}, std::tuple{ner_command, &ner, "6"}}) {
    examples::add_global_options(*command, global);
    add_sequence_options(*command, *options, epochs);
  }

  summarize_command->add_option("--words", summarize.words,
                                "Tatoeba's tab-separated pairs, English first (default: the "
                                "project's shared/data/fra-eng/fra.txt)");

  try {
    examples::join_job();
  } catch (const std::exception& error) {
    return examples::report_error("attention_zoo", error.what());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() != 0) {
      return examples::report_error("attention_zoo", fmt::format("{} (see --help)", error.what()));
    }
    const int status = app.exit(error);  // --help
    examples::leave_job();
    return status;
  }
  try {
    examples::set_threads(global);
    if (classify_command->parsed()) run_classify(classify);
    if (detect_command->parsed()) run_detect(detect);
    if (gan_command->parsed()) run_gan(gan);
    if (seq2seq_command->parsed()) run_sequence_task(SequenceTask::seq2seq, seq2seq);
    if (summarize_command->parsed()) run_sequence_task(SequenceTask::summarize, summarize);
    if (ner_command->parsed()) run_sequence_task(SequenceTask::ner, ner);
  } catch (const std::bad_alloc&) {
    return examples::report_error("attention_zoo", "out of host memory");
  } catch (const std::exception& error) {
    return examples::report_error("attention_zoo", error.what());
  }
  examples::leave_job();
  return 0;
}
