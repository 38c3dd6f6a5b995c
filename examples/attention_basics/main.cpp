// attention_basics: attention from first principles, one printed step at a time.
//   1  score one encoder state ("annotation") against a decoder state by dot product
//   2  score all annotations at once, softmax into weights, and sum into a context vector
//   3  the four classic scores side by side, and why dot products are scaled
//   4  queries, keys and values on tiny hand-made tensors
//   5  masked softmax: valid lengths, a left-padded batch, a causal mask, a fully masked row
//   6  the gradient of each result with respect to the query, checked by finite differences
// Every number printed is computed by heed (float64, autograd on). --step N runs one step,
// --out DIR writes heatmaps of the weight matrices (--format png or svg), --json FILE writes
// every result for tests.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "engine/testing.hpp"
#include "examples/common/heatmap.hpp"
#include "nn/nn.hpp"

using namespace heed;

namespace {

const TensorOptions kDouble{kFloat64};

// Prints each result with its shape and a one-line explanation, and keeps it for --json.
struct Report {
  nlohmann::json results;
  std::string out_dir;
  std::string format = "png";  // or svg

  void show(const std::string& name, const Tensor& value, const std::string& explanation) {
    fmt::print("{} {}: {}\n{}\n\n", name, shape_str(value.shape()), explanation,
               to_string(value.detach()));
    results[name] = {{"shape", value.shape()}, {"values", value.detach().to_vector<double>()}};
  }
  void say(const std::string& text) { fmt::print("{}\n", text); }

  // A weight matrix (rows attend to columns) as a heatmap, when --out was given.
  void heatmap(const std::string& name, const Tensor& weights, std::vector<std::string> rows,
               std::vector<std::string> cols, const std::string& title) {
    if (out_dir.empty()) return;
    const std::string path = (std::filesystem::path(out_dir) / (name + "." + format)).string();
    examples::write_heatmaps(path, {{weights.detach(), std::move(rows), std::move(cols), title}});
    fmt::print("(heatmap written to {})\n\n", path);
  }
};

std::vector<std::string> labels(const std::string& prefix, int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(fmt::format("{}{}", prefix, i + 1));
  return out;
}

Tensor decoder_state() {
  return tensor({5, 1, 20}, kDouble);
}

Tensor annotations() {
  return tensor({{3, 12, 45}, {59, 2, 5}, {1, 43, 5}, {4, 3, 45.3}}, kDouble);  // (4, 3)
}

void step1(Report& r) {
  r.say("== Step 1: score one annotation against the decoder state ==");
  const Tensor s = decoder_state(), h = annotations().select(0, 0);
  r.show("step1.decoder_state", s, "the decoder's hidden state s (the query)");
  r.show("step1.annotation", h, "one encoder hidden state h (an annotation)");
  r.show("step1.score", (s * h).sum(), "score = s . h: large when the two point the same way");
}

void step2(Report& r) {
  r.say("== Step 2: all annotations at once ==");
  const Tensor s = decoder_state(), A = annotations();
  r.show("step2.annotations", A, "A: the four annotations h1..h4, one per row (h1 is step 1's)");
  const Tensor scores = matmul(A, s);  // (4, 3) @ (3) -> (4)
  r.show("step2.scores", scores, "A s: every annotation's dot product in one matrix product");
  const Tensor weights = softmax(scores, -1);  // (4)
  r.show("step2.weights", weights,
         "softmax(scores): positive, summing to 1; the largest scores take almost everything");
  const Tensor weighted = A * weights.unsqueeze(1);  // (4, 3)
  r.show("step2.weighted", weighted, "each annotation scaled by its weight");
  r.show("step2.context", weighted.sum({0}), "the context vector: the weighted annotations summed");
  r.heatmap("step2_weights", weights.unsqueeze(0), {"s"}, labels("h", 4),
            "decoder state attending to 4 annotations");
}

void step3(Report& r) {
  r.say("== Step 3: four scoring functions on the same query and keys ==");
  Generator generator(3);
  const int64_t D = 4, H = 5;
  const Tensor q = randn({D}, kDouble, &generator);     // (D)
  const Tensor X = randn({6, D}, kDouble, &generator);  // (K, D): six keys
  // The names of docs/attention.md: W_q, W_k and w_v for Bahdanau's additive score (nn's
  // AdditiveAttention), W for Luong's "general" score (nn's LuongAttention).
  const Tensor W_k = randn({H, D}, kDouble, &generator) * 0.5,
               W_q = randn({H, D}, kDouble, &generator) * 0.5;
  const Tensor w_v = randn({H}, kDouble, &generator) * 0.5;
  const Tensor W = randn({D, D}, kDouble, &generator) * 0.5;
  r.show("step3.query", q, "the query q");
  r.show("step3.keys", X, "six keys k1..k6, one per row");
  r.show("step3.W_k", W_k, "additive: W_k, applied to each key (H = 5 rows)");
  r.show("step3.W_q", W_q, "additive: W_q, applied to the query (H = 5 rows)");
  r.show("step3.w_v", w_v, "additive: w_v, reducing each hidden vector to a score");
  r.show("step3.W", W, "general (Luong): W, between the query and each key");
  const Tensor additive = matmul(tanh(matmul(X, W_k.t()) + matmul(W_q, q)), w_v);  // (K)
  const Tensor dot = matmul(X, q);                                                 // (K)
  const Tensor scaled = dot / std::sqrt(double(D));                                // (K)
  const Tensor general = matmul(matmul(X, W.t()), q);  // (K): q . (W k) for each key k
  r.show("step3.additive", additive,
         "w_v . tanh(W_q q + W_k k): a small network scores each pair (Bahdanau)");
  r.show("step3.dot", dot, "q . k: no parameters");
  r.show("step3.scaled_dot", scaled, "q . k / sqrt(D): the dot product, scaled");
  r.show("step3.general", general, "q . (W k): a learned similarity (Luong's general)");
  const Tensor all = stack({additive, dot, scaled, general}, 0);  // (4, K)
  r.show("step3.weights", softmax(all, -1),
         "each score's softmax over the six keys; rows: additive, dot, scaled dot, general");
  r.heatmap("step3_scores", softmax(all, -1), {"additive", "dot", "scaled", "general"},
            labels("k", 6), "four scores, softmaxed");

  r.say("Why scale: the dot product of two random D-dimensional vectors has variance D, so as D");
  r.say(
      "grows the softmax puts nearly all weight on one key. Dividing by sqrt(D) brings the "
      "variance back to 1.");
  std::vector<int64_t> dims;
  std::vector<double> unscaled_max, scaled_max;
  for (int64_t d : {4, 16, 64, 256, 1024}) {
    Generator g(int64_t(100) + d);
    const Tensor queries = randn({200, 1, d}, kDouble, &g), keys = randn({200, 8, d}, kDouble, &g);
    const Tensor s = matmul(queries, keys.transpose(1, 2)).squeeze(1);  // (200, 8)
    dims.push_back(d);
    unscaled_max.push_back(softmax(s, -1).amax({-1}).mean().item());
    scaled_max.push_back(softmax(s / std::sqrt(double(d)), -1).amax({-1}).mean().item());
  }
  r.show("step3.saturation_dims", int_tensor(dims, {5}), "the widths D tried");
  r.show("step3.saturation_unscaled", tensor(unscaled_max, {5}, kDouble),
         "mean largest weight over 8 keys, unscaled: heads for 1 (one-hot) as D grows");
  r.show("step3.saturation_scaled", tensor(scaled_max, {5}, kDouble),
         "the same with sqrt(D) scaling: stays put, so gradients keep flowing to every key");
}

void step4(Report& r) {
  r.say("== Step 4: queries, keys and values ==");
  const Tensor Q = tensor({{1.0, 0.8}}, kDouble);                          // (1, 2)
  const Tensor K = tensor({{0.9, 0.1}, {0.8, 0.2}, {0.7, 0.9}}, kDouble);  // (3, 2)
  const Tensor V = tensor({{1.0, 0.1}, {0.6, 0.2}, {0.2, 0.3}}, kDouble);  // (3, 2)
  r.show("step4.Q", Q, "one query, of width 2");
  r.show("step4.K", K, "three keys, one per row");
  r.show("step4.V", V, "three values, one per key");
  const Tensor scores = matmul(Q, K.t()) / std::sqrt(2.0);  // (1, 3)
  r.show("step4.scores", scores, "Q K^T / sqrt(2): the query against each key");
  const Tensor weights = softmax(scores, -1);
  r.show("step4.weights", weights, "softmax over the keys");
  r.show("step4.output", matmul(weights, V), "weights @ V: a blend of the values");
  r.heatmap("step4_weights", weights, {"q"}, labels("k", 3), "Q against K");

  const Tensor q = tensor({2, 3, 1}, kDouble);
  const Tensor keys = tensor({{1, 2, 1}, {1, 1, 2}}, kDouble);  // K1, K2
  const Tensor s = matmul(keys, q) / std::sqrt(3.0);            // (2)
  r.show("step4.scores3", s, "q = [2, 3, 1] against K1 = [1, 2, 1] and K2 = [1, 1, 2], / sqrt(3)");
  r.show("step4.weights3", softmax(s, -1), "K1 matches q better, so it gets more weight");
}

void step5(Report& r) {
  r.say("== Step 5: masked softmax ==");
  Generator generator(5);
  const Tensor x = rand({2, 2, 4}, kDouble, &generator);  // (B, Q, K)
  r.show("step5.input", x, "scores for 2 sentences, each 2 queries against 4 keys");
  const Tensor by_sentence = masked_softmax(x, {.valid_lens = int_tensor({2, 3})});
  r.show("step5.valid_lens", by_sentence,
         "valid lengths 2 and 3: sentence 1 has 2 real keys, sentence 2 has 3; the rest get "
         "exactly 0");
  const Tensor by_row = masked_softmax(x, {.valid_lens = int_tensor({1, 3, 2, 4}, {2, 2})});
  r.show("step5.valid_lens_per_row", by_row,
         "one valid length per query: 1 and 3 in sentence 1, 2 and 4 in sentence 2");
  r.heatmap("step5_valid_lens", by_row.reshape({4, 4}), labels("q", 4), labels("k", 4),
            "per-row valid lengths");

  // A left-padded batch: the first sentence has 2 real tokens, the second 4.
  const Tensor attention_mask = tensor({{0, 0, 1, 1}, {1, 1, 1, 1}}, kDouble);  // (B, K)
  const Tensor padded = masked_softmax(x, {.keep_mask = attention_mask.unsqueeze(1)});
  r.show("step5.left_padded", padded,
         "a 0/1 attention mask (1 = real token) for left padding: the padding on the left gets 0");

  const Tensor square = rand({4, 4}, kDouble, &generator);
  const Tensor causal = masked_softmax(square, {.causal = true});
  r.show("step5.causal", causal, "causal: position t sees positions <= t only (lower triangle)");
  r.heatmap("step5_causal", causal, labels("t", 4), labels("t", 4), "causal mask");

  const Tensor none = masked_softmax(x, {.valid_lens = int_tensor({0, 2})});
  r.show("step5.fully_masked", none,
         "valid length 0: every key masked. The row is all zeros, not NaN: exp(-inf) / 0 is never "
         "computed, so the sentence contributes nothing (and gets zero gradient)");
}

// Autograd's gradient of result(query) against central differences, both printed, with
// heed::testing::gradcheck (the check heed's own tests use).
void check_gradient(Report& r, const std::string& name, const Tensor& query,
                    const std::function<Tensor(const Tensor&)>& result, const std::string& what) {
  const testing::GradcheckResult check = testing::gradcheck(
      [&](const std::vector<Tensor>& in) { return result(in[0]); }, {query.detach().clone()});
  const Tensor& autograd = check.analytic_gradients[0];
  const Tensor& numeric = check.numeric_gradients[0];
  r.show(name + ".autograd", autograd, fmt::format("d({}) / d(query) by backpropagation", what));
  r.show(name + ".numeric", numeric, "the same by central differences, (f(q + e) - f(q - e)) / 2e");
  const double gap = (autograd - numeric).abs().amax().item();
  r.say(fmt::format("largest difference: {:.2e} ({})\n", gap,
                    check.passed
                        ? "they agree; a wrong backward would show a gap near the gradient's "
                          "own size here, and MISMATCH with the worst element"
                        : "MISMATCH: " + check.report));
  r.results[name + ".max_difference"] = gap;
}

void step6(Report& r) {
  r.say("== Step 6: gradients with respect to the query, checked ==");
  const Tensor A = annotations();
  check_gradient(
      r, "step6.dot_score", decoder_state(),
      [&](const Tensor& s) { return (s * A.select(0, 0)).sum(); }, "step 1's score");
  // Scaled down so the softmax is not saturated and the gradient is not vanishingly small.
  check_gradient(
      r, "step6.context", decoder_state() * 0.01,
      [&](const Tensor& s) { return matmul(softmax(matmul(A, s), -1), A).sum(); },
      "sum of step 2's context (query scaled by 0.01)");
  const Tensor K = tensor({{0.9, 0.1}, {0.8, 0.2}, {0.7, 0.9}}, kDouble);
  const Tensor V = tensor({{1.0, 0.1}, {0.6, 0.2}, {0.2, 0.3}}, kDouble);
  check_gradient(
      r, "step6.qkv", tensor({{1.0, 0.8}}, kDouble),
      [&](const Tensor& q) {
        return matmul(softmax(matmul(q, K.t()) / std::sqrt(2.0), -1), V).sum();
      },
      "sum of step 4's output");
  const Tensor values = tensor({{1, 2}, {3, 4}, {5, 6}, {7, 8}}, kDouble);
  check_gradient(
      r, "step6.masked", tensor({0.3, -0.2}, kDouble),
      [&](const Tensor& q) {
        const Tensor scores = matmul(values, q).reshape({1, 1, 4});
        const Tensor w = masked_softmax(scores, {.valid_lens = int_tensor({3})});
        return matmul(w.reshape({1, 4}), values).sum();
      },
      "sum of a context over 3 of 4 keys (valid length 3)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attention_basics: attention from first principles, one printed step at a time"};
  int step = 0;
  Report report;
  std::string json_path;
  app.add_option("--step", step, "run only this step (1-6; 0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 6));
  app.add_option("--out", report.out_dir, "write heatmaps of the weight matrices here");
  app.add_option("--format", report.format, "heatmap format: png or svg")
      ->capture_default_str()
      ->check(CLI::IsMember({"png", "svg"}));
  app.add_option("--json", json_path, "write every printed result to this JSON file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "attention_basics: {} (see --help)\n", e.what());
    return 2;
  }
  try {
    if (!report.out_dir.empty()) std::filesystem::create_directories(report.out_dir);
    const std::vector<void (*)(Report&)> steps = {step1, step2, step3, step4, step5, step6};
    for (int i = 1; i <= 6; ++i) {
      if (step == 0 || step == i) steps[size_t(i - 1)](report);
    }
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << report.results.dump(1) << "\n";
      if (!out) fail("cannot write {}", json_path);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "attention_basics: {}\n", e.what());
    return 2;
  }
  return 0;
}
