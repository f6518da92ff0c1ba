#!/usr/bin/env bash
# The main job on the bundled sample folder: build ksearch, index examples/docs (31 Korean documents: Markdown,
# text in UTF-8 / UTF-16 / CP949, HTML, PDF), and run sample queries.
# Uses the default embedding model (dragonkue/multilingual-e5-small-ko) when it is in $KSEARCH_MODELS or the
# Hugging Face cache; otherwise indexes for lexical search and says how to add the model.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ksearch
ksearch=./build/cli/ksearch
$ksearch index examples/docs --db build/demo-index
for query in "한국의 수도는 어디인가요?" "전세 보증금을 지키려면" "김치에 넣는 양념"; do
  echo
  echo "\$ ksearch search \"$query\" -k 3"
  $ksearch search "$query" -k 3 --db build/demo-index
done
