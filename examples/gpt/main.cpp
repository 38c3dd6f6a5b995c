// gpt: train a GPT-style causally masked model and generate from it.
//   gpt train                       minGPT's 2-digit adder, nothing to download
//   gpt train --data input.txt      character-level language modelling on a text file
//   gpt sample "ROMEO:" "JULIET:"   batched, left-padded generation with a key/value cache
//   gpt sample --pretrained DIR "It will rain in the" ...   a GPT-2 in Hugging Face's format
//   gpt eval --pretrained DIR --data FILE   its perplexity on a text, in strided windows
//   gpt train --init-from DIR --data FILE   fine-tune that GPT-2 on a text (its BPE tokens)
//   gpt export --checkpoint FILE --hf DIR   write a checkpoint as a Hugging Face GPT-2 folder
//   mpirun -np 2 gpt train ...      data-parallel training over 2 processes (docs/distributed.md)
// Every flag is documented in --help. Errors print one line and exit with status 2.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "examples/common/device_option.hpp"
#include "examples/common/flags.hpp"
#include "examples/common/heatmap.hpp"
#include "examples/common/job.hpp"
#include "examples/gpt/export_hf.hpp"
#include "examples/gpt/generate.hpp"
#include "examples/gpt/perplexity.hpp"
#include "examples/gpt/pretrained.hpp"
#include "examples/gpt/train.hpp"
#include "nn/distributed.hpp"

using namespace gpt;

namespace {

struct SampleOptions {
  std::string checkpoint = "runs/gpt.safetensors";
  std::string pretrained;  // a Hugging Face GPT-2 folder, instead of a heed checkpoint
  std::string json;        // where to write prompts, ids and texts as JSON
  std::vector<std::string> prompts;
  SamplingOptions sampling;
  uint64_t seed = 0;
  std::string attention_map;  // PNG or SVG path: the first prompt's attention, drawn
  int64_t layer = -1;         // -1: the last layer
  int64_t head = -1;          // -1: every head, side by side
  std::string device = "cpu";
};

// Labels a token can be read by in a heatmap: spaces and newlines made visible.
std::string visible(const std::string& symbol) {
  if (symbol == " ") return "\u2423";
  if (symbol == "\n") return "\\n";
  return symbol;
}

struct EvalOptions {
  std::string pretrained;
  std::string data;
  int64_t stride = 512;  // tokens between window starts (at most the window)
  std::string json;
  std::string device = "cpu";
};

// Mean token cross-entropy and perplexity of a text under a GPT-2 folder's model.
void evaluate_pretrained(const EvalOptions& o) {
  if (!o.json.empty()) examples::check_output_file(o.json, "--json");
  const Pretrained pretrained = load_pretrained(o.pretrained);
  const std::string text = examples::read_regular_file(o.data, "--data");
  const std::vector<int64_t> ids = pretrained.tokenizer.encode(text);
  pretrained.model->to(examples::parse_device(o.device));
  const int64_t window = pretrained.config.block_size;
  const int64_t stride = std::min(o.stride, window);
  const auto start = std::chrono::steady_clock::now();
  const PerplexityResult r = strided_perplexity(*pretrained.model, ids, window, stride);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "{}: {} tokens, {} scored in {} windows of {} (stride {}): mean cross-entropy {:.4f} "
      "nats, perplexity {:.3f}\n",
      o.data, r.tokens, r.scored, r.windows, window, stride, r.mean_nll, r.perplexity);
  fmt::print(stderr, "evaluated in {:.3f} s ({:.0f} tokens/s through the model)\n", seconds,
             double(r.processed) / seconds);
  if (!o.json.empty()) {
    const nlohmann::json out = {{"data", o.data},         {"tokens", r.tokens},
                                {"scored", r.scored},     {"windows", r.windows},
                                {"window", window},       {"stride", stride},
                                {"mean_nll", r.mean_nll}, {"perplexity", r.perplexity},
                                {"seconds", seconds},     {"processed", r.processed}};
    examples::write_file_atomically(o.json, out.dump(1) + "\n", "--json");
  }
}

// What sample needs of a tokenizer: the character vocabulary of heed's checkpoints, or GPT-2's
// byte-level BPE.
struct TextCodec {
  std::function<std::vector<int64_t>(const std::string&)> encode;
  std::function<std::string(const std::vector<int64_t>&)> decode;
};

// The codec of a Vocabulary or a ByteLevelBPE, which it keeps alive.
template <typename Tokenizer>
TextCodec codec_of(std::shared_ptr<const Tokenizer> tokenizer) {
  return {[tokenizer](const std::string& text) { return tokenizer->encode(text); },
          [tokenizer](const std::vector<int64_t>& ids) { return tokenizer->decode(ids); }};
}

// Runs the first prompt and its continuation through the model once more and draws the
// attention weights of one layer (every head, or one).
void draw_attention(GPT& model, const TextCodec& vocabulary, const std::vector<int64_t>& tokens,
                    const SampleOptions& o) {
  const int64_t layers = model.config().n_layer, heads = model.config().n_head;
  const int64_t layer = o.layer < 0 ? layers - 1 : o.layer;
  if (layer >= layers) heed::fail("--layer {} does not exist (the model has {})", o.layer, layers);
  if (o.head >= heads) heed::fail("--head {} does not exist (the model has {})", o.head, heads);
  heed::NoGradGuard no_grad;
  model.eval();
  model.forward(
      heed::int_tensor(tokens, {1, int64_t(tokens.size())}).to(examples::device_of(model)),
      {.keep_attention_weights = true});
  const Tensor weights = model.attention_weights()[static_cast<size_t>(layer)].select(0, 0).to(
      heed::kCPU);  // (H, T, T)
  std::vector<std::string> labels;
  for (int64_t id : tokens) labels.push_back(visible(vocabulary.decode({id})));
  std::vector<examples::Heatmap> maps;
  for (int64_t h = 0; h < heads; ++h) {
    if (o.head >= 0 && h != o.head) continue;
    maps.push_back(
        {weights.select(0, h), labels, labels, fmt::format("layer {} head {}", layer, h)});
  }
  examples::write_heatmaps(o.attention_map, maps);
  fmt::print("attention map of layer {} written to {}\n", layer, o.attention_map);
}

// A heed checkpoint: the model and its tokens, characters or (fine-tuned from GPT-2) the
// byte-level BPE.
struct Trained {
  std::shared_ptr<GPT> model;
  std::shared_ptr<ByteLevelBPE> tokenizer;  // null for a character-level model
  TextCodec codec;
};

// `for_sampling` turns dropout off; export keeps the dropout the model was trained with.
Trained load_trained(const std::string& checkpoint, bool for_sampling) {
  const heed::nn::Metadata metadata = heed::nn::read_checkpoint_metadata(checkpoint);
  GPTConfig config =
      GPTConfig::from_json(examples::metadata_entry(metadata, "config", checkpoint), checkpoint);
  if (for_sampling) config.dropout = 0;
  Trained trained;
  if (metadata.count("tokenizer")) {
    auto tokenizer = std::make_shared<ByteLevelBPE>(
        ByteLevelBPE::from_json(metadata.at("tokenizer"), checkpoint + ": tokenizer"));
    tokenizer->check_fits(config.vocab_size, checkpoint);
    trained.codec = codec_of<ByteLevelBPE>(tokenizer);
    trained.tokenizer = tokenizer;
  } else {
    auto vocabulary = std::make_shared<Vocabulary>(Vocabulary::from_json(
        examples::metadata_entry(metadata, "vocabulary", checkpoint), checkpoint));
    if (vocabulary->size() != config.vocab_size) {
      heed::fail("{}: the vocabulary has {} characters but the model's vocab_size is {}",
                 checkpoint, vocabulary->size(), config.vocab_size);
    }
    trained.codec = codec_of<Vocabulary>(vocabulary);
  }
  {
    const heed::nn::init::SkipInitGuard skip;  // every weight comes from the checkpoint
    trained.model = std::make_shared<GPT>(config);
  }
  heed::nn::load_checkpoint(checkpoint, *trained.model);
  return trained;
}

struct ExportOptions {
  std::string checkpoint = "runs/gpt.safetensors";
  std::string hf;  // the folder to write
};

void export_checkpoint(const ExportOptions& o) {
  examples::check_output_directory(o.hf, "--hf");  // before any work
  const Trained trained = load_trained(o.checkpoint, false);
  export_hf(*trained.model, trained.tokenizer.get(), o.hf);
  fmt::print("{} written to {} in Hugging Face's GPT-2 format{}\n", o.checkpoint, o.hf,
             trained.tokenizer ? ""
                               : " (weights and config only: the model's tokens are characters, "
                                 "which no transformers tokenizer reads)");
}

void sample(const SampleOptions& o) {
  SamplingOptions sampling = o.sampling;
  check_sampling_options(sampling);
  if (!o.attention_map.empty()) examples::check_output_file(o.attention_map, "--attention-map");
  if (!o.json.empty()) examples::check_output_file(o.json, "--json");
  TextCodec vocabulary;
  std::shared_ptr<GPT> loaded;
  if (!o.pretrained.empty()) {
    auto pretrained = std::make_shared<Pretrained>(load_pretrained(o.pretrained));
    loaded = pretrained->model;
    sampling.stop_token = pretrained->tokenizer.added_token_id("<|endoftext|>");
    // The tokenizer lives as long as the Pretrained that holds it.
    vocabulary = codec_of(std::shared_ptr<const ByteLevelBPE>(pretrained, &pretrained->tokenizer));
  } else {
    Trained trained = load_trained(o.checkpoint, true);
    loaded = trained.model;
    vocabulary = trained.codec;
    if (trained.tokenizer) sampling.stop_token = trained.tokenizer->added_token_id("<|endoftext|>");
  }
  GPT& model = *loaded;
  const GPTConfig& config = model.config();
  if (o.layer >= config.n_layer) {
    heed::fail("--layer {} does not exist (the model has {})", o.layer, config.n_layer);
  }
  if (o.head >= config.n_head) {
    heed::fail("--head {} does not exist (the model has {})", o.head, config.n_head);
  }
  model.to(examples::parse_device(o.device));
  std::vector<std::string> prompts = o.prompts;
  if (prompts.empty()) {  // one prompt per line of standard input
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty()) prompts.push_back(line);
    }
  }
  if (prompts.empty()) heed::fail("sample: give prompts as arguments or on standard input");
  std::vector<std::vector<int64_t>> encoded;
  for (const std::string& p : prompts) encoded.push_back(vocabulary.encode(p));
  heed::Generator generator(o.seed);
  const bool stream = prompts.size() == 1;  // one prompt: print each token as it comes
  bool prompt_shown = false;  // shown with the first token, once generate accepted the prompt
  const auto start = std::chrono::steady_clock::now();
  // A BPE token may end inside a character (half of an emoji's bytes): decoded alone it would
  // print U+FFFD. So the stream decodes all its tokens so far and prints the new text once it no
  // longer ends in a replacement character; what is held back comes with the last line.
  std::vector<int64_t> streamed;
  size_t printed = 0;
  const std::string replacement = "\xEF\xBF\xBD";
  const auto outputs = generate(model, encoded, sampling, generator, [&](const auto& tokens) {
    if (stream) {
      if (!prompt_shown) fmt::print("{}", prompts[0]);
      prompt_shown = true;
      streamed.push_back(tokens[0]);
      const std::string text = vocabulary.decode(streamed);
      if (!text.ends_with(replacement) && text.size() >= printed) {
        fmt::print("{}", text.substr(printed));
        printed = text.size();
      }
      std::fflush(stdout);
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stream) {
    const std::string text = vocabulary.decode(streamed);
    fmt::print("{}\n", text.size() > printed ? text.substr(printed) : "");
  } else {
    for (size_t i = 0; i < prompts.size(); ++i) {
      fmt::print("--- prompt {}\n{}{}\n", i + 1, prompts[i], vocabulary.decode(outputs[i]));
    }
  }
  std::fflush(stdout);
  // The map before the timing line: if it cannot be written, the error is the only line on stderr.
  if (!o.attention_map.empty()) {
    std::vector<int64_t> tokens = encoded[0];
    tokens.insert(tokens.end(), outputs[0].begin(), outputs[0].end());
    draw_attention(model, vocabulary, tokens, o);
  }
  if (!o.json.empty()) {
    nlohmann::json out = {
        {"prompts", prompts}, {"prompt_ids", encoded}, {"generated_ids", outputs}};
    out["texts"] = nlohmann::json::array();
    for (size_t i = 0; i < prompts.size(); ++i) {
      out["texts"].push_back(prompts[i] + vocabulary.decode(outputs[i]));
    }
    examples::write_file_atomically(o.json, out.dump(1) + "\n", "--json");
  }
  double tokens = 0;
  for (const auto& row : outputs) tokens += double(row.size());
  fmt::print(stderr, "generated {} tokens in {:.1f} ms ({:.0f} tokens/s, key/value cache)\n",
             tokens, 1000 * seconds, tokens / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gpt: GPT-style causally masked language models with heed"};
  app.require_subcommand(1);
  examples::GlobalOptions global;
  examples::add_global_options(app, global);

  TrainOptions train_options;
  CLI::App* train_command = app.add_subcommand("train", "train a model and save checkpoints");
  examples::add_global_options(*train_command, global);
  auto& t = train_options;
  CLI::Option* task_option =
      train_command->add_option("--task", t.task, "built-in task without --data: addition or sort")
          ->capture_default_str();
  CLI::Option* data_option =
      train_command->add_option("--data", t.data,
                                "UTF-8 text file: character-level modelling, or with --init-from "
                                "the text to fine-tune on");
  CLI::Option* init_from_option =
      train_command
          ->add_option("--init-from", t.init_from,
                       "fine-tune a GPT-2 folder in Hugging Face's format (config.json, "
                       "model.safetensors, tokenizer files) on --data's BPE tokens (with "
                       "--resume the checkpoint's weights and tokenizer are used instead)")
          ->check(CLI::ExistingDirectory)
          ->needs(data_option);
  CLI::Option* digits_option =
      train_command->add_option("--digits", t.digits, "digits per operand (addition)")
          ->capture_default_str()
          ->check(examples::in_range(train_limits::digits));
  // With --init-from the model's shape comes from the folder: these flags are refused with it.
  const std::vector<CLI::Option*> shape_options = {
      task_option,
      digits_option,
      train_command->add_option("--preset", t.preset, "model size: nano, tiny, small or medium")
          ->capture_default_str(),
      train_command->add_option("--n-layer", t.n_layer, "transformer blocks (overrides the preset)")
          ->check(examples::in_range(limits::n_layer)),
      train_command->add_option("--n-head", t.n_head, "attention heads (overrides the preset)")
          ->check(examples::in_range(limits::n_head)),
      train_command->add_option("--n-embd", t.n_embd, "model width (overrides the preset)")
          ->check(examples::in_range(limits::n_embd))};
  for (CLI::Option* option : shape_options) init_from_option->excludes(option);
  train_command
      ->add_option("--block-size", t.block_size,
                   "context length (overrides the preset; with --init-from, the tokens a "
                   "sequence, at most n_positions, which is the default; a resumed fine-tuning "
                   "run keeps its checkpoint's)")
      ->check(examples::in_range(limits::block_size));
  train_command->add_option("--dropout", t.dropout, "dropout probability")
      ->capture_default_str()
      ->check(examples::in_range(limits::dropout));
  init_from_option->excludes(train_command->add_flag(
      "--tie-weights", t.tie_weights, "the output layer reuses the token embedding's matrix"));
  train_command->add_option("--batch-size", t.batch_size, "sequences per step")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::batch_size));
  train_command->add_option("--steps", t.steps, "optimizer steps")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::steps));
  train_command->add_option("--lr", t.lr, "peak learning rate (AdamW, betas 0.9/0.95)")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::lr));
  train_command->add_option("--warmup", t.warmup, "linear warmup steps before cosine decay")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::warmup));
  train_command->add_option("--min-lr-factor", t.min_lr_factor, "final lr as a fraction of --lr")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::min_lr_factor));
  train_command->add_option("--weight-decay", t.weight_decay, "AdamW decay on weight matrices only")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::weight_decay));
  train_command->add_option("--grad-clip", t.grad_clip, "clip the gradient norm (0: off)")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::grad_clip));
  train_command
      ->add_option("--eval-interval", t.eval_interval, "steps between evaluations and checkpoints")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::interval));
  train_command->add_option("--eval-batches", t.eval_batches, "batches per evaluation")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::eval_batches));
  train_command->add_option("--log-interval", t.log_interval, "steps between progress lines")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::interval));
  train_command->add_option("--checkpoint", t.checkpoint, "checkpoint file to write (and resume)")
      ->capture_default_str();
  train_command->add_flag("--resume", t.resume, "continue the run saved in --checkpoint exactly");
  train_command
      ->add_option("--stop-at", t.stop_at,
                   "stop after this step with a checkpoint, as if interrupted")
      ->check(examples::in_range(train_limits::stop_at));
  train_command->add_option("--seed", t.seed, "random seed")
      ->capture_default_str()
      ->check(examples::in_range(examples::kSeedRange));
  train_command->add_option("--device", t.device, "cpu, cuda or cuda:N")->capture_default_str();
  train_command->add_option("--plot-loss", t.plot_loss,
                            "draw the loss curves to this PNG or SVG file at every evaluation");
  train_command->add_option(
      "--metrics", t.metrics,
      "write every step's loss, lr, gradient norm, tokens and seconds to "
      "FILE as JSON lines (on --resume, kept up to the checkpoint's step and appended to)");
  train_command
      ->add_option("--bucket-mb", t.bucket_mb,
                   "under mpirun: megabytes of gradients per allreduce (the first bucket: 1)")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::bucket_mb));
  train_command->add_flag("--overlap,!--no-overlap", t.overlap,
                          "under mpirun: start each bucket's allreduce during backward, as soon "
                          "as its gradients are final (the default; --no-overlap: after "
                          "backward)");

  SampleOptions sample_options;
  CLI::App* sample_command = app.add_subcommand("sample", "generate from a checkpoint");
  examples::add_global_options(*sample_command, global);
  auto& s = sample_options;
  sample_command->add_option("prompts", s.prompts, "prompts (default: one per line of stdin)");
  sample_command
      ->add_option("--pretrained", s.pretrained,
                   "a GPT-2 folder in Hugging Face's format (config.json, model.safetensors, "
                   "tokenizer files) instead of --checkpoint")
      ->check(CLI::ExistingDirectory);
  sample_command->add_option("--json", s.json,
                             "also write prompts, prompt_ids, generated_ids and texts to FILE");
  sample_command->add_option("--checkpoint", s.checkpoint, "checkpoint to load")
      ->capture_default_str();
  sample_command->add_option("--max-new-tokens", s.sampling.max_new_tokens, "tokens to generate")
      ->capture_default_str()
      ->check(examples::in_range(sampling_limits::max_new_tokens));
  sample_command
      ->add_option("--temperature", s.sampling.temperature, "softmax temperature (0: greedy)")
      ->capture_default_str()
      ->check(examples::in_range(sampling_limits::temperature));
  sample_command->add_option("--top-k", s.sampling.top_k, "sample among the k most likely (0: all)")
      ->capture_default_str()
      ->check(examples::in_range(sampling_limits::top_k));
  sample_command->add_option("--top-p", s.sampling.top_p, "nucleus sampling mass (1: off)")
      ->capture_default_str()
      ->check(examples::in_range(sampling_limits::top_p));
  sample_command->add_option("--seed", s.seed, "random seed for sampling")
      ->capture_default_str()
      ->check(examples::in_range(examples::kSeedRange));
  sample_command->add_option("--device", s.device, "cpu, cuda or cuda:N")->capture_default_str();
  sample_command->add_option("--attention-map", s.attention_map,
                             "draw the first prompt's attention weights to this PNG or SVG file");
  sample_command->add_option("--layer", s.layer, "layer for --attention-map (default: the last)")
      ->check(examples::in_range(sampling_limits::layer_or_head));
  sample_command
      ->add_option("--head", s.head, "head for --attention-map (default: all, side by side)")
      ->check(examples::in_range(sampling_limits::layer_or_head));

  CLI::App* eval_command =
      app.add_subcommand("eval", "perplexity of a text under a pretrained GPT-2 folder");
  EvalOptions eval_options;
  EvalOptions& e = eval_options;
  examples::add_global_options(*eval_command, global);
  eval_command
      ->add_option("--pretrained", e.pretrained,
                   "a GPT-2 folder in Hugging Face's format (config.json, model.safetensors, "
                   "tokenizer files)")
      ->required()
      ->check(CLI::ExistingDirectory);
  eval_command->add_option("--data", e.data, "UTF-8 text file to score")->required();
  eval_command
      ->add_option("--stride", e.stride,
                   "tokens between window starts; windows are n_positions long (capped at it)")
      ->capture_default_str()
      ->check(examples::in_range(examples::IntRange{1, 65536}));
  eval_command->add_option("--json", e.json, "also write the figures to FILE as JSON");
  eval_command->add_option("--device", e.device, "cpu, cuda or cuda:N")->capture_default_str();

  CLI::App* export_command = app.add_subcommand(
      "export", "write a checkpoint as a Hugging Face GPT-2 folder (transformers loads it)");
  ExportOptions export_options;
  examples::add_global_options(*export_command, global);
  export_command->add_option("--checkpoint", export_options.checkpoint, "checkpoint to export")
      ->capture_default_str();
  export_command
      ->add_option("--hf", export_options.hf,
                   "the folder to write: config.json, model.safetensors and, for a model "
                   "fine-tuned from GPT-2, vocab.json, merges.txt, tokenizer_config.json")
      ->required();

  // Under mpirun this process is one rank of a data-parallel job: it joins before parsing, so
  // that only rank 0 prints --help and a bad flag is reported once.
  try {
    examples::join_job();
  } catch (const std::exception& e) {
    return examples::report_error("gpt", e.what());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      return examples::report_error("gpt", fmt::format("{} (see --help)", e.what()));
    }
    const int status = app.exit(e);  // --help
    examples::leave_job();
    return status;
  }
  try {
    examples::set_threads(global);
    if (heed::nn::distributed::world_size() > 1 && !train_command->parsed()) {
      heed::fail("only gpt train runs as a data-parallel job; run the others without mpirun");
    }
    if (train_command->parsed()) train(train_options);
    if (sample_command->parsed()) sample(sample_options);
    if (eval_command->parsed()) evaluate_pretrained(eval_options);
    if (export_command->parsed()) export_checkpoint(export_options);
  } catch (const std::bad_alloc&) {
    return examples::report_error(
        "gpt", "out of host memory (an allocation outside heed's tensors failed)");
  } catch (const std::exception& e) {  // heed::Error and the rest
    return examples::report_error("gpt", e.what());
  }
  examples::leave_job();
  return 0;
}
