#!/usr/bin/env bash
# Data-parallel training end to end, as a user runs it: both examples under `mpirun -np 2` against
# one process with the same global batch, a rank that raises an error, a rank that is killed, and
# resuming what the killed job left under 2 ranks and under 1.
#   check_data_parallel.sh GPT_EXE BAHDANAU_EXE with-mpi|without-mpi SHARED_DATA_DIR
# Built without MPI, it checks only that mpirun gets a clear refusal, and skips (exit 77, reason
# printed) where mpirun is missing; built with MPI, a missing mpirun is a failure.
set -uo pipefail
gpt=$1
bahdanau=$2
built=$3
shared_data=$4
here=$(cd "$(dirname "$0")" && pwd)
mpi() { bash "$here/run_mpi.sh" "$@"; }

if ! command -v mpirun > /dev/null; then
  if [ "$built" = with-mpi ]; then
    echo "heed was built with MPI but mpirun is missing: install openmpi-bin (scripts/install-deps.sh)"
    exit 1
  fi
  echo "SKIP: mpirun not found (install openmpi-bin, scripts/install-deps.sh)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HEED_NUM_THREADS=1
failures=0
check() {  # check NAME COMMAND...: runs the command, reports ok/FAILED
  local name=$1
  shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}

# The "loss" of every line of a --metrics file, one a line.
losses() { sed -n 's/.*"loss":\([^,}]*\).*/\1/p' "$1"; }

# same_losses A B LIMIT [FIRST]: the losses of A and B from line FIRST on agree within LIMIT
# relative (0: exactly, as text), with as many lines in each; prints the largest difference.
same_losses() {
  local first=${4:-1}
  paste <(losses "$1" | tail -n +"$first") <(losses "$2" | tail -n +"$first") | awk -v limit="$3" '
    NF != 2 { print "  the two runs logged different numbers of steps"; bad = 1; next }
    {
      n++
      d = $1 - $2; if (d < 0) d = -d
      m = $1 < 0 ? -$1 : $1
      r = m > 0 ? d / m : d
      if (r > worst) { worst = r; at = n }
      if ((limit == 0 && $1 != $2) || r > limit) bad = 1
    }
    END {
      printf "  %d steps compared, largest relative difference %.3g (step %d), limit %g\n",
             n, worst, at + 0, limit
      exit (bad || n == 0)
    }'
}

if [ "$built" = without-mpi ]; then
  mpi 2 "$gpt" train --steps 1 --checkpoint "$work/none.safetensors" > none.log 2>&1
  status=$?
  check "without MPI, mpirun gets an error (exit $status)" test "$status" -ne 0
  check "without MPI, the error says how to build with it" \
    grep -q "^gpt: this process is one of 2 that a launcher (mpirun) started, but heed was built without MPI: install libopenmpi-dev and rebuild with meson setup -Dmpi=enabled$" none.log
  echo "data-parallel checks (built without MPI): $failures failed"
  test "$failures" -eq 0
  exit
fi

# 1. gpt train (dropout off): 2 ranks x 8 rows against 1 process x 16 rows, 100 steps.
gpt_flags=(train --steps 100 --batch-size 16 --dropout 0 --eval-interval 20 --log-interval 100)
"$gpt" "${gpt_flags[@]}" --metrics gpt1.jsonl --checkpoint "$work/gpt1.safetensors" > gpt1.log 2>&1 ||
  { cat gpt1.log; exit 1; }
mpi 2 "$gpt" "${gpt_flags[@]}" --metrics gpt2.jsonl --checkpoint "$work/gpt2.safetensors" > gpt2.log 2>&1 ||
  { cat gpt2.log; exit 1; }
check "gpt train: 2 ranks log the losses of 1 process within 1e-5" same_losses gpt1.jsonl gpt2.jsonl 1e-5
check "gpt train: 2 ranks say so" grep -q "2 ranks x 8 rows" gpt2.log
# Every checkpoint compared the replicas' checksums on both ranks; a difference is an error.
check "gpt train: the replicas were identical at every checkpoint" grep -q "trained in" gpt2.log
check "gpt train: the held-out exact match is the same" \
  diff <(grep "held-out exact match" gpt1.log) <(grep "held-out exact match" gpt2.log)

# 2. bahdanau train on the date task: a short last batch (2000 = 31 x 64 + 16) and a final
# evaluation split between the ranks.
bahdanau_flags=(train --date-pairs 2000 --date-held-out 200 --batch-size 64 --epochs 4)
"$bahdanau" "${bahdanau_flags[@]}" --metrics b1.jsonl --checkpoint "$work/b1.safetensors" > b1.log 2>&1 ||
  { cat b1.log; exit 1; }
mpi 2 "$bahdanau" "${bahdanau_flags[@]}" --metrics b2.jsonl --checkpoint "$work/b2.safetensors" > b2.log 2>&1 ||
  { cat b2.log; exit 1; }
check "bahdanau train: 2 ranks log the losses of 1 process within 1e-5" same_losses b1.jsonl b2.jsonl 1e-5
check "bahdanau train: the split held-out evaluation gives the same scores" \
  diff <(grep "pairs: exact match" b1.log) <(grep "pairs: exact match" b2.log)

# 3. A rank that raises heed::Error ends the whole job at once, with one line naming it.
start=$SECONDS
HEED_INJECT_FAULT=1:30:error mpi 2 "$gpt" "${gpt_flags[@]}" --checkpoint "$work/fault.safetensors" \
  > error.log 2>&1
status=$?
elapsed=$((SECONDS - start))
check "a rank's error fails the job (exit $status)" test "$status" -ne 0
check "a rank's error ends the job within 20 s (took ${elapsed} s)" test "$elapsed" -le 20
check "a rank's error is one line naming the rank and the cause" \
  grep -q "^gpt: rank 1 of 2: injected fault at step 30 (HEED_INJECT_FAULT)$" error.log

# 4. A rank killed outright (SIGKILL at step 50, after the checkpoint of step 40) ends the job;
# the job resumes from that checkpoint and logs exactly what the uninterrupted run logged.
start=$SECONDS
HEED_INJECT_FAULT=1:50:kill mpi 2 "$gpt" "${gpt_flags[@]}" --metrics killed.jsonl \
  --checkpoint "$work/killed.safetensors" > kill.log 2>&1
status=$?
elapsed=$((SECONDS - start))
check "a killed rank fails the job (exit $status)" test "$status" -ne 0
check "a killed rank ends the job within 20 s (took ${elapsed} s)" test "$elapsed" -le 20
check "mpirun names the killed rank and its signal" grep -q "rank 1 .*signal 9" kill.log
cp "$work/killed.safetensors" "$work/killed_on_one.safetensors"
mpi 2 "$gpt" "${gpt_flags[@]}" --resume --metrics killed.jsonl --checkpoint "$work/killed.safetensors" \
  > resume.log 2>&1 || { cat resume.log; exit 1; }
check "the resumed job starts at the checkpoint of step 40" grep -q "resuming at step 40" resume.log
# The resumed job dropped the killed run's records after step 40 from --metrics: the file now
# holds steps 1-100 once each.
check "2 ranks resumed log exactly the uninterrupted run's losses" \
  same_losses killed.jsonl gpt2.jsonl 0
# --resume under another world size: the same global batches, split differently.
"$gpt" "${gpt_flags[@]}" --resume --metrics one_more.jsonl \
  --checkpoint "$work/killed_on_one.safetensors" > resume1.log 2>&1 || { cat resume1.log; exit 1; }
check "1 process resumed from 2 ranks' checkpoint logs their losses within 1e-5" \
  same_losses one_more.jsonl <(tail -n 60 gpt2.jsonl) 1e-5

# 5. bahdanau with dropout and a last batch the ranks split unevenly (101 pairs of fra.txt =
# 3 x 32 + 5, the 5 split 3 and 2): the ranks draw their dropout masks from streams of their own,
# so the data order stays the job's and every epoch sees every pair once (the target tokens an
# epoch counts stay the same; dates would not show it, all their targets are equally long).
# Stopped after epoch 1 and resumed, the job logs exactly the uninterrupted job's losses.
if [ -f "$shared_data/fra-eng/fra.txt" ]; then
  dropout_flags=(train --data "$shared_data/fra-eng/fra.txt" --num-examples 101 --batch-size 32
                 --epochs 4 --dropout 0.2 --no-final-eval)
else
  echo "note: $shared_data/fra-eng/fra.txt is missing: the dropout check runs on the date task,"
  echo "      where the token count per epoch cannot tell a data order that drifted"
  dropout_flags=(train --date-pairs 2001 --date-held-out 100 --batch-size 64 --epochs 3
                 --dropout 0.2 --no-final-eval)
fi
mpi 2 "$bahdanau" "${dropout_flags[@]}" --metrics drop.jsonl --checkpoint "$work/drop.safetensors" \
  > drop.log 2>&1 || { cat drop.log; exit 1; }
tokens_per_epoch() {
  sed -n 's/.*"epoch":\([0-9]*\).*"tokens":\([0-9.e+]*\).*/\1 \2/p' "$1" |
    awk '{ sum[$1] += $2 } END { for (e in sum) print sum[e] }' | sort -u | wc -l
}
check "bahdanau with dropout under 2 ranks: every epoch counts the same target tokens" \
  test "$(tokens_per_epoch drop.jsonl)" -eq 1
mpi 2 "$bahdanau" "${dropout_flags[@]}" --stop-at-epoch 1 --metrics drop_resumed.jsonl \
  --checkpoint "$work/drop2.safetensors" > drop2.log 2>&1 || { cat drop2.log; exit 1; }
mpi 2 "$bahdanau" "${dropout_flags[@]}" --resume --metrics drop_resumed.jsonl \
  --checkpoint "$work/drop2.safetensors" > drop3.log 2>&1 || { cat drop3.log; exit 1; }
check "bahdanau with dropout under 2 ranks resumes exactly" same_losses drop_resumed.jsonl drop.jsonl 0

# 6. d2l's objective (a sum over sentences) under 2 ranks: the losses of one process.
d2l_flags=(train --date-pairs 2000 --date-held-out 100 --batch-size 64 --epochs 2 --loss d2l
           --no-final-eval)
"$bahdanau" "${d2l_flags[@]}" --metrics d1.jsonl --checkpoint "$work/d1.safetensors" > d1.log 2>&1 ||
  { cat d1.log; exit 1; }
mpi 2 "$bahdanau" "${d2l_flags[@]}" --metrics d2.jsonl --checkpoint "$work/d2.safetensors" > d2.log 2>&1 ||
  { cat d2.log; exit 1; }
check "bahdanau --loss d2l: 2 ranks log the losses of 1 process within 1e-5" same_losses d1.jsonl d2.jsonl 1e-5

# 7. --resume under another world size takes the batch size from the checkpoint: 66 rows resume
# on 1 process, and 4 ranks are refused naming the checkpoint's batch.
mpi 2 "$bahdanau" train --date-pairs 500 --batch-size 66 --epochs 2 --stop-at-epoch 1 --no-final-eval \
  --checkpoint "$work/b66.safetensors" > b66.log 2>&1 || { cat b66.log; exit 1; }
cp "$work/b66.safetensors" "$work/b66_four.safetensors"
"$bahdanau" train --resume --no-final-eval --checkpoint "$work/b66.safetensors" > b66r.log 2>&1
check "bahdanau resumes 2 ranks' checkpoint on 1 process" grep -q "resuming after epoch 1" b66r.log
mpi 4 "$bahdanau" train --resume --no-final-eval --checkpoint "$work/b66_four.safetensors" > b66f.log 2>&1
check "4 ranks cannot share the checkpoint's 66 rows, and say so" \
  grep -q "rank 0 of 4: --batch-size 66 (the checkpoint's) is the global batch and must split evenly among the job's 4 ranks" b66f.log
check "an error every rank meets is printed once" test "$(grep -c "must split evenly" b66f.log)" -eq 1

# 8. Flags that cannot work in a job are one clear line.
mpi 2 "$gpt" train --batch-size 7 --steps 1 --checkpoint "$work/odd.safetensors" > odd.log 2>&1
check "a global batch that does not split is refused" \
  grep -q "rank 0 of 2: --batch-size 7 is the global batch and must split evenly among the job's 2 ranks" odd.log
mpi 2 "$gpt" sample --checkpoint "$work/gpt1.safetensors" x > sample.log 2>&1
check "gpt sample is refused under mpirun" grep -q "only gpt train runs as a data-parallel job" sample.log

mpi 2 "$gpt" train --nonsense > nonsense.log 2>&1
check "a flag the parser refuses is printed once, by rank 0" \
  test "$(grep -c "^gpt: rank 0 of 2: The following argument was not expected: --nonsense (see --help)$" nonsense.log)" -eq 1
HEED_INJECT_FAULT=1:5:segv mpi 2 "$gpt" train --steps 3 --checkpoint "$work/segv.safetensors" > segv.log 2>&1
check "a malformed HEED_INJECT_FAULT is refused when the job starts" \
  grep -q "HEED_INJECT_FAULT must be RANK:STEP:KIND .* got '1:5:segv'" segv.log
# The batch a gpt checkpoint was trained with is part of resuming it exactly.
"$gpt" train --resume --checkpoint "$work/gpt1.safetensors" > batch.log 2>&1
check "gpt --resume with another --batch-size is refused, naming the checkpoint's" \
  grep -q "was trained with --batch-size 16: give the same to resume it exactly, got 64" batch.log

# Ranks that read different texts with the same characters build the same model: the data itself
# is compared, and the rank that differs is named.
printf 'abcabc cab bca\n%.0s' {1..100} > same.txt
printf 'cbacba bac acb\n%.0s' {1..100} > other.txt
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe \
  -np 1 "$gpt" train --data same.txt --steps 1 --checkpoint "$work/data.safetensors" : \
  -np 1 "$gpt" train --data other.txt --steps 1 --checkpoint "$work/data.safetensors" > data.log 2>&1
check "ranks that read different --data files are an error naming the rank" \
  grep -q "the replicas differ in their training data (--data must be the same file on every rank): rank 1's" data.log

echo "data-parallel checks: $failures failed"
test "$failures" -eq 0
