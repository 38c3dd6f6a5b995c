#!/usr/bin/env bash
# bench/compare_conv.py refuses a round or repeat count below 1 with exit 2 and an error naming
# the flag, before it runs anything (so neither heed's benchmark nor PyTorch is needed here).
#   check_bench_flags.sh PYTHON COMPARE_CONV_PY
set -uo pipefail
python=$1
script=$2
status=0
for flag in --rounds --repeats; do
  output=$("$python" "$script" --build /nonexistent "$flag" 0 2>&1)
  code=$?
  if [ "$code" -ne 2 ] || ! grep -q -- "$flag must be at least 1, got 0" <<< "$output"; then
    echo "FAIL: $flag 0 gave exit $code and: $output"
    status=1
  else
    echo "ok: $flag 0 refused: $(tail -1 <<< "$output")"
  fi
done
exit $status
