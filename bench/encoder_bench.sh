#!/usr/bin/env bash
# Encoder speed: ksearch vs PyTorch eager fp32 (Debian python3-torch, 2 threads) on the real multilingual-e5-small
# (BERT 12x384, FFN 1536) and bge-m3 (XLM-R 24x1024, FFN 4096) shapes with random weights, measured in one run.
#   bash bench/encoder_bench.sh [SECONDS_PER_SHAPE]
# Needs: a Release build in build/, /usr/bin/python3 with python3-torch, python3-numpy, python3-sentencepiece, and
# ../shared/tools/tiny-models (generates the random-weight models once into build/bench-models/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
shared=$(cd ../shared && pwd)
models=build/bench-models
if [ ! -f "$models/full-bge-m3/model.safetensors" ]; then
  /usr/bin/python3 "$shared/tools/tiny-models/make_tiny_models.py" \
    "$shared/fixtures/tiny-e5-bert/sentencepiece.bpe.model" "$models" --full
fi
cmake --build build --target ksearch_encoder_bench >/dev/null
shapes=1x16,32x128,8x512
results=$(mktemp)
for model in full-e5-small full-bge-m3; do
  ./build/bench/ksearch_encoder_bench "$models/$model" --shapes "$shapes" --seconds "$seconds" |
    sed "s/^{/{\"model\": \"$model\", /" >>"$results"
  /usr/bin/python3 bench/torch_encoder_bench.py "$shared" "$models/$model" "$shapes" "$seconds" |
    sed "s/^{/{\"model\": \"$model\", /" >>"$results"
done
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def get(model, engine, b, l):
    return next(r for r in rows if r['model'] == model and r['engine'] == engine and r['batch'] == b and r['length'] == l)
print('| shape | engine | 1x16 latency | 32x128 tokens/s | 8x512 tokens/s |')
print('|---|---|---|---|---|')
for model in ('full-e5-small', 'full-bge-m3'):
    for engine in ('ksearch', 'pytorch-eager-fp32'):
        a, b, c = get(model, engine, 1, 16), get(model, engine, 32, 128), get(model, engine, 8, 512)
        print(f"| {model} | {engine} | {a['median_ms']:.1f} ms | {b['tokens_per_s']:,.0f} | {c['tokens_per_s']:,.0f} |")
    k = [get(model, 'ksearch', *s) for s in ((1, 16), (32, 128), (8, 512))]
    t = [get(model, 'pytorch-eager-fp32', *s) for s in ((1, 16), (32, 128), (8, 512))]
    print(f"| {model} | ratio ksearch/pytorch | {t[0]['median_ms'] / k[0]['median_ms']:.2f}x faster | "
          f"{k[1]['tokens_per_s'] / t[1]['tokens_per_s']:.2f}x | {k[2]['tokens_per_s'] / t[2]['tokens_per_s']:.2f}x |")
PY
rm -f "$results"
