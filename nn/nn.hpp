// Everything in heed::nn, in one include.
#pragma once

#include "nn/attention.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/gru.hpp"
#include "nn/init.hpp"
#include "nn/layer_norm.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/lstm.hpp"
#include "nn/module.hpp"
#include "nn/multi_head_attention.hpp"
#include "nn/optim.hpp"
#include "nn/positional_encoding.hpp"
#include "nn/schedule.hpp"
#include "nn/sequential.hpp"
#include "nn/transformer.hpp"
