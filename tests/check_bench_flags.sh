#!/usr/bin/env bash
# The comparison scripts that take rounds and repeats (bench/compare_conv.py,
# bench/compare_pytorch.py) refuse a count below 1 with exit 2 and an error naming the flag,
# before they run anything (so neither heed's benchmarks nor PyTorch is needed here).
#   check_bench_flags.sh PYTHON SCRIPT...
set -uo pipefail
python=$1
shift
status=0
for script in "$@"; do
  for flag in --rounds --repeats; do
    output=$("$python" "$script" --build /nonexistent "$flag" 0 2>&1)
    code=$?
    if [ "$code" -ne 2 ] || ! grep -q -- "$flag must be at least 1, got 0" <<< "$output"; then
      echo "FAIL: $(basename "$script") $flag 0 gave exit $code and: $output"
      status=1
    else
      echo "ok: $flag 0 refused: $(tail -1 <<< "$output")"
    fi
  done
done
exit $status
