#!/usr/bin/env bash
# HTTP load: `ksearch serve` on the sample folder with a random-weight model of the real multilingual-e5-small
# shape, 64 concurrent keep-alive connections for SECONDS each on /v1/search and /v1/embeddings (loopback only).
#   bash bench/server_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source bench/bench_models.sh
cmake --build build --target ksearch ksearch_http_load >/dev/null
index=build/bench-server-index
rm -rf "$index"
./build/cli/ksearch index examples/docs --db "$index" --model "$models/full-e5-small" -q
out=$(mktemp)
./build/cli/ksearch serve --db "$index" --port 0 --no-rerank >"$out" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q port "$out" && break; sleep 0.2; done
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$out")
echo "| route | connections | seconds | requests | errors | QPS | p50 | p99 |"
echo "|---|---|---|---|---|---|---|---|"
./build/bench/ksearch_http_load --port "$port" --path /v1/search --connections 64 --seconds "$seconds" \
  --body '{"query": "한국의 수도는 어디인가요?", "top_k": 10}' | /usr/bin/python3 bench/load_row.py
./build/bench/ksearch_http_load --port "$port" --path /v1/embeddings --connections 64 --seconds "$seconds" \
  --body '{"input": "서울특별시는 대한민국의 수도이자 최대 도시이다."}' | /usr/bin/python3 bench/load_row.py
# Transport: 1,000 idle keep-alive connections while 64 clients search (against the same load without them); 48
# parallel one-text embedding calls (merged by the model thread) against one 48-text call at a time; /health polled
# during a slowloris of 500 sockets (against polling without it).
./build/bench/ksearch_http_load --port "$port" --path /v1/search --connections 64 --seconds "$seconds" --idle 1000 \
  --baseline --body '{"query": "한국의 수도는 어디인가요?", "top_k": 10}' | /usr/bin/python3 bench/load_row.py
./build/bench/ksearch_http_load --port "$port" --path /v1/embeddings --seconds "$seconds" --compare-batch 48 \
  --body '{"input": "서울특별시는 대한민국의 수도이자 최대 도시이다."}' | /usr/bin/python3 bench/load_row.py
./build/bench/ksearch_http_load --port "$port" --method GET --path /health --connections 1 --seconds "$seconds" \
  --slowloris 500 --baseline | /usr/bin/python3 bench/load_row.py
