#!/usr/bin/env bash
# The DCGAN on a GPU, in one call: seconds per epoch in float32 and in AMP + channels-last (bench_dcgan_epoch.py),
# then four full-profile runs trained side by side for the same number of epochs, each released with its figures.
#
#   OUT=/tmp/gpu BUDGET=330 bash benchmarks/gpu_dcgan.sh      # on a machine with CUDA; python3 holds torch
#
# The runs (labkit train --profile full --seed 0; synthetic art without a Kaggle token):
#   seed           the seed's recipe as it is (transposed convolutions, no augmentation, no average)
#   seed_da_ema    the seed's G with DiffAugment on D's inputs and a moving average of G (decay 0.999)
#   resize_ema     resize-convolution G with the average, no augmentation
#   resize_da_ema  resize-convolution G with DiffAugment and the average (weights/dcgan_augment_ema's recipe, from
#                  the start and longer)
#   reflect        resize convolution with reflection padding in G (weights/dcgan_reflect_ema's first 100 epochs)
#   reflect_ema    the same with the average (weights/dcgan_reflect_ema's recipe, from the start)
#   reflect_da_ema the same with DiffAugment and the average (on the CPU its G drew colour fields without forms)
#   reflect_tc     reflect with DiffAugment's translation and cutout only, no colour shift (the study's reflect_tc_fp32
#                  at full length)
#   reflect_tc_ema the same with the average
# NAMES picks the runs (four by default: one GPU call has a few minutes).
# They train in chunks of CHUNK epochs with --resume (as a CPU run does across sessions). After the first chunk the
# slowest run's time sets how many more chunks fit in BUDGET seconds; every run then trains to that same epoch.
# Each release (labkit release) is packed into $OUT/<run>.tgz: weights/<name> as `make weights` would write it;
# $OUT/summary.md tables their training times and figures (gpu_dcgan_summary.py). The results of 2026-12-04 on an
# H200 are in benchmarks/results/gpu_h200_2026-12-04/.
set -u
OUT=${OUT:?set OUT to the folder the results go to}
BUDGET=${BUDGET:-330}          # seconds of training, all four runs together (they run at the same time)
CHUNK=${CHUNK:-50}             # epochs per chunk
PY=${PY:-python3}
EXTRA=${EXTRA:-}               # e.g. "--max-batches 2 --device cpu" for a dry run
RUNS=${RUNS:-runs/gpu}
mkdir -p "$OUT" "$RUNS"
LOG="$RUNS/logs"; mkdir -p "$LOG"
start_all=$(date +%s)

declare -A CONFIG=(
  [seed]=""
  [seed_da_ema]="--config augment=color,translation,cutout --config ema=0.999"
  [resize_ema]="--config upsample=resize --config ema=0.999"
  [resize_da_ema]="--config upsample=resize --config augment=color,translation,cutout --config ema=0.999"
  [reflect]="--config upsample=resize --config pad=reflect"
  [reflect_ema]="--config upsample=resize --config pad=reflect --config ema=0.999"
  [reflect_da_ema]="--config upsample=resize --config pad=reflect --config augment=color,translation,cutout --config ema=0.999"
  [reflect_tc]="--config upsample=resize --config pad=reflect --config augment=translation,cutout"
  [reflect_tc_ema]="--config upsample=resize --config pad=reflect --config augment=translation,cutout --config ema=0.999"
)
NAMES=${NAMES:-"seed reflect_ema reflect_tc reflect_tc_ema"}  # a subset trains faster
N_RUNS=$(echo $NAMES | wc -w)
THREADS=$(( $(nproc) / N_RUNS )); [ "$THREADS" -lt 1 ] && THREADS=1  # CPU threads per run: 4 runs x all cores
# oversubscribed the machine (the first GPU call lost 340 s of 382 before the first epoch)

command_for() {  # the training command of run $1 to epoch $2, as the manifest records it
  echo "labkit train --model dcgan ${CONFIG[$1]} --profile full --seed 0 --epochs $2 --out $RUNS/$1 --image-every 50"
}

train_to() {  # train every run to epoch $1 (resuming where a checkpoint exists), all at once; fail if any fails
  local pids=() name
  for name in $NAMES; do
    local resume=""; [ -f "$RUNS/$name/dcgan.pt" ] && resume="--resume"
    # shellcheck disable=SC2046
    echo "$(date +%T) start, to epoch $1" >>"$LOG/$name.log"
    OMP_NUM_THREADS=$THREADS $PY -m labkit $(command_for "$name" "$1" | cut -d' ' -f2-) $resume $EXTRA >>"$LOG/$name.log" 2>&1 &
    pids+=($!)
  done
  local failed=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return $failed
}

[ "${BENCH:-1}" = 1 ] && {
  echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  $PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  nproc
  echo "== seconds per epoch, 2,872 images, batch 128 (bench_dcgan_epoch.py, 50 timed batches)"
  $PY benchmarks/bench_dcgan_epoch.py --device cuda --batches 50 --warmup 3 --no-amp
  $PY benchmarks/bench_dcgan_epoch.py --device cuda --batches 50 --warmup 3
} >"$LOG/bench.txt" 2>&1
[ -f "$LOG/bench.txt" ] && cat "$LOG/bench.txt"

t0=$(date +%s)
if ! train_to "$CHUNK"; then
  echo "first chunk failed"; tail -n 20 "$LOG"/*.log; tar czf "$OUT/logs.tgz" -C "$RUNS" logs; exit 1
fi
chunk_s=$(( $(date +%s) - t0 ))
left=$(( BUDGET - ($(date +%s) - start_all) ))
more=$(( left / chunk_s )); [ "$more" -lt 0 ] && more=0
epochs=$(( CHUNK * (1 + more) ))
echo "first $CHUNK epochs of $N_RUNS runs at once: ${chunk_s} s; ${left} s left of ${BUDGET}: training all to epoch $epochs"
if [ "$more" -gt 0 ]; then train_to "$epochs" || echo "a run failed; see the logs"; fi
echo "training done after $(( $(date +%s) - start_all )) s"

pids=()
for name in $NAMES; do
  OMP_NUM_THREADS=$THREADS $PY -m labkit release --run "$RUNS/$name/dcgan.pt" --out "$RUNS/release/$name" --precision auto \
    --command "bash benchmarks/gpu_dcgan.sh (BUDGET=$BUDGET, on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1))" \
    --command "$(command_for "$name" "$epochs") [--resume]" >>"$LOG/release_$name.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
tail -n 3 "$LOG"/release_*.log
for name in $NAMES; do
  [ -d "$RUNS/release/$name" ] && tar czf "$OUT/$name.tgz" -C "$RUNS/release" "$name"
done
tar czf "$OUT/logs.tgz" -C "$RUNS" logs
$PY benchmarks/gpu_dcgan_summary.py $(for name in $NAMES; do echo "$RUNS/release/$name"; done) | tee "$OUT/summary.md"
ls -la "$OUT"
echo "all done after $(( $(date +%s) - start_all )) s"
