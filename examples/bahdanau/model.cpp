#include "examples/bahdanau/model.hpp"

#include <nlohmann/json.hpp>

#include "engine/io/json_reader.hpp"

namespace bahdanau {

using namespace heed;

std::string Seq2SeqConfig::to_json() const {
  return nlohmann::json{{"source_vocab", source_vocab},   {"target_vocab", target_vocab},
                        {"embed_size", embed_size},       {"num_hiddens", num_hiddens},
                        {"num_layers", num_layers},       {"dropout", dropout},
                        {"bidirectional", bidirectional}, {"attention", attention}}
      .dump();
}

Seq2SeqConfig Seq2SeqConfig::from_json(const std::string& text, const std::string& where) {
  const std::string what = where + ": the model config";
  const nlohmann::json j = parse_untrusted_json(text, what);
  Seq2SeqConfig c;
  c.source_vocab = json_integer(j, "source_vocab", what);
  c.target_vocab = json_integer(j, "target_vocab", what);
  c.embed_size = json_integer(j, "embed_size", what);
  c.num_hiddens = json_integer(j, "num_hiddens", what);
  c.num_layers = json_integer(j, "num_layers", what);
  c.dropout = json_number(j, "dropout", what);
  c.bidirectional = json_bool(j, "bidirectional", what);
  c.attention = json_string(j, "attention", what);
  c.validate(what);
  return c;
}

void Seq2SeqConfig::validate(const std::string& where) const {
  using examples::check_field;
  check_field(where, "source_vocab", source_vocab, limits::vocab);
  check_field(where, "target_vocab", target_vocab, limits::vocab);
  check_field(where, "embed_size", embed_size, limits::embed_size);
  check_field(where, "num_hiddens", num_hiddens, limits::num_hiddens);
  check_field(where, "num_layers", num_layers, limits::num_layers);
  check_field(where, "dropout", dropout, limits::dropout);
  if (attention != "additive" && attention != "dot" && attention != "general") {
    fail("{}: attention must be additive, dot or general, got {}", where, printable(attention));
  }
}

Seq2SeqEncoder::Seq2SeqEncoder(const Seq2SeqConfig& c) : nn::Module("Seq2SeqEncoder") {
  embedding =
      register_module("embedding", std::make_shared<nn::Embedding>(c.source_vocab, c.embed_size));
  rnn = register_module(
      "rnn", std::make_shared<nn::GRU>(c.embed_size, c.num_hiddens,
                                       nn::RecurrentOptions{.num_layers = c.num_layers,
                                                            .batch_first = true,
                                                            .dropout = c.dropout,
                                                            .bidirectional = c.bidirectional}));
}

std::pair<Tensor, Tensor> Seq2SeqEncoder::forward(const Tensor& source) {
  const Tensor embedded = embedding->forward(source);  // (B, T, E)
  return rnn->forward(embedded);                       // (B, T, D*H), (L*D, B, H)
}

DecoderState DecoderState::select_rows(const Tensor& rows) const {
  return {index_select(keys, 0, rows), index_select(projected_keys, 0, rows),
          index_select(valid_lens, 0, rows), index_select(hidden, 1, rows)};
}

Seq2SeqAttentionDecoder::Seq2SeqAttentionDecoder(const Seq2SeqConfig& c)
    : nn::Module("Seq2SeqAttentionDecoder"), num_layers_(c.num_layers) {
  const int64_t H = c.num_hiddens;
  const int64_t context = c.bidirectional ? 2 * H : H;  // the encoder outputs' width
  if (c.attention == "additive") {
    attention = std::make_shared<nn::AdditiveAttention>(context, H, H, c.dropout);
  } else if (c.attention == "dot") {
    if (context != H) {
      fail(
          "--attention dot needs queries and keys of one size; a bidirectional encoder's "
          "outputs are {} wide and the decoder's state {}: use additive or general",
          context, H);
    }
    attention = std::make_shared<nn::DotProductAttention>(c.dropout);
  } else if (c.attention == "general") {
    attention =
        std::make_shared<nn::LuongAttention>(nn::LuongScore::General, H, context, 0, c.dropout);
  } else {
    fail("unknown attention '{}' (expected additive, dot or general)", c.attention);
  }
  register_module("attention", attention);
  embedding =
      register_module("embedding", std::make_shared<nn::Embedding>(c.target_vocab, c.embed_size));
  rnn = register_module(
      "rnn", std::make_shared<nn::GRU>(
                 context + c.embed_size, H,
                 nn::RecurrentOptions{.num_layers = c.num_layers, .dropout = c.dropout}));
  dense = register_module("dense", std::make_shared<nn::Linear>(H, c.target_vocab));
  if (c.bidirectional) bridge = register_module("bridge", std::make_shared<nn::Linear>(2 * H, H));
}

DecoderState Seq2SeqAttentionDecoder::init_state(const Tensor& encoder_outputs,
                                                 const Tensor& encoder_state,
                                                 const Tensor& source_valid_lens) {
  Tensor hidden = encoder_state;  // (L, B, H)
  if (bridge) {
    // Each layer's forward and backward final states, side by side, mapped to one state:
    // (L*2, B, H) -> (L, 2, B, H) -> (L, B, 2, H) -> (L, B, 2H) -> tanh(bridge) (L, B, H)
    const int64_t B = encoder_state.size(1), H = encoder_state.size(2);
    const Tensor both = encoder_state.reshape({num_layers_, 2, B, H}).permute({0, 2, 1, 3});
    hidden = tanh(bridge->forward(both.reshape({num_layers_, B, 2 * H})));
  }
  return {encoder_outputs, attention->project_keys(encoder_outputs), source_valid_lens, hidden};
}

Tensor Seq2SeqAttentionDecoder::forward(const Tensor& inputs, DecoderState& state) {
  const std::vector<Tensor> embedded = unbind(embedding->forward(inputs), 1);  // T x (B, E)
  const SoftmaxMask mask{.valid_lens = state.valid_lens};
  std::vector<Tensor> outputs;
  attention_weights.clear();
  for (const Tensor& x : embedded) {
    const Tensor query = state.hidden.select(0, num_layers_ - 1).unsqueeze(1);  // (B, 1, H)
    const Tensor context = attention->forward_projected(query, state.projected_keys, state.keys,
                                                        mask);                // (B, 1, D*H)
    const Tensor step_input = cat({context.squeeze(1), x}, -1).unsqueeze(0);  // (1, B, D*H + E)
    auto [output, hidden] = rnn->forward(step_input, state.hidden);  // (1, B, H), (L, B, H)
    state.hidden = hidden;
    outputs.push_back(output.squeeze(0));  // (B, H)
    attention_weights.push_back(attention->attention_weights);
  }
  return dense->forward(stack(outputs, 1));  // (B, T, H) -> (B, T, V)
}

Seq2Seq::Seq2Seq(Seq2SeqConfig config) : nn::Module("Seq2Seq"), config_(std::move(config)) {
  const Seq2SeqConfig& c = config_;
  c.validate("Seq2Seq");
  encoder = register_module("encoder", std::make_shared<Seq2SeqEncoder>(c));
  decoder = register_module("decoder", std::make_shared<Seq2SeqAttentionDecoder>(c));
}

DecoderState Seq2Seq::encode(const Tensor& source, const Tensor& source_valid_lens) {
  auto [outputs, state] = encoder->forward(source);  // (B, T, D*H), (L*D, B, H)
  return decoder->init_state(outputs, state, source_valid_lens);
}

Tensor Seq2Seq::forward(const Tensor& source, const Tensor& decoder_inputs,
                        const Tensor& source_valid_lens) {
  DecoderState state = encode(source, source_valid_lens);
  return decoder->forward(decoder_inputs, state);  // (B, T_t, V)
}

void xavier_init(nn::Module& model) {
  for (auto& [name, parameter] : model.named_parameters()) {
    const bool embedding = name.find("embedding") != std::string::npos;
    if (parameter.dim() == 2 && !embedding) nn::init::xavier_uniform_(parameter);
  }
}

}  // namespace bahdanau
