#!/bin/bash
# CPU seconds per optimizer step (user and kernel) and train-phase peak of short runs, under
# glibc mmap thresholds, for peftgov and for the plain Trainer + peft baseline.
#
#   benchmarks/allocator_probe.sh RECIPE LR OUT CONFIG...
#   CONFIG: peftgov (peftgov's own pin), peftgov:thp (the pin, and glibc asked for transparent
#           huge pages: GLIBC_TUNABLES=glibc.malloc.hugetlb=1),
#           peftgov:BYTES (MALLOC_MMAP_THRESHOLD_=BYTES, which peftgov leaves alone),
#           hf (benchmarks/baselines/hf_trainer.py, glibc's defaults)
#   e.g. benchmarks/allocator_probe.sh recipes/banking77/lora.yaml 0.001 /tmp/probe \
#            peftgov:131072 peftgov:1048576 peftgov:4194304 hf
#
# Each config trains N1 and N2 optimizer steps (default 20 and 80; validation only at the end);
# the difference of the two runs' CPU time over N2 - N1 steps is the per-step cost, with loading
# and evaluation cancelled out. CPU time rather than wall: the figure holds on a shared machine.
# Environment: N1, N2, CORE (taskset core, default 0), PYTHON (default .venv/bin/python).
set -euo pipefail
recipe=$1 lr=$2 out=$3; shift 3
N1=${N1:-20} N2=${N2:-80} CORE=${CORE:-0} PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} HF_HUB_OFFLINE=1
mkdir -p "$out"
for config in "$@"; do
  declare -A cpu=()
  for n in $N1 $N2; do
    d="$out/${config//:/-}-$n"
    rm -rf "$d"
    args=("$recipe" "train.lr=$lr" train.eval_every=100000 "train.max_steps=$n" "output.dir=$d" output.overwrite=true)
    case $config in
      hf) cmd=("$PY" benchmarks/baselines/hf_trainer.py "${args[@]}"); envs=() ;;
      # train.cache_test_before=false: both runs evaluate the test set before training, so
      # that cost cancels (a cache filled by the first run would make the second one cheaper)
      peftgov) cmd=("$PY" -m peftgov train --quiet "${args[@]}" train.cache_test_before=false); envs=() ;;
      peftgov:thp) cmd=("$PY" -m peftgov train --quiet "${args[@]}" train.cache_test_before=false)
                   envs=(GLIBC_TUNABLES=glibc.malloc.hugetlb=1) ;;
      peftgov:*) cmd=("$PY" -m peftgov train --quiet "${args[@]}" train.cache_test_before=false)
                 envs=("MALLOC_MMAP_THRESHOLD_=${config#peftgov:}") ;;
      *) echo "allocator_probe: unknown config $config" >&2; exit 2 ;;
    esac
    env "${envs[@]}" /usr/bin/time -f "%U %S" -o "$d.time" taskset -c "$CORE" "${cmd[@]}" > "$d.log" 2>&1
    cpu[$n]=$(cat "$d.time")
  done
  # the longer run's peak (the loop's last $d)
  train_mb=$("$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(round((m.get('memory_mb') or {}).get('train') or m.get('peak_memory_mb') or 0))" "$d/metrics.json")
  read -r u1 s1 <<< "${cpu[$N1]}"; read -r u2 s2 <<< "${cpu[$N2]}"
  python3 -c "
import sys
u1,s1,u2,s2,steps=map(float,sys.argv[1:6])
u,s=(u2-u1)/steps,(s2-s1)/steps
print(f'{sys.argv[6]:<20} user {u:.3f} s/step  kernel {s:.3f} s/step  total {u+s:.3f} s/step  train peak {sys.argv[7]} MB (at {int(float(sys.argv[8]))} steps)')
" "$u1" "$s1" "$u2" "$s2" "$((N2 - N1))" "$config" "$train_mb" "$N2"
  unset cpu
done
