#!/usr/bin/env bash
# Runs the device paths on the host stand-in for the CUDA plugin: the parity suite, and both
# examples with --device cuda (train, resume, translate or sample, eval). Arguments: the build
# directory. Exits non-zero on the first failure.
set -euo pipefail
build=$1
export HEED_BACKEND_PATH="$build/tests/host_device"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/engine_tests" -tc='backend parity: every op*' | tail -2
cd "$work"
"$build/examples/bahdanau" train --device cuda --date-pairs 600 --date-held-out 20 --epochs 2 \
  --stop-at-epoch 1 --checkpoint dates.safetensors | tail -1
"$build/examples/bahdanau" train --device cuda --date-pairs 600 --date-held-out 20 --epochs 2 \
  --resume --checkpoint dates.safetensors | grep -E "cuda|pairs:"
"$build/examples/bahdanau" translate --device cuda --checkpoint dates.safetensors --beam 3 \
  --heatmap dates.png "21/11/26"
"$build/examples/bahdanau" eval --device cuda --checkpoint dates.safetensors --show 0
"$build/examples/gpt" train --device cuda --steps 20 --eval-interval 10 --log-interval 10 \
  --checkpoint adder.safetensors | grep -E "cuda|held-out"
"$build/examples/gpt" sample --device cuda --checkpoint adder.safetensors --temperature 0 \
  --max-new-tokens 3 1234 5678
echo "the examples ran with --device cuda on the host stand-in"
