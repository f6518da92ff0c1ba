#!/usr/bin/env bash
# Encoder speed: ksearch fp32/bf16/int8 vs PyTorch eager fp32 (Debian python3-torch, 2 threads) on the real
# multilingual-e5-small (BERT 12x384, FFN 1536) and bge-m3 (XLM-R 24x1024, FFN 4096) shapes with random weights,
# measured in one run; then bge-m3 long inputs (2k and 8k tokens).
#   bash bench/encoder_bench.sh [SECONDS_PER_SHAPE]
# Needs: a Release build in build/, /usr/bin/python3 with python3-torch, python3-numpy, python3-sentencepiece,
# libopenblas0-pthread, and tools/tiny-models (generates the random-weight models once into
# build/bench-models/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
# Debian's torch does its matrix products through libblas.so.3; Debian's reference BLAS there makes the peer 10-20x
# slower than it is anywhere else, which would flatter every ratio below.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
case "$blas" in
  *openblas* | *blis* | *mkl*) ;;
  *) echo "encoder_bench: libblas.so.3 is $blas (reference BLAS); install libopenblas0-pthread" >&2; exit 1 ;;
esac
# torch's OpenMP threads spin while OpenBLAS's run; passive waiting gives OpenBLAS the cores (e5-small 1x16:
# 106 ms spinning, 19 ms passive on a 2-core Xeon).  Only the peer gets it: ksearch calls no threaded BLAS,
# so its own OpenMP threads have nobody to yield to.
torch_bench() { OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_encoder_bench.py "$@"; }
source bench/bench_models.sh
cmake --build build --target ksearch_encoder_bench >/dev/null
shapes=1x16,32x128,8x512
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for model in full-e5-small full-bge-m3; do
  ./build/bench/ksearch_encoder_bench "$models/$model" --shapes "$shapes" --seconds "$seconds" \
    --precision fp32,bf16,int8 | sed "s/^{/{\"model\": \"$model\", /" >>"$results"
  torch_bench "$models/$model" "$shapes" "$seconds" |
    sed "s/^{/{\"model\": \"$model\", /" >>"$results"
done
./build/bench/ksearch_encoder_bench "$models/full-bge-m3" --shapes 1x2048,1x8192 --seconds 1 --precision fp32,int8 |
  sed 's/^{/{"model": "full-bge-m3", /' >>"$results"
torch_bench "$models/full-bge-m3" 1x2048 1 |
  sed 's/^{/{"model": "full-bge-m3", /' >>"$results"
/usr/bin/python3 bench/encoder_table.py "$results"
