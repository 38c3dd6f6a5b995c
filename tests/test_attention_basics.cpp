// examples/attention_basics: runs the program and checks every number it prints against values
// computed here with plain loops (not with heed's ops, and not copied from its output).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/helpers.hpp"

using Vector = std::vector<double>;
using Matrix = std::vector<Vector>;

namespace {

nlohmann::json run_program() {
  const auto json_path = std::filesystem::temp_directory_path() /
                         fmt::format("heed-attention-basics-{}.json", std::random_device{}());
  const std::string command =
      fmt::format("\"{}\" --json \"{}\" > /dev/null", HEED_ATTENTION_BASICS, json_path.string());
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(json_path);
  nlohmann::json results = nlohmann::json::parse(in);
  std::filesystem::remove(json_path);
  return results;
}

Vector values(const nlohmann::json& results, const std::string& name) {
  INFO(name);
  REQUIRE(results.contains(name));
  return results.at(name).at("values").get<Vector>();
}

Matrix rows(const Vector& flat, size_t cols) {
  Matrix out;
  for (size_t i = 0; i < flat.size(); i += cols)
    out.emplace_back(flat.begin() + long(i), flat.begin() + long(i + cols));
  return out;
}

double dot(const Vector& a, const Vector& b) {
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i) total += a[i] * b[i];
  return total;
}

// Softmax over the first `valid` entries, zeros after; all zeros when valid is 0.
Vector softmax_prefix(const Vector& x, size_t valid) {
  Vector out(x.size(), 0.0);
  if (valid == 0) return out;
  double largest = x[0], total = 0;
  for (size_t i = 0; i < valid; ++i) largest = std::max(largest, x[i]);
  for (size_t i = 0; i < valid; ++i) total += std::exp(x[i] - largest);
  for (size_t i = 0; i < valid; ++i) out[i] = std::exp(x[i] - largest) / total;
  return out;
}

Vector softmax_kept(const Vector& x, const std::vector<bool>& keep) {
  Vector kept_values, out(x.size(), 0.0);
  for (size_t i = 0; i < x.size(); ++i)
    if (keep[i]) kept_values.push_back(x[i]);
  const Vector s = softmax_prefix(kept_values, kept_values.size());
  for (size_t i = 0, j = 0; i < x.size(); ++i)
    if (keep[i]) out[i] = s[j++];
  return out;
}

void check_all(const Vector& actual, const Vector& expected, double tolerance = 1e-9) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    CHECK_MESSAGE(std::abs(actual[i] - expected[i]) <= tolerance * (1 + std::abs(expected[i])),
                  "element " << i << ": program " << actual[i] << ", expected " << expected[i]);
  }
}

Vector flatten(const Matrix& m) {
  Vector out;
  for (const Vector& row : m) out.insert(out.end(), row.begin(), row.end());
  return out;
}

}  // namespace

TEST_CASE("attention_basics prints the right numbers, computed independently here") {
  const nlohmann::json r = run_program();
  const Vector s = {5, 1, 20};
  const Matrix A = {{3, 12, 45}, {59, 2, 5}, {1, 43, 5}, {4, 3, 45.3}};

  // Step 1 and 2: dot products, softmax, context.
  check_all(values(r, "step1.score"), {dot(s, A[0])});
  check_all(values(r, "step2.annotations"), {3, 12, 45, 59, 2, 5, 1, 43, 5, 4, 3, 45.3});
  Vector scores;
  for (const Vector& a : A) scores.push_back(dot(s, a));
  check_all(values(r, "step2.scores"), scores);
  const Vector weights = softmax_prefix(scores, 4);
  check_all(values(r, "step2.weights"), weights);
  Vector context(3, 0.0);
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 3; ++j) context[j] += weights[i] * A[i][j];
  check_all(values(r, "step2.context"), context);

  // Step 3: the four scores from the program's own random inputs.
  const Vector q = values(r, "step3.query");
  const Matrix X = rows(values(r, "step3.keys"), 4), W_k = rows(values(r, "step3.W_k"), 4);
  const Matrix W_q = rows(values(r, "step3.W_q"), 4), W = rows(values(r, "step3.W"), 4);
  const Vector w_v = values(r, "step3.w_v");
  Vector additive, plain, scaled, general;
  for (const Vector& x : X) {
    double total = 0;
    for (size_t h = 0; h < W_k.size(); ++h) {
      total += w_v[h] * std::tanh(dot(W_q[h], q) + dot(W_k[h], x));
    }
    additive.push_back(total);
    plain.push_back(dot(x, q));
    scaled.push_back(dot(x, q) / 2.0);  // sqrt(4)
    Vector Wx(4, 0.0);                  // W k
    for (size_t i = 0; i < 4; ++i) Wx[i] = dot(W[i], x);
    general.push_back(dot(q, Wx));
  }
  check_all(values(r, "step3.additive"), additive);
  check_all(values(r, "step3.dot"), plain);
  check_all(values(r, "step3.scaled_dot"), scaled);
  check_all(values(r, "step3.general"), general);
  check_all(values(r, "step3.saturation_dims"), {4, 16, 64, 256, 1024});
  // Saturation: unscaled weights climb towards one-hot; scaled ones stay where they were.
  const Vector unscaled_max = values(r, "step3.saturation_unscaled");
  const Vector scaled_max = values(r, "step3.saturation_scaled");
  for (size_t i = 1; i < unscaled_max.size(); ++i) CHECK(unscaled_max[i] > unscaled_max[i - 1]);
  CHECK(unscaled_max.back() > 0.95);
  for (double m : scaled_max) CHECK(std::abs(m - scaled_max[0]) < 0.05);

  // Step 4: queries, keys, values.
  const Matrix K = {{0.9, 0.1}, {0.8, 0.2}, {0.7, 0.9}}, V = {{1.0, 0.1}, {0.6, 0.2}, {0.2, 0.3}};
  Vector qk;
  for (const Vector& k : K) qk.push_back(dot({1.0, 0.8}, k) / std::sqrt(2.0));
  check_all(values(r, "step4.Q"), {1.0, 0.8});
  check_all(values(r, "step4.K"), {0.9, 0.1, 0.8, 0.2, 0.7, 0.9});
  check_all(values(r, "step4.V"), {V[0][0], V[0][1], V[1][0], V[1][1], V[2][0], V[2][1]});
  check_all(values(r, "step4.scores"), qk);
  const Vector w4 = softmax_prefix(qk, 3);
  check_all(values(r, "step4.weights"), w4);
  check_all(values(r, "step4.output"), {w4[0] * V[0][0] + w4[1] * V[1][0] + w4[2] * V[2][0],
                                        w4[0] * V[0][1] + w4[1] * V[1][1] + w4[2] * V[2][1]});
  const Vector s3 = {dot({2, 3, 1}, {1, 2, 1}) / std::sqrt(3.0),
                     dot({2, 3, 1}, {1, 1, 2}) / std::sqrt(3.0)};
  check_all(values(r, "step4.scores3"), s3);
  check_all(values(r, "step4.weights3"), softmax_prefix(s3, 2));

  // Step 5: every mask, from the program's own random scores.
  const Matrix x = rows(values(r, "step5.input"), 4);  // rows (b, q) of 4 keys
  Matrix by_sentence, by_row, padded;
  const size_t sentence_lens[2] = {2, 3}, row_lens[4] = {1, 3, 2, 4};
  const std::vector<bool> keep[2] = {{false, false, true, true}, {true, true, true, true}};
  Matrix none;
  for (size_t i = 0; i < 4; ++i) {
    by_sentence.push_back(softmax_prefix(x[i], sentence_lens[i / 2]));
    by_row.push_back(softmax_prefix(x[i], row_lens[i]));
    padded.push_back(softmax_kept(x[i], keep[i / 2]));
    none.push_back(softmax_prefix(x[i], i < 2 ? 0 : 2));
  }
  check_all(values(r, "step5.valid_lens"), flatten(by_sentence));
  check_all(values(r, "step5.valid_lens_per_row"), flatten(by_row));
  check_all(values(r, "step5.left_padded"), flatten(padded));
  const Vector fully_masked = values(r, "step5.fully_masked");
  check_all(fully_masked, flatten(none));
  for (double value : fully_masked) CHECK_FALSE(std::isnan(value));
  const Vector causal = values(r, "step5.causal");
  for (size_t i = 0; i < 4; ++i) {
    double row_sum = 0;
    for (size_t j = 0; j < 4; ++j) {
      row_sum += causal[i * 4 + j];
      if (j > i) CHECK(causal[i * 4 + j] == 0.0);
    }
    CHECK(row_sum == doctest::Approx(1.0));
  }

  // Step 6: the on-screen checks agree, and the simplest gradient is the annotation itself.
  check_all(values(r, "step6.dot_score.autograd"), A[0]);
  for (const char* name : {"step6.dot_score", "step6.context", "step6.qkv", "step6.masked"}) {
    INFO(name);
    CHECK(r.at(std::string(name) + ".max_difference").get<double>() < 1e-6);
    // Two sides that agree because both are zero would check nothing.
    double largest = 0;
    for (double g : values(r, std::string(name) + ".autograd")) {
      largest = std::max(largest, std::abs(g));
    }
    CHECK(largest > 1e-3);
  }
  // d/dq of sum(softmax(q K^T / sqrt 2) V), by central differences over the loops above.
  auto qkv_sum = [&](const Vector& query) {
    Vector sc;
    for (const Vector& k : K) sc.push_back(dot(query, k) / std::sqrt(2.0));
    const Vector w = softmax_prefix(sc, 3);
    double total = 0;
    for (size_t i = 0; i < 3; ++i) total += w[i] * (V[i][0] + V[i][1]);
    return total;
  };
  Vector numeric;
  for (size_t i = 0; i < 2; ++i) {
    Vector plus = {1.0, 0.8}, minus = {1.0, 0.8};
    plus[i] += 1e-6, minus[i] -= 1e-6;
    numeric.push_back((qkv_sum(plus) - qkv_sum(minus)) / 2e-6);
  }
  check_all(values(r, "step6.qkv.autograd"), numeric, 1e-6);
}

TEST_CASE("attention_basics rejects a step that does not exist") {
  const std::string command =
      fmt::format("\"{}\" --step 7 > /dev/null 2>&1", HEED_ATTENTION_BASICS);
  const int status = std::system(command.c_str());
  CHECK(WEXITSTATUS(status) == 2);
}

// HEED_PROFILE, read when a program starts: 1 prints the profile at exit, 0 or unset nothing, and
// any other value one line saying so (the profiler stays off).
TEST_CASE("HEED_PROFILE=1 prints the profile at exit; another value is refused in one line") {
  const auto err_path = std::filesystem::temp_directory_path() /
                        fmt::format("heed-profile-{}.txt", std::random_device{}());
  auto run_with = [&](const std::string& value) {
    const std::string command = fmt::format("HEED_PROFILE={} \"{}\" > /dev/null 2> \"{}\"", value,
                                            HEED_ATTENTION_BASICS, err_path.string());
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(err_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string profiled = run_with("1");
  CHECK(profiled.find("heed profile:") != std::string::npos);
  CHECK(profiled.find("gemm") != std::string::npos);
  CHECK(run_with("0").empty());
  const std::string refused = run_with("yes");
  CHECK(refused == "heed: HEED_PROFILE must be 0 or 1, got 'yes'; the profiler stays off\n");
  std::filesystem::remove(err_path);
}
