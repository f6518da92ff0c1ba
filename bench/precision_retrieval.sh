#!/usr/bin/env bash
# What --precision bf16 / int8 does to retrieval, on a trained model (bench/train_retriever.py: no real model can
# be downloaded here).  Trains it once into build/proxy-retriever (300 steps, about 25 minutes on 2 cores), then
# evaluates the held-out KorQuAD articles with `ksearch eval`: dense at each precision, hybrid at fp32 and lexical
# for scale, and the embeddings' cosine to fp32 on random token batches.  Prints one Markdown table (docs/benchmarks.md's).
# usage: bash bench/precision_retrieval.sh   (from the repository root, after building into build/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/proxy-retriever
if [ ! -f "$out/model/model.safetensors" ]; then
  /usr/bin/python3 bench/train_retriever.py "$out"
fi
eval_run() { ./build/cli/ksearch eval --squad "$out/heldout.json" --model "$out/model" --json "$@"; }
{
  for precision in fp32 bf16 int8; do
    echo "dense $precision $(eval_run --mode dense --precision "$precision")"
  done
  echo "hybrid fp32 $(eval_run --mode hybrid)"
  echo "lexical - $(./build/cli/ksearch eval --squad "$out/heldout.json" --mode lexical --json)"
  echo "cosine - $(./build/bench/ksearch_encoder_bench "$out/model" --shapes 32x128 --seconds 0 --precision bf16,int8 |
    tr '\n' ' ')"
} | /usr/bin/python3 -c "$(cat <<'PY'
import json, re, sys
rows, cosines = [], {}
for line in sys.stdin:
    mode, precision, payload = line.split(" ", 2)
    if mode == "cosine":
        for record in re.findall(r"\{[^}]*\}", payload):
            r = json.loads(record)
            cosines[r["engine"].split("-")[1]] = r["min_cosine_vs_fp32"]
    else:
        rows.append((mode, precision, json.loads(payload)))
print(f"held-out: {rows[0][2]['queries']} questions over {rows[0][2]['documents']} paragraphs")
rows = [(mode, precision, {k: v['value'] for k, v in r['modes'][0].items() if isinstance(v, dict)})
        for mode, precision, r in rows]
print("| mode | precision | nDCG@10 | Recall@1 | Recall@5 | Recall@10 | MRR@10 | min cosine to fp32 |")
print("|---|---|---|---|---|---|---|---|")
for mode, precision, r in rows:
    cosine = f"{cosines[precision]:.6f}" if precision in cosines else ""
    print(f"| {mode} | {precision} | {r['ndcg@10']:.4f} | {r['recall@1']:.4f} | {r['recall@5']:.4f} | "
          f"{r['recall@10']:.4f} | {r['mrr@10']:.4f} | {cosine} |")
PY
)"
