#!/usr/bin/env bash
# The comparison scripts refuse a bad count or a build directory without their programs with
# exit 2 and one line naming the flag, before they run anything (so neither heed's programs nor
# PyTorch is needed here).
#   check_bench_flags.sh PYTHON BENCH_DIR
set -uo pipefail
python=$1
bench=$2
data=$(mktemp)  # a --data that exists; no case gets as far as reading it
built=$(mktemp -d)  # a --build that has every program, so that --baseline is the one refused
mkdir -p "$built/bench" "$built/examples"
for program in bench/bench_kernels bench/bench_gru examples/gpt examples/bahdanau; do
  printf '#!/bin/sh\nexit 1\n' > "$built/$program" && chmod +x "$built/$program"
done
trap 'rm -rf "$data" "$built"' EXIT
status=0

# refused SCRIPT EXPECTED ARGS...: SCRIPT with ARGS exits 2 and prints EXPECTED
refused() {
  local script=$1 expected=$2
  shift 2
  local output code
  output=$("$python" "$bench/$script" "$@" 2>&1)
  code=$?
  if [ "$code" -ne 2 ] || ! grep -qF -- "$expected" <<< "$output"; then
    echo "FAIL: $script $* gave exit $code and: $output"
    status=1
  else
    echo "ok: $script $*: $(tail -1 <<< "$output")"
  fi
}

for script in compare_conv.py compare_pytorch.py; do
  for flag in --rounds --repeats; do
    refused "$script" "$flag must be at least 1, got 0" --build /nonexistent "$flag" 0
  done
done
refused compare_pytorch.py "--build /nonexistent: expected the built program" --build /nonexistent
refused compare_pytorch.py "--baseline /nonexistent: expected the built program" \
  --build "$built" --baseline /nonexistent
refused compare_bahdanau.py "--repeats must be at least 1, got 0" --data "$data" --repeats 0
refused compare_bahdanau.py "--epochs must be at least 1, got 0" --data "$data" --epochs 0
refused compare_bahdanau.py "--build /nonexistent: expected the built program" \
  --data "$data" --build /nonexistent
refused compare_gpt.py "--steps must be at least 1, got 0" --data "$data" --steps 0
refused compare_gpt.py "--batch-size must be at least 1, got -1" --data "$data" --batch-size -1
refused compare_gpt.py "invalid choice: 'huge'" --data "$data" --presets huge
refused compare_gpt.py "--build /nonexistent: expected the built program" \
  --data "$data" --build /nonexistent
refused compare_gpt.py "--baseline /nonexistent: expected the built program" \
  --data "$data" --build "$built" --baseline /nonexistent
refused compare_bahdanau.py "--baseline /nonexistent: expected the built program" \
  --data "$data" --build "$built" --baseline /nonexistent
exit $status
