// d2l.ai's Bahdanau-attention encoder-decoder, built from heed::nn:
//   encoder  embedding -> multi-layer GRU (optionally bidirectional, as in Bahdanau et al.)
//   decoder  at every target step: query = the last layer's hidden state from the step before;
//            context = attention(query, encoder outputs), masked by the source valid lengths;
//            GRU input = [context; embedding of the previous target token];
//            logits = dense(GRU output)
// Training feeds the true previous tokens (teacher forcing, <bos> first); translation feeds
// the model's own choices back in (decode.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "examples/common/checks.hpp"
#include "nn/nn.hpp"

namespace bahdanau {

using heed::Tensor;

// The bounds of every size of a model, shared by the flags and by configs read from checkpoints.
namespace limits {
inline constexpr examples::IntRange vocab{4, int64_t{1} << 24};  // at least <unk> <pad> <bos> <eos>
inline constexpr examples::IntRange embed_size{1, 8192};
inline constexpr examples::IntRange num_hiddens{1, 8192};
inline constexpr examples::IntRange num_layers{1, 16};
inline constexpr examples::RealRange dropout{0, 1, false, true};
inline constexpr examples::IntRange num_steps{1, 1024};  // tokens per sentence
}  // namespace limits

struct Seq2SeqConfig {
  int64_t source_vocab = 0, target_vocab = 0;
  int64_t embed_size = 32, num_hiddens = 32, num_layers = 2;
  double dropout = 0.1;
  bool bidirectional = false;          // encoder only; a bridge maps its states to the decoder's
  std::string attention = "additive";  // additive (Bahdanau's) | dot (scaled) | general (Luong's)
  std::string to_json() const;
  // Reads and validates a config saved by to_json; heed::Error naming `where` when it is not one.
  static Seq2SeqConfig from_json(const std::string& text, const std::string& where = "checkpoint");
  void validate(const std::string& where) const;  // every size within `limits`
};

class Seq2SeqEncoder : public heed::nn::Module {
 public:
  explicit Seq2SeqEncoder(const Seq2SeqConfig& config);
  // source (B, T) int64 -> outputs (B, T, D*H) and final states (L*D, B, H)
  std::pair<Tensor, Tensor> forward(const Tensor& source);

  std::shared_ptr<heed::nn::Embedding> embedding;
  std::shared_ptr<heed::nn::GRU> rnn;
};

// What the decoder carries from one step to the next.
struct DecoderState {
  Tensor keys;            // (B, T, D*H) encoder outputs: the attention's keys and values
  Tensor projected_keys;  // keys as the attention projects them, computed once per sentence
  Tensor valid_lens;      // (B,) int64: source tokens the attention may look at
  Tensor hidden;          // (L, B, H) the decoder GRU's state
  // Keeps only the given rows (a beam search's surviving hypotheses), in the given order.
  DecoderState select_rows(const Tensor& rows) const;
};

class Seq2SeqAttentionDecoder : public heed::nn::Module {
 public:
  explicit Seq2SeqAttentionDecoder(const Seq2SeqConfig& config);
  DecoderState init_state(const Tensor& encoder_outputs, const Tensor& encoder_state,
                          const Tensor& source_valid_lens);
  // inputs (B, T) int64 (the previous target tokens) -> logits (B, T, V); advances `state`.
  Tensor forward(const Tensor& inputs, DecoderState& state);

  // One (B, 1, T_source) tensor per decoded step of the last forward, for heatmaps.
  std::vector<Tensor> attention_weights;

  std::shared_ptr<heed::nn::Embedding> embedding;
  std::shared_ptr<heed::nn::Attention> attention;
  std::shared_ptr<heed::nn::GRU> rnn;
  std::shared_ptr<heed::nn::Linear> dense;
  std::shared_ptr<heed::nn::Linear> bridge;  // bidirectional encoders only: (2H -> H)

 private:
  int64_t num_layers_;
};

class Seq2Seq : public heed::nn::Module {
 public:
  explicit Seq2Seq(Seq2SeqConfig config);
  // Teacher forcing: source (B, T_s), decoder inputs (B, T_t) = <bos> + target[:, :-1],
  // source valid lengths (B,) -> logits (B, T_t, target vocabulary).
  Tensor forward(const Tensor& source, const Tensor& decoder_inputs,
                 const Tensor& source_valid_lens);
  // Runs the encoder and returns the decoder's first state.
  DecoderState encode(const Tensor& source, const Tensor& source_valid_lens);
  const Seq2SeqConfig& config() const { return config_; }

  std::shared_ptr<Seq2SeqEncoder> encoder;
  std::shared_ptr<Seq2SeqAttentionDecoder> decoder;

 private:
  Seq2SeqConfig config_;
};

// d2l's initialisation: Xavier-uniform for every weight matrix of the linear layers and the
// GRUs (not the embeddings); biases keep PyTorch's defaults.
void xavier_init(heed::nn::Module& model);

}  // namespace bahdanau
