#!/usr/bin/env bash
# The main job on the bundled sample folder: build ksearch, fetch the default embedding model when the network
# allows, index examples/docs (33 Korean documents: Markdown, HTML, PDF, DOCX, HWPX, text in UTF-8 / UTF-16 /
# CP949), and run sample queries. Offline the index is keyword-only, and ksearch says how to add the model later.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ksearch
ksearch=./build/cli/ksearch
model=dragonkue/multilingual-e5-small-ko
if ! $ksearch model info "$model" >/dev/null 2>&1; then
  $ksearch model pull "$model" || echo "demo: $model could not be downloaded; indexing for keyword search only"
fi
$ksearch index examples/docs --db build/demo-index
for query in "한국의 수도는 어디인가요?" "전세 보증금을 지키려면" "김치에 넣는 양념"; do
  echo
  echo "\$ ksearch search \"$query\" -k 3"
  $ksearch search "$query" -k 3 --db build/demo-index || [ $? -eq 1 ]  # 1: nothing matched
done
