#!/usr/bin/env bash
# Query latency on an index of the KorQuAD 1.0 dev paragraphs (961 files) built with a random-weight model of the
# real multilingual-e5-small shape:
#   1. a warm process, stage by stage (bench/query_bench.cpp): encoding, FAISS, FTS5, chunk look-ups, fusion;
#   2. one-off `ksearch search` runs, process start to printed results: hybrid (loads the model, its packed weights
#      from the cache), hybrid without the cache, and lexical.
#   bash bench/query_bench.sh [ONE_OFF_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
source bench/bench_models.sh
cmake --build build --target ksearch ksearch_query_bench >/dev/null
work=build/bench-query
if [ ! -f "$work/docs/.ksearch/index.db" ]; then
  rm -rf "$work"
  /usr/bin/python3 - tests/data/korquad-v1-dev/KorQuAD_v1.0_dev.json "$work" <<'PY'
import json, os, sys
data = json.load(open(sys.argv[1], encoding="utf-8"))["data"]
os.makedirs(f"{sys.argv[2]}/docs")
questions = []
for article in data:
    for number, paragraph in enumerate(article["paragraphs"]):
        name = f"{sys.argv[2]}/docs/{article['title']}-{number}.txt".replace(" ", "_")
        open(name, "w", encoding="utf-8").write(article["title"] + "\n\n" + paragraph["context"] + "\n")
        questions += [qa["question"] for qa in paragraph["qas"][:1]]
open(f"{sys.argv[2]}/queries.txt", "w", encoding="utf-8").write("\n".join(questions) + "\n")
PY
  ./build/cli/ksearch index "$work/docs" --model "$PWD/$models/full-e5-small" -q
fi
./build/bench/ksearch_query_bench "$work/docs" "$work/queries.txt"
/usr/bin/python3 - "$work" "$runs" <<'PY'
import os, statistics, subprocess, sys, time
work, runs = sys.argv[1], int(sys.argv[2])
queries = open(f"{work}/queries.txt", encoding="utf-8").read().split("\n")[:runs]
# hybrid: the packed-weight cache was written when the index was built (as for a user); hybrid-no-cache packs the
# weights in every process (KSEARCH_CACHE_DIR=off).
cases = [("hybrid", "hybrid", {}), ("hybrid-no-cache", "hybrid", {"KSEARCH_CACHE_DIR": "off"}),
         ("lexical", "lexical", {})]
times = {label: [] for label, _, _ in cases}
for query in queries:  # interleaved, so a slow spell of this shared machine hits every case alike
    for label, mode, environment in cases:
        start = time.perf_counter()
        subprocess.run(["./build/cli/ksearch", "search", query, "--db", f"{work}/docs/.ksearch", "--mode", mode,
                        "--json"], check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, **environment))
        times[label].append((time.perf_counter() - start) * 1000)
for label, values in times.items():
    print(f'{{"one_off": "{label}", "runs": {len(values)}, "p50_ms": {statistics.median(values):.1f}, '
          f'"max_ms": {max(values):.1f}}}')
PY
