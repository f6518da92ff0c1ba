#!/usr/bin/env bash
# Encoder speed: ksearch fp32/bf16/int8 vs PyTorch eager fp32 (Debian python3-torch, 2 threads) on the real
# multilingual-e5-small (BERT 12x384, FFN 1536) and bge-m3 (XLM-R 24x1024, FFN 4096) shapes with random weights,
# measured in one run; then bge-m3 long inputs (2k and 8k tokens).
#   bash bench/encoder_bench.sh [SECONDS_PER_SHAPE]
# Needs: a Release build in build/, /usr/bin/python3 with python3-torch, python3-numpy, python3-sentencepiece, and
# ../shared/tools/tiny-models (generates the random-weight models once into build/bench-models/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
source bench/bench_models.sh
cmake --build build --target ksearch_encoder_bench >/dev/null
shapes=1x16,32x128,8x512
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for model in full-e5-small full-bge-m3; do
  ./build/bench/ksearch_encoder_bench "$models/$model" --shapes "$shapes" --seconds "$seconds" \
    --precision fp32,bf16,int8 | sed "s/^{/{\"model\": \"$model\", /" >>"$results"
  /usr/bin/python3 bench/torch_encoder_bench.py "$shared" "$models/$model" "$shapes" "$seconds" |
    sed "s/^{/{\"model\": \"$model\", /" >>"$results"
done
./build/bench/ksearch_encoder_bench "$models/full-bge-m3" --shapes 1x2048,1x8192 --seconds 1 --precision fp32,int8 |
  sed 's/^{/{"model": "full-bge-m3", /' >>"$results"
/usr/bin/python3 bench/torch_encoder_bench.py "$shared" "$models/full-bge-m3" 1x2048 1 |
  sed 's/^{/{"model": "full-bge-m3", /' >>"$results"
/usr/bin/python3 bench/encoder_table.py "$results"
