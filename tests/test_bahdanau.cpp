// The Bahdanau example: d2l's data pipeline, the date task, BLEU, the model's attention,
// greedy and beam decoding, training, checkpoints and exact resume.
#include <filesystem>
#include <random>
#include <set>

#include "examples/bahdanau/bleu.hpp"
#include "examples/bahdanau/dates.hpp"
#include "examples/bahdanau/train.hpp"
#include "examples/bahdanau/translator.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
using namespace bahdanau;
namespace fs = std::filesystem;

namespace {

fs::path temporary_path(const std::string& name) {
  return fs::temp_directory_path() /
         fmt::format("heed-bahdanau-{}-{}", std::random_device{}(), name);
}

const std::string kFixtures = HEED_TEST_DATA_DIR;

Tokens words(const std::string& text) {
  return tokenize(text, Tokenizer::Words);
}

// A small date-task run: enough to learn the task's shape in a few seconds.
TrainOptions small_date_run(const fs::path& checkpoint) {
  TrainOptions o;
  o.date_pairs = 3000, o.date_held_out = 50;
  o.epochs = 6, o.num_hiddens = 48;
  o.checkpoint = checkpoint.string();
  o.eval.show = 0;
  return o;
}

}  // namespace

TEST_CASE("bahdanau data: d2l's preprocessing") {
  CHECK(preprocess("Go.") == "go .");
  CHECK(preprocess("Cours\u202f!") == "cours !");        // narrow no-break space
  CHECK(preprocess("Ça alors\u00a0!") == "ça alors !");  // no-break space, Latin-1 capital
  CHECK(preprocess("Hi, you?") == "hi , you ?");
  CHECK(preprocess("Wait !") == "wait !");  // a space already there stays single
  CHECK(preprocess("ŒUVRE Ÿ") == "œuvre ÿ");
  CHECK(words("j'ai  perdu .") == Tokens{"j'ai", "perdu", "."});
  CHECK(tokenize("nov 21, 2026", Tokenizer::Dates) ==
        Tokens{"nov", "2", "1", ",", "2", "0", "2", "6"});
  CHECK(tokenize("21/11/26", Tokenizer::Dates) == Tokens{"2", "1", "/", "1", "1", "/", "2", "6"});
}

TEST_CASE("bahdanau data: a Tatoeba file with NBSP, three columns and malformed lines") {
  const ReadResult read = read_pairs(kFixtures + "/tatoeba_sample.tsv");
  REQUIRE(read.pairs.size() == 5);
  CHECK(read.pairs[0].source == "go .");
  CHECK(read.pairs[0].target == "va !");  // the attribution column is dropped
  CHECK(read.pairs[1].target == "j\u2019ai perdu .");
  CHECK(read.pairs[2].target == "cours !");
  CHECK(read.pairs[3].target == "ça alors !");
  CHECK(read.pairs[4].source == "élan , œuvre ?");
  CHECK(read.skipped == 2);
  CHECK(read.first_problem == "line 4: expected 2 or 3 tab-separated columns, found 1");
  CHECK(read_pairs(kFixtures + "/tatoeba_sample.tsv", {.num_examples = 2}).pairs.size() == 2);
  check_error([] { read_pairs(kFixtures + "/tatoeba_sample.tsv", {.strict = true}); },
              {"tatoeba_sample.tsv", "line 4", "2 or 3 tab-separated columns, found 1"});
  check_error([] { read_pairs(kFixtures + "/empty.tsv"); }, {"empty.tsv", "no sentence pairs"});
  check_error([] { read_pairs(kFixtures + "/no_such_file.tsv"); },
              {"does not exist", "no_such_file.tsv"});
}

TEST_CASE("bahdanau data: vocabulary and encoded arrays as d2l builds them") {
  const std::vector<Tokens> sentences = {words("a b b ."), words("c b a ."), words("d .")};
  const Vocab vocab(sentences, 2);
  // <unk> <pad> <bos> <eos>, then by frequency (ties in order of first appearance); d and c
  // are seen once, below min_freq 2.
  CHECK(vocab.tokens() == Tokens{"<unk>", "<pad>", "<bos>", "<eos>", "b", ".", "a"});
  CHECK(vocab.id("c") == Vocab::unk);
  const Encoded encoded = encode_sentences({words("a b"), words("b b b b b")}, vocab, 4);
  check_values(encoded.tokens, {6, 4, 3, 1, 4, 4, 4, 4});  // <eos> then <pad>; cut at 4
  check_values(encoded.valid_lens, {3, 4});
  check_error([] { Vocab(Tokens{"a", "<pad>", "<bos>", "<eos>"}); }, {"<unk> <pad> <bos> <eos>"});
  check_error([&] { vocab.token(7); }, {"token id 7", "size 7"});
}

TEST_CASE("bahdanau data: the held-out split is seeded and disjoint") {
  std::vector<SentencePair> pairs;
  for (int i = 0; i < 40; ++i) pairs.push_back({fmt::format("s{} .", i), fmt::format("t{} .", i)});
  const TranslationData a = build_data(pairs, Tokenizer::Words, 5, 1, 0.25, 3);
  const TranslationData b = build_data(pairs, Tokenizer::Words, 5, 1, 0.25, 3);
  CHECK(a.val_pairs.size() == 10);
  CHECK(a.train_pairs.size() == 30);
  for (size_t i = 0; i < a.val_pairs.size(); ++i)
    CHECK(a.val_pairs[i].source == b.val_pairs[i].source);
  for (const auto& held : a.val_pairs) {
    for (const auto& trained : a.train_pairs) CHECK(held.source != trained.source);
  }
  check_error([&] { build_data(pairs, Tokenizer::Words, 5, 1, 1.0, 3); },
              {"--val-fraction", "[0, 1)"});
}

TEST_CASE("bahdanau dates: every format names the same day, and held-out sources are new") {
  CHECK(human_date(2026, 11, 21, 0, false) == "saturday 21 november 2026");
  CHECK(human_date(2026, 11, 21, 2, true) == "21/11/26");
  CHECK(human_date(2026, 3, 1, 2, true) == "01/03/26");
  CHECK(human_date(2026, 3, 1, 2, false) == "1/3/26");
  CHECK(human_date(2026, 11, 21, 4, false) == "nov 21, 2026");
  CHECK(human_date(2026, 11, 21, 6, true) == "21.11.2026");
  CHECK(human_date(2026, 11, 22, 9, false) == "the 22nd of november 2026");
  CHECK(human_date(2011, 1, 11, 12, false) == "11th jan '11");
  CHECK(iso_date(2026, 11, 21) == "2026-11-21");
  check_error([] { human_date(2026, 2, 30, 1, false); }, {"2026-02-30", "not a date"});
  check_error([] { human_date(2026, 2, 3, kDateFormats, false); }, {"format 13"});
  std::vector<SentencePair> train_pairs, held_out;
  date_pairs(500, 100, 7, train_pairs, held_out);
  CHECK(train_pairs.size() == 500);
  CHECK(held_out.size() == 100);
  std::set<std::string> seen;
  for (const auto& p : train_pairs) seen.insert(p.source);
  for (const auto& p : held_out) CHECK(seen.count(p.source) == 0);
}

TEST_CASE("bahdanau BLEU: d2l's sentence BLEU and corpus BLEU-4, by hand") {
  CHECK(sentence_bleu(words("va !"), words("va !")) == doctest::Approx(1.0));
  // One wrong inner word in four: p1 = 3/4, p2 = 1/3, so (3/4)^(1/2) (1/3)^(1/4) = 0.658.
  CHECK(sentence_bleu(words("il est paresseux ."), words("il est calme .")) ==
        doctest::Approx(0.6580370064));
  // Too short: brevity penalty exp(1 - 4/2), p1 = 2/2, p2 = 1/1.
  CHECK(sentence_bleu(words("il est"), words("il est calme ."), 2) ==
        doctest::Approx(std::exp(-1.0)));
  // Each label n-gram matches once: "a a a" against "a b": p1 = 1/3, p2 = 0.
  CHECK(sentence_bleu(words("a a a"), words("a b")) == 0.0);
  // Shorter than k: d2l scores the orders it has, exp(1 - 2/1) * (1/1)^(1/2).
  CHECK(sentence_bleu(words("x"), words("x y"), 2) == doctest::Approx(std::exp(-1.0)));
  CHECK(sentence_bleu(words("y"), words("x y"), 2) == doctest::Approx(std::exp(-1.0)));
  CHECK(sentence_bleu(words("z"), words("x y"), 2) == 0.0);
  // Corpus BLEU-4 over two sentences: counts are summed before the precisions are taken.
  const std::vector<Tokens> predictions = {words("the cat sat on the mat"), words("a dog runs")};
  const std::vector<Tokens> references = {words("the cat sat on the mat"), words("a dog ran")};
  // p1 = 8/9, p2 = 6/7, p3 = 4/5, p4 = 3/3; lengths 9 and 9: no brevity penalty.
  const double expected =
      std::exp((std::log(8.0 / 9) + std::log(6.0 / 7) + std::log(4.0 / 5) + std::log(1.0)) / 4);
  CHECK(corpus_bleu(predictions, references) == doctest::Approx(expected));
  check_error([&] { corpus_bleu(predictions, {references[0]}); }, {"one reference per prediction"});
}

TEST_CASE("bahdanau attention: projecting keys once equals attending from scratch") {
  manual_seed(3);
  const Tensor queries = randn({2, 3, 4}), keys = randn({2, 5, 6}), values = randn({2, 5, 7});
  const SoftmaxMask mask{.valid_lens = int_tensor({5, 2}, {2})};
  nn::AdditiveAttention additive(6, 4, 8);
  nn::LuongAttention general(nn::LuongScore::General, 4, 6);
  nn::LuongAttention concat(nn::LuongScore::Concat, 4, 6, 8);
  for (nn::Attention* attention : std::vector<nn::Attention*>{&additive, &general, &concat}) {
    INFO(attention->type_name());
    const Tensor direct = attention->forward(queries, keys, values, mask);
    const Tensor projected =
        attention->forward_projected(queries, attention->project_keys(keys), values, mask);
    check_close(projected, direct, 0, 0);
  }
}

TEST_CASE("bahdanau model: shapes, masking and every attention kind") {
  for (const char* kind : {"additive", "dot", "general"}) {
    for (bool bidirectional : {false, true}) {
      if (std::string(kind) == "dot" && bidirectional) continue;
      INFO(std::string(kind) << (bidirectional ? ", bidirectional" : ""));
      manual_seed(1);
      Seq2SeqConfig config{.source_vocab = 9,
                           .target_vocab = 11,
                           .embed_size = 4,
                           .num_hiddens = 6,
                           .num_layers = 2,
                           .dropout = 0.0,
                           .bidirectional = bidirectional,
                           .attention = kind};
      Seq2Seq model(config);
      const Tensor source = int_tensor({4, 5, 6, 3, 1, 7, 3, 1, 1, 1}, {2, 5});
      const Tensor valid = int_tensor({4, 2}, {2});
      const Tensor logits = model.forward(source, int_tensor({2, 4, 5, 2, 6, 7}, {2, 3}), valid);
      CHECK(logits.shape() == Shape{2, 3, 11});
      // The attention never looks past a sentence's valid length.
      const Tensor weights = model.decoder->attention_weights[0];  // (2, 1, 5)
      CHECK(weights.at({1, 0, 2}) == 0.0);
      CHECK(weights.at({1, 0, 4}) == 0.0);
      CHECK(weights.select(0, 1).sum().item() == doctest::Approx(1.0));
      // (As in d2l, the encoder's GRU still reads the padding, so its final state, the
      // decoder's first state, does depend on it; only the attention is masked.)
    }
  }
  check_error(
      [] {
        Seq2Seq(Seq2SeqConfig{
            .source_vocab = 9, .target_vocab = 9, .bidirectional = true, .attention = "dot"});
      },
      {"--attention dot", "bidirectional"});
  check_error(
      [] { Seq2Seq(Seq2SeqConfig{.source_vocab = 9, .target_vocab = 9, .attention = "x"}); },
      {"attention must be additive, dot or general, got 'x'"});
}

TEST_CASE(
    "bahdanau: a few seconds of training learn dates; checkpoints translate the same; beam 1 is "
    "greedy") {
  const fs::path checkpoint = temporary_path("dates.safetensors");
  const TrainResult result = train(small_date_run(checkpoint));
  CHECK(result.final_loss < 0.5);  // ln(15) = 2.7 knows nothing
  CHECK(result.held_out.count == 50);
  CHECK(result.held_out.exact_match > 0.5);
  // A training pair translates exactly after reloading the checkpoint.
  std::vector<SentencePair> train_pairs, held_out;
  date_pairs(3000, 50, 0, train_pairs, held_out);
  const Translator translator = load_translator(checkpoint.string());
  const std::vector<std::string> sources = {train_pairs[0].source, train_pairs[1].source,
                                            "saturday 21 november 2026"};
  const std::vector<Translation> greedy = translator.translate(sources);
  CHECK(translator.detokenize(greedy[0].tokens) == train_pairs[0].target);
  // Reloading again gives the same translations and attention.
  const Translator again = load_translator(checkpoint.string());
  const std::vector<Translation> second = again.translate(sources);
  for (size_t i = 0; i < sources.size(); ++i) {
    CHECK(second[i].tokens == greedy[i].tokens);
    check_close(second[i].attention, greedy[i].attention, 0, 0);
    // The attention has one row per decoded step (with <eos>) and one column per source token.
    CHECK(greedy[i].attention.size(0) == int64_t(greedy[i].tokens.size()) + 1);
    CHECK(greedy[i].attention.size(1) == int64_t(translator.source_tokens(sources[i]).size()) + 1);
  }
  // Beam search with width 1 is greedy search. A wider beam with alpha 0 (no length
  // normalisation) can in principle drop the greedy path; on these sentences it finds an answer at
  // least as likely, as a working beam search should.
  for (size_t i = 0; i < sources.size(); ++i) {
    const Translation beam1 = translator.translate({sources[i]}, 1)[0];
    const Translation beam_1_search =
        beam_translate(*translator.model, translator.encode({sources[i]}), 1, 0.75, 12);
    CHECK(beam_1_search.tokens == greedy[i].tokens);
    CHECK(beam_1_search.log_prob == doctest::Approx(greedy[i].log_prob).epsilon(1e-5));
    const Translation wide = translator.translate({sources[i]}, 4, 0.0)[0];
    CHECK(wide.log_prob >= beam1.log_prob - 1e-5);
  }
  fs::remove(checkpoint);
}

TEST_CASE("bahdanau: d2l's objective is the mean loss times valid tokens over num_steps") {
  // Two sentences with 3 and 1 valid tokens of 4: d2l sums each sentence's masked losses,
  // divides by num_steps = 4, and sums over the batch.
  const Tensor logits = random64({2, 4, 5}, 7).requires_grad_();
  const Tensor targets = int_tensor({1, 2, 3, 0, 4, 0, 0, 0}, {2, 4});
  const Tensor valid = int_tensor({3, 1});
  const Tensor mean = nn::sequence_cross_entropy(logits, targets, valid);
  const Tensor per_token = nn::cross_entropy(logits.reshape({8, 5}), targets.reshape({8}),
                                             {.reduction = Reduction::None});
  const std::vector<double> l = per_token.to_vector<double>();
  const double d2l = (l[0] + l[1] + l[2]) / 4 + l[4] / 4;
  CHECK(training_objective(mean, valid, 4, "d2l").item() == doctest::Approx(d2l));
  CHECK(training_objective(mean, valid, 4, "mean").item() == doctest::Approx(mean.item()));
  check_error([&] { training_objective(mean, valid, 4, "sum"); }, {"--loss", "mean or d2l"});
}

TEST_CASE("bahdanau: an interrupted and resumed run ends with the same weights") {
  const fs::path straight = temporary_path("straight.safetensors");
  const fs::path resumed = temporary_path("resumed.safetensors");
  TrainOptions options = small_date_run(straight);
  options.date_pairs = 600, options.epochs = 4, options.dropout = 0.2, options.loss = "d2l";
  train(options);
  options.checkpoint = resumed.string();
  options.stop_at_epoch = 2;
  train(options);  // interrupted after epoch 2, with a checkpoint
  options.stop_at_epoch = 0, options.resume = true;
  train(options);
  check_same_tensors(straight, resumed);
  fs::remove(straight);
  fs::remove(resumed);
}

TEST_CASE("bahdanau: bad input is a clear error") {
  TrainOptions options;
  options.epochs = 0;
  check_error([&] { train(options); }, {"--epochs", "must be in [1, 1000000]", "got 0"});
  options = TrainOptions{};
  options.data = kFixtures + "/empty.tsv";
  check_error([&] { train(options); }, {"empty.tsv", "no sentence pairs"});
  options.data = kFixtures + "/tatoeba_sample.tsv";
  options.strict = true;
  check_error([&] { train(options); }, {"line 4"});
  options = TrainOptions{};
  options.resume = true;
  options.checkpoint = (fs::path(kFixtures) / "nn_reference.safetensors").string();
  check_error([&] { train(options); }, {"cannot be resumed"});
  check_error([] { load_translator(kFixtures + "/nn_reference.safetensors"); },
              {"not a checkpoint of this program"});
  check_error([] { load_translator(kFixtures + "/no_such.safetensors"); }, {"no_such.safetensors"});
  options = small_date_run(temporary_path("device.safetensors"));
  options.device = "gpu";
  check_error([&] { train(options); }, {"unknown device 'gpu'", "cpu, cuda or cuda:N"});
}

TEST_CASE(
    "bahdanau: d2l's classic run on the first 600 pairs of fra.txt translates d2l's examples") {
  const fs::path data = fs::path(HEED_SHARED_DATA_DIR) / "fra-eng" / "fra.txt";
  if (!shared_data_present(data)) return;
  const fs::path checkpoint = temporary_path("classic.safetensors");
  TrainOptions options;
  options.data = data.string();
  options.num_examples = 600, options.val_fraction = 0.0, options.epochs = 250;
  options.checkpoint = checkpoint.string(), options.checkpoint_every = 250;
  options.eval.show = 0;
  train(options);
  const Translator translator = load_translator(checkpoint.string());
  const std::vector<std::string> english = {"go .", "i lost .", "i'm home ."};
  const std::vector<std::string> french = {"va !", "j'ai perdu .", "je suis chez moi ."};
  const std::vector<Translation> out = translator.translate(english);
  for (size_t i = 0; i < english.size(); ++i) {
    INFO(english[i] << " => " << translator.detokenize(out[i].tokens));
    CHECK(sentence_bleu(translator.target_tokens(out[i].tokens), words(french[i])) == 1.0);
  }
  fs::remove(checkpoint);
}
