// bahdanau: d2l.ai's Bahdanau-attention translator, trained and shown with heed.
//   bahdanau train                         the built-in date task, nothing to download
//   bahdanau train --data fra.txt          English -> French on Tatoeba pairs, as d2l does
//   bahdanau translate "i'm home ."        greedy or --beam K, with --heatmap attention.png
//   bahdanau eval                          BLEU and exact match on the held-out pairs
//   mpirun -np 2 bahdanau train ...        data-parallel training over 2 processes
// Every flag is documented in --help. Errors print one line and exit with status 2.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "examples/bahdanau/train.hpp"
#include "examples/bahdanau/translator.hpp"
#include "examples/common/device_option.hpp"
#include "examples/common/flags.hpp"
#include "examples/common/job.hpp"
#include "nn/distributed.hpp"

using namespace bahdanau;

namespace {

struct TranslateOptions {
  std::string checkpoint = "runs/bahdanau.safetensors";
  std::vector<std::string> sentences;
  bool output_only = false;  // print the translations alone, one per line
  bool tsv = false;          // read column 1 of tab-separated lines; write source<TAB>translation
  int64_t beam = 1;
  double alpha = 0.75;
  int64_t max_steps = 0;
  std::string heatmap;  // PNG or SVG: the first sentence's attention
  std::string device = "cpu";
};

struct EvalCommandOptions {
  std::string checkpoint = "runs/bahdanau.safetensors";
  std::string pairs;  // a file of pairs to evaluate on instead of the held-out set
  std::string json;   // where to write every pair's scores and the corpus scores
  std::string data;   // where the training file is now, if it moved
  int64_t limit = 0;
  EvalOptions eval;
  std::string device = "cpu";
};

// Translates line for line: every input line gives one output line, and a blank line stays
// blank, so the output can be pasted beside the input. A sentence that found no <eos> within
// --max-steps is noted on stderr, never in the output.
void translate(const TranslateOptions& o) {
  if (!o.heatmap.empty()) examples::check_output_file(o.heatmap, "--heatmap");
  const Translator translator = load_translator(o.checkpoint, examples::parse_device(o.device));
  std::vector<std::string> lines = o.sentences;
  if (lines.empty()) {  // one sentence per line of standard input
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  if (lines.empty()) heed::fail("translate: give sentences as arguments or on standard input");
  std::vector<std::string> sentences;  // the non-blank ones, in order
  std::vector<std::string> sources(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    sources[i] = o.tsv ? lines[i].substr(0, lines[i].find('\t')) : lines[i];
    examples::check_utf8(sources[i], fmt::format("input line {}", i + 1));
    if (sources[i].find_first_not_of(" \t") != std::string::npos) sentences.push_back(sources[i]);
  }
  const std::vector<Translation> translations =
      sentences.empty() ? std::vector<Translation>{}
                        : translator.translate(sentences, o.beam, o.alpha, o.max_steps);
  // The heatmap first: if it cannot be written, the error is the only line printed.
  if (!o.heatmap.empty() && !sentences.empty()) {
    write_attention_heatmap(o.heatmap, translator, sentences[0], translations[0]);
  }
  size_t next = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (sources[i].find_first_not_of(" \t") == std::string::npos) {
      fmt::print("\n");
      continue;
    }
    const Translation& t = translations[next++];
    const std::string text = translator.detokenize(t.tokens);
    if (o.tsv) {
      fmt::print("{}\t{}\n", sources[i], text);
    } else if (o.output_only) {
      fmt::print("{}\n", text);
    } else {
      fmt::print("{} => {}\n", sources[i], text);
    }
    if (!t.finished) fmt::print(stderr, "line {}: no <eos> within --max-steps\n", i + 1);
  }
  std::fflush(stdout);
  if (!o.heatmap.empty() && !sentences.empty()) {
    fmt::print(stderr, "attention of the first sentence written to {}\n", o.heatmap);
  }
}

void evaluate_command(const EvalCommandOptions& o) {
  if (!o.json.empty()) examples::check_output_file(o.json, "--json");
  if (!o.eval.heatmap_dir.empty())
    examples::check_output_directory(o.eval.heatmap_dir, "--heatmaps");
  const Translator translator = load_translator(o.checkpoint, examples::parse_device(o.device));
  std::vector<SentencePair> pairs;
  if (!o.pairs.empty()) {
    ReadResult read = read_pairs(o.pairs);
    if (read.skipped > 0) {
      fmt::print("skipped {} malformed lines of {} (the first: {})\n", read.skipped, o.pairs,
                 read.first_problem);
    }
    pairs = std::move(read.pairs);
  } else {
    pairs = held_out_pairs(translator.metadata, o.data);
    if (pairs.empty()) {
      heed::fail("{} was trained without held-out pairs (--val-fraction 0): give --pairs FILE",
                 o.checkpoint);
    }
  }
  if (o.limit > 0 && int64_t(pairs.size()) > o.limit) pairs.resize(size_t(o.limit));
  const EvalResult r = evaluate(translator, pairs, o.eval);
  fmt::print("{}\n", summary(r));
  if (!o.json.empty()) {
    write_eval_json(o.json, r);
    fmt::print("scores of every pair written to {}\n", o.json);
  }
  if (!o.eval.heatmap_dir.empty()) {
    fmt::print("attention heatmaps of the first {} written to {}\n",
               std::min<int64_t>(o.eval.heatmaps, r.count), o.eval.heatmap_dir);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bahdanau: d2l.ai's Bahdanau-attention translator (GRU encoder, attention decoder)"};
  app.require_subcommand(1);
  examples::GlobalOptions global;
  examples::add_global_options(app, global);

  TrainOptions t;
  CLI::App* train_command = app.add_subcommand("train", "train a translator and save checkpoints");
  examples::add_global_options(*train_command, global);
  train_command->add_option("--data", t.data,
                            "tab-separated sentence pairs (Tatoeba's fra.txt); default: the "
                            "built-in date task");
  train_command
      ->add_option("--num-examples", t.num_examples,
                   "use only the first N pairs of --data (d2l: 600; 0: all)")
      ->check(examples::in_range(train_limits::num_examples))
      ->capture_default_str();
  train_command->add_flag("--strict", t.strict, "fail on a malformed line instead of skipping it");
  train_command
      ->add_option("--val-fraction", t.val_fraction,
                   "share of the pairs of --data held out for eval (default 0, as d2l)")
      ->check(examples::in_range(train_limits::val_fraction));
  train_command->add_option("--min-freq", t.min_freq, "rarer words become <unk>")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::min_freq));
  train_command->add_option("--date-pairs", t.date_pairs, "date task: training pairs")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::date_pairs));
  train_command->add_option("--date-held-out", t.date_held_out, "date task: held-out pairs")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::date_held_out));
  train_command
      ->add_option("--num-steps", t.num_steps,
                   "tokens per sentence after truncation or padding (default: 10 with "
                   "--data, 12 for dates)")
      ->check(examples::in_range(limits::num_steps));
  train_command->add_option("--embed-size", t.embed_size, "embedding width (default 32)")
      ->check(examples::in_range(limits::embed_size));
  train_command
      ->add_option("--num-hiddens", t.num_hiddens,
                   "GRU and attention width (default: 32 with --data, 64 for dates)")
      ->check(examples::in_range(limits::num_hiddens));
  train_command
      ->add_option("--num-layers", t.num_layers, "GRU layers (default: 2 with --data, 1 for dates)")
      ->check(examples::in_range(limits::num_layers));
  train_command
      ->add_option("--dropout", t.dropout,
                   "dropout between GRU layers and on attention weights (default: 0.1 "
                   "with --data, 0 for dates)")
      ->check(examples::in_range(limits::dropout));
  train_command->add_flag("--bidirectional", t.bidirectional,
                          "bidirectional encoder, as in Bahdanau et al. (2015)");
  train_command->add_option("--attention", t.attention, "score: additive, dot or general")
      ->capture_default_str()
      ->check(CLI::IsMember({"additive", "dot", "general"}));
  train_command
      ->add_option("--epochs", t.epochs,
                   "passes over the training pairs (default: 250 with --data, 8 for "
                   "dates)")
      ->check(examples::in_range(train_limits::epochs));
  train_command
      ->add_option("--batch-size", t.batch_size,
                   "pairs per step (default: 64 with --data, 128 for dates)")
      ->check(examples::in_range(train_limits::batch_size));
  train_command->add_option("--lr", t.lr, "Adam learning rate (default 0.005)")
      ->check(examples::in_range(train_limits::lr));
  train_command->add_option("--grad-clip", t.grad_clip, "clip the gradient norm (0: off)")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::grad_clip));
  train_command
      ->add_option("--loss", t.loss,
                   "mean: cross-entropy per valid target token; d2l: d2l's objective (per "
                   "sentence, divided by num_steps, summed over the batch)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mean", "d2l"}));
  train_command
      ->add_option("--log-every", t.log_every,
                   "batches between progress lines within an epoch (0: one per epoch)")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::log_every));
  train_command->add_option("--checkpoint", t.checkpoint, "checkpoint file to write (and resume)")
      ->capture_default_str();
  train_command->add_option("--checkpoint-every", t.checkpoint_every, "epochs between checkpoints")
      ->capture_default_str()
      ->check(examples::in_range(train_limits::checkpoint_every));
  train_command->add_flag("--resume", t.resume, "continue the run saved in --checkpoint exactly");
  train_command
      ->add_option("--stop-at-epoch", t.stop_at_epoch,
                   "stop after this epoch with a checkpoint, as if interrupted")
      ->check(examples::in_range(train_limits::stop_at_epoch));
  train_command->add_option("--plot-loss", t.plot_loss,
                            "draw the loss curve to this PNG or SVG file at every checkpoint");
  train_command->add_option(
      "--metrics", t.metrics,
      "write every step's loss, gradient norm, tokens and seconds to FILE "
      "as JSON lines (on --resume, kept up to the checkpoint's step and appended to)");
  train_command->add_option("--seed", t.seed, "random seed (initialisation, order, split, dates)")
      ->capture_default_str()
      ->check(examples::in_range(examples::kSeedRange));
  train_command->add_option("--device", t.device, "cpu, cuda or cuda:N")->capture_default_str();
  train_command->add_flag("--no-final-eval", t.no_final_eval,
                          "skip the evaluation after training (with nothing held out it "
                          "re-translates every training pair)");
  train_command->add_option("--heatmaps", t.eval.heatmap_dir,
                            "after training, draw the attention of a few evaluated pairs into "
                            "this directory");

  TranslateOptions s;
  CLI::App* translate_command = app.add_subcommand("translate", "translate sentences");
  examples::add_global_options(*translate_command, global);
  translate_command->add_option("sentences", s.sentences,
                                "sentences (default: one per line of stdin)");
  translate_command->add_option("--checkpoint", s.checkpoint, "checkpoint to load")
      ->capture_default_str();
  translate_command->add_option("--beam", s.beam, "beam width (1: greedy)")
      ->capture_default_str()
      ->check(examples::in_range(decode_limits::beam));
  translate_command
      ->add_option("--alpha", s.alpha, "beam search length normalisation: log P / length^alpha")
      ->capture_default_str()
      ->check(examples::in_range(decode_limits::alpha));
  translate_command
      ->add_option("--max-steps", s.max_steps,
                   "longest translation in tokens (0: the model's num_steps)")
      ->capture_default_str()
      ->check(examples::in_range(decode_limits::max_steps));
  translate_command->add_option("--device", s.device, "cpu, cuda or cuda:N")->capture_default_str();
  translate_command->add_flag("--output-only", s.output_only,
                              "print only the translations, one line per input line");
  translate_command->add_flag("--tsv", s.tsv,
                              "read the first column of tab-separated lines; print "
                              "source<TAB>translation");
  translate_command->add_option("--heatmap", s.heatmap,
                                "draw the first sentence's attention to this PNG or SVG file");

  EvalCommandOptions e;
  CLI::App* eval_command =
      app.add_subcommand("eval", "BLEU and exact match on held-out pairs, with heatmaps");
  examples::add_global_options(*eval_command, global);
  eval_command->add_option("--checkpoint", e.checkpoint, "checkpoint to load")
      ->capture_default_str();
  eval_command->add_option("--pairs", e.pairs,
                           "evaluate on this file of tab-separated pairs instead of the "
                           "held-out ones");
  eval_command->add_option("--json", e.json,
                           "write the corpus scores and every pair's (source, reference, "
                           "translation, BLEU, exact) to this JSON file");
  eval_command->add_option("--data", e.data, "the training file, if it moved since training");
  eval_command->add_option("--limit", e.limit, "evaluate on the first N pairs only (0: all)")
      ->capture_default_str()
      ->check(examples::in_range(eval_limits::limit));
  eval_command->add_option("--beam", e.eval.beam, "beam width (1: greedy)")
      ->capture_default_str()
      ->check(examples::in_range(decode_limits::beam));
  eval_command->add_option("--alpha", e.eval.alpha, "beam search length normalisation")
      ->capture_default_str()
      ->check(examples::in_range(decode_limits::alpha));
  eval_command->add_option("--show", e.eval.show, "worked examples to print")
      ->capture_default_str()
      ->check(examples::in_range(eval_limits::show));
  eval_command->add_option("--device", e.device, "cpu, cuda or cuda:N")->capture_default_str();
  eval_command->add_option("--heatmaps", e.eval.heatmap_dir,
                           "draw the attention of the first examples into this directory");
  eval_command->add_option("--heatmap-count", e.eval.heatmaps, "how many to draw")
      ->capture_default_str()
      ->check(examples::in_range(eval_limits::heatmaps));
  eval_command->add_option("--heatmap-format", e.eval.heatmap_format, "png or svg")
      ->capture_default_str()
      ->check(CLI::IsMember({"png", "svg"}));

  // Under mpirun this process is one rank of a data-parallel job: it joins before parsing, so
  // that only rank 0 prints --help and a bad flag is reported once.
  try {
    examples::join_job();
  } catch (const std::exception& error) {
    return examples::report_error("bahdanau", error.what());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() != 0) {
      return examples::report_error("bahdanau", fmt::format("{} (see --help)", error.what()));
    }
    const int status = app.exit(error);  // --help
    examples::leave_job();
    return status;
  }
  try {
    examples::set_threads(global);
    if (heed::nn::distributed::world_size() > 1 && !train_command->parsed()) {
      heed::fail("only bahdanau train runs as a data-parallel job; run the others without mpirun");
    }
    if (train_command->parsed()) train(t);
    if (translate_command->parsed()) translate(s);
    if (eval_command->parsed()) evaluate_command(e);
  } catch (const std::bad_alloc&) {
    return examples::report_error(
        "bahdanau", "out of host memory (an allocation outside heed's tensors failed)");
  } catch (const std::exception& error) {
    return examples::report_error("bahdanau", error.what());
  }
  examples::leave_job();
  return 0;
}
