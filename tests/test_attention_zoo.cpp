// The attention zoo (examples/attention_zoo): every model against its PyTorch twin at fixed
// weights (tests/generate_attention_zoo.py), the article's bugs shown as they happen, short
// training runs at looser bounds than the README's targets, and the digits file as hostile input.
#include <zlib.h>

#include "engine/sanitizer.hpp"
#include "examples/attention_zoo/digits.hpp"
#include "examples/attention_zoo/sequence.hpp"
#include "examples/attention_zoo/sequence_tasks.hpp"
#include "examples/attention_zoo/sequence_train.hpp"
#include "examples/attention_zoo/vision.hpp"
#include "examples/attention_zoo/vision_train.hpp"
#include "tests/nn_reference.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

const char* const kZooFile = "attention_zoo_reference.safetensors";

NNReference zoo_reference(const std::string& name, DType dtype) {
  return NNReference(name, dtype, kZooFile);
}

}  // namespace

TEST_CASE("attention zoo: the vision models match PyTorch, outputs and gradients") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref = zoo_reference("classify", dtype);
      zoo::DigitClassifier model(4, 6);
      model.to(dtype);
      ref.load_into(model);
      const Tensor images = ref.input("images");
      const auto out = model.forward(images);
      ref.check_outputs_and_backward({{"logits", out.logits}, {"weights", out.weights}}, rtol);
      ref.check_grad("images", images.grad(), rtol);
      ref.check_parameter_grads(model, rtol);
    }
    {
      const NNReference ref = zoo_reference("detect", dtype);
      zoo::DigitDetector model(4, 6);
      model.to(dtype);
      ref.load_into(model);
      const Tensor canvases = ref.input("canvases");
      const auto out = model.forward(canvases);
      ref.check_outputs_and_backward(
          {{"logits", out.logits}, {"boxes", out.boxes}, {"weights", out.weights}}, rtol);
      ref.check_grad("canvases", canvases.grad(), rtol);
      ref.check_parameter_grads(model, rtol);
    }
    {
      const NNReference ref = zoo_reference("generator", dtype);
      zoo::DigitGenerator model(5, 6, 4);
      model.to(dtype);
      ref.load_into(model);
      const Tensor noise = ref.input("noise");
      const auto out = model.forward(noise);
      ref.check_outputs_and_backward({{"images", out.images}, {"weights", out.weights}}, rtol);
      ref.check_grad("noise", noise.grad(), rtol);
      ref.check_parameter_grads(model, rtol);
    }
    {
      const NNReference ref = zoo_reference("discriminator", dtype);
      zoo::DigitDiscriminator model(4, 6);
      model.to(dtype);
      ref.load_into(model);
      const Tensor images = ref.input("images");
      ref.check_outputs_and_backward({{"logits", model.forward(images)}}, rtol);
      ref.check_grad("images", images.grad(), rtol);
      ref.check_parameter_grads(model, rtol);
    }
  }
}

TEST_CASE("attention zoo: the sequence models match PyTorch, outputs and gradients") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref = zoo_reference("seq2seq", dtype);
      zoo::Seq2Seq model(9, 7, 5, 6);
      model.to(dtype);
      ref.load_into(model);
      const auto [logits, weights] =
          model.forward(ref.input("source"), ref.input("valid_lens"), ref.input("target_in"));
      ref.check_outputs_and_backward({{"logits", logits}, {"weights", weights}}, rtol);
      ref.check_parameter_grads(model, rtol);
      // padding gets no attention
      CHECK(weights.select(0, 1).narrow(1, 3, 2).abs().sum().item<double>() == 0);
    }
    {
      const NNReference ref = zoo_reference("tagger", dtype);
      zoo::Tagger model(9, 5, 5, 6);
      model.to(dtype);
      ref.load_into(model);
      const auto out = model.forward(ref.input("tokens"), ref.input("valid_lens"));
      ref.check_outputs_and_backward({{"logits", out.logits}, {"weights", out.weights}}, rtol);
      ref.check_parameter_grads(model, rtol);
    }
  }
}

TEST_CASE(
    "the article's classifier weighs channels and runs only on 64 positions; the fix "
    "weighs positions at any size") {
  manual_seed(1);
  zoo::ArticleClassifier article;
  zoo::DigitClassifier fixed;
  CHECK(article.forward(rand({2, 1, 8, 8})).shape() == Shape{2, 10});  // 8 x 8 = 64: it runs
  check_error([&] { article.forward(rand({2, 1, 12, 12})); }, {"Linear", "(..., 64)", "144"});
  const auto out = fixed.forward(rand({2, 1, 12, 12}));
  CHECK(out.logits.shape() == Shape{2, 10});
  CHECK(out.weights.shape() == Shape{2, 6, 6});  // one weight per position (after the 2x2 pool)
  check_close(out.weights.sum({1, 2}), ones({2}), 1e-6, 1e-6);
}

TEST_CASE(
    "the article's seq2seq concatenation fails unless T = 1, and its linear score is blind "
    "to the decoder's state") {
  const int64_t T = 5, B = 2, H = 4;
  const Tensor state = rand({1, B, H}), outputs = rand({T, B, H});
  check_error([&] { cat({state, outputs}, 2); }, {"cat", "(1, 2, 4)", "(5, 2, 4)"});
  // The article's Linear(2H, 1) on cat(state, output_t): the state adds the same number to every
  // t, and the softmax over t cancels it, so two different states attend the same way.
  manual_seed(2);
  nn::Linear linear_score(2 * H, 1);
  const auto weights_for = [&](const Tensor& s) {
    const Tensor joined = cat({s.expand({T, B, H}), outputs}, 2);  // (T, B, 2H)
    return softmax(linear_score(joined).squeeze(-1), 0);           // (T, B)
  };
  check_close(weights_for(rand({1, B, H})), weights_for(rand({1, B, H})), 1e-6, 1e-6);
  // heed's ConcatAttention (v . tanh(W [s; o])) looks elsewhere for another state.
  zoo::ConcatAttention attention(H);
  const Tensor batch_first = outputs.transpose(0, 1);  // (B, T, H)
  const Tensor lens = int_tensor({T, T});
  const Tensor a = attention.forward(rand({B, H}) * 3.0, batch_first, lens).weights;
  const Tensor b = attention.forward(rand({B, H}) * -3.0, batch_first, lens).weights;
  CHECK((a - b).abs().max().item<double>() > 1e-3);
}

TEST_CASE(
    "the article's NER softmax runs over the batch: one sentence changes another's output; "
    "the per-token tagger keeps sentences apart") {
  manual_seed(3);
  const Tensor first = int_tensor({4, 5, 6, 7, 8, 3, 8, 4, 5, 2}, {2, 5});
  const Tensor second = int_tensor({4, 5, 6, 7, 8, 7, 2, 6, 3, 1}, {2, 5});  // row 1 differs
  zoo::ArticleTagger article(9, 5, 4, 6);
  const Tensor a1 = article.forward(first.transpose(0, 1).contiguous());  // (2, 5): per sentence
  const Tensor a2 = article.forward(second.transpose(0, 1).contiguous());
  CHECK(a1.shape() == Shape{2, 5});  // one tag per sentence, not per token
  CHECK((a1.select(0, 0) - a2.select(0, 0)).abs().max().item<double>() > 1e-6);  // leaked
  zoo::Tagger fixed(9, 5, 4, 6);
  const Tensor lens = int_tensor({5, 5});
  const Tensor f1 = fixed.forward(first, lens).logits, f2 = fixed.forward(second, lens).logits;
  CHECK(f1.shape() == Shape{2, 5, 5});                  // a tag for every token
  check_close(f1.select(0, 0), f2.select(0, 0), 0, 0);  // sentence 0 untouched by sentence 1
}

TEST_CASE("date tokens get their tags: day first, year last, names by what they say") {
  CHECK(zoo::date_tokens("saturday 21 november 2026") ==
        zoo::Tokens{"saturday", "21", "november", "2026"});
  CHECK(zoo::date_tags(zoo::date_tokens("saturday 21 november 2026")) ==
        zoo::Tokens{"weekday", "day", "month", "year"});
  CHECK(zoo::date_tags(zoo::date_tokens("03/03/26")) ==
        zoo::Tokens{"day", "other", "month", "other", "year"});
  CHECK(zoo::date_tags(zoo::date_tokens("the 21st of november 2026")) ==
        zoo::Tokens{"other", "day", "other", "month", "year"});
  CHECK(zoo::date_tags(zoo::date_tokens("nov 21, 2026")) ==
        zoo::Tokens{"month", "day", "other", "year"});
  CHECK(zoo::date_tags(zoo::date_tokens("21st nov '26")) ==
        zoo::Tokens{"day", "month", "other", "year"});
}

namespace {

// Under AddressSanitizer every step runs several times slower: the full short runs took 20
// minutes there. That build looks for memory errors, which one epoch of each model exercises as
// well as twenty; the learning bounds are checked in the optimized build. A sanitizer report or a
// thrown error (a non-finite loss stops a run) fails the test.
void run_each_model_once() {
  MESSAGE(
      "sanitizer build: each model trains for one epoch (memory errors only); the learning "
      "bounds of this test are checked in the optimized build");
  zoo::VisionOptions vision{.data = zoo::default_digits_path(), .epochs = 1, .quiet = true};
  CHECK(zoo::train_classifier(vision).held_out == 360);
  CHECK(zoo::train_detector(vision).held_out > 0);
  CHECK(zoo::train_gan(vision).samples == 500);
  zoo::SequenceOptions sequence{.epochs = 1, .train_examples = 300, .held_out = 50, .quiet = true};
  for (const zoo::SequenceTask task :
       {zoo::SequenceTask::ner, zoo::SequenceTask::seq2seq, zoo::SequenceTask::summarize}) {
    CHECK(zoo::train_sequence_task(task, sequence).held_out > 0);
  }
}

}  // namespace

TEST_CASE("attention zoo: short runs of every model learn (looser bounds than the README's)") {
  if (heed::kAddressSanitizer) {
    run_each_model_once();
    return;
  }
  zoo::VisionOptions vision{.data = zoo::default_digits_path(), .quiet = true};
  vision.epochs = 15;
  const zoo::ClassifyResult classified = zoo::train_classifier(vision);
  CHECK(classified.held_out == 360);
  CHECK(classified.held_out_accuracy >= 0.90);
  vision.epochs = 12;
  const zoo::DetectResult detected = zoo::train_detector(vision);
  CHECK(detected.iou_share >= 0.8);  // the box comes first; the class needs the full run
  vision.epochs = 20;
  const zoo::GanResult generated = zoo::train_gan(vision);
  CHECK(generated.confident_share >= 0.3);

  zoo::SequenceOptions sequence{.train_examples = 3000, .held_out = 300, .quiet = true};
  sequence.epochs = 2;
  CHECK(zoo::train_sequence_task(zoo::SequenceTask::ner, sequence).token_f1 >= 0.95);
  sequence.train_examples = 4000;
  sequence.epochs = 4;
  CHECK(zoo::train_sequence_task(zoo::SequenceTask::seq2seq, sequence).exact_match >= 0.5);
  sequence.train_examples = 8000;
  sequence.epochs = 6;
  CHECK(zoo::train_sequence_task(zoo::SequenceTask::summarize, sequence).exact_match >= 0.4);
}

namespace {

std::string write_digits(const std::string& name, const std::string& text, bool gzip) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    gzwrite(file, text.data(), static_cast<unsigned>(text.size()));
    gzclose(file);
  } else {
    std::ofstream(path, std::ios::binary) << text;
  }
  return path;
}

std::string row(int pixel, int label, int pixels = 64) {
  std::string line;
  for (int i = 0; i < pixels; ++i) line += std::to_string(pixel) + ",";
  return line + std::to_string(label) + "\n";
}

}  // namespace

TEST_CASE("the digits reader takes gzip or plain CSV and refuses anything else, naming the line") {
  const zoo::Digits two =
      zoo::load_digits(write_digits("zoo_two.csv.gz", row(16, 3) + row(0, 9), true));
  CHECK(two.size() == 2);
  CHECK(two.images.shape() == Shape{2, 1, 8, 8});
  CHECK(two.images.select(0, 0).max().item<double>() == 1.0);
  CHECK(two.labels.to_vector<int64_t>() == std::vector<int64_t>{3, 9});
  CHECK(zoo::load_digits(write_digits("zoo_plain.csv", row(8, 1), false)).size() == 1);
  check_error(
      [] { zoo::load_digits(write_digits("zoo_short.csv", row(1, 1) + row(1, 1, 60), false)); },
      {"digits", "line 2", "expected 65", "got 61"});
  check_error([] { zoo::load_digits(write_digits("zoo_pixel.csv", row(17, 1), false)); },
              {"digits", "line 1", "[0, 16]", "'17'"});
  check_error([] { zoo::load_digits(write_digits("zoo_label.csv", row(1, 10), false)); },
              {"digits", "line 1", "field 65", "[0, 9]"});
  check_error([] { zoo::load_digits(write_digits("zoo_text.csv", "hello,world\n", false)); },
              {"digits", "line 1", "field 1", "'hello'"});
  check_error([] { zoo::load_digits(write_digits("zoo_empty.csv", "", false)); },
              {"digits", "no rows"});
  check_error([] { zoo::load_digits("/nonexistent/digits.csv.gz"); },
              {"digits", "not a regular file", "--data"});
  // a gzip stream cut short: zlib's error, one line
  std::string packed;
  {
    const std::string path = write_digits("zoo_full.csv.gz", row(5, 5) + row(6, 6), true);
    std::ifstream in(path, std::ios::binary);
    packed.assign(std::istreambuf_iterator<char>(in), {});
  }
  check_error(
      [&] { zoo::load_digits(write_digits("zoo_cut.csv.gz", packed.substr(0, 20), false)); },
      {"digits"});
}
