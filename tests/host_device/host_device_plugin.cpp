// A stand-in for the CUDA plugin, for machines without a GPU: it serves Device::cuda from host
// memory with the CPU kernels. Tests load it through HEED_BACKEND_PATH, so every path that moves
// tensors to a device and back (modules, optimizers, batches, generation, decoding) runs on every
// machine, and an op that mixes a CPU tensor with a device one fails here as it would on a GPU.
#include "engine/cpu/kernels.hpp"

extern "C" __attribute__((visibility("default"))) const heed_backend* heed_backend_init(
    const char** /*reason*/) {
  static const heed_backend table = [] {
    heed_backend stand_in = heed::cpu::backend();
    stand_in.name = "cuda (host stand-in for tests)";
    // as the CUDA plugin, no fused conv2d: the loader must take a table without the optional
    // pair, and device convolutions run the composed path
    stand_in.conv2d_forward = nullptr;
    stand_in.conv2d_backward = nullptr;
    return stand_in;
  }();
  return &table;
}
