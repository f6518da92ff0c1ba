#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for a bounded
# time on seeds from the repository; new crashers are copied to tests/data/fuzz/TARGET/ so the default
# test suite replays them.  Prints one line per target: executions, seconds, crashes.
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
declare -A short=([safetensors_header]=safetensors [pickle]=pickle [torch_checkpoint]=torch_checkpoint
                  [model_config]=config [tokenizer]=tokenizer [tokenizer_json]=tokenizer_json [text_decoding]=text
                  [html_reader]=html [pdf_reader]=pdf [docx_reader]=docx [hwpx_reader]=hwpx [hwp_reader]=hwp
                  [chunker]=chunker [http_request]=http [hub_listing]=hub_listing
                  [http_stream]=http_stream [terminal_text]=terminal)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors_header pickle torch_checkpoint model_config tokenizer tokenizer_json
                                     text_decoding html_reader pdf_reader docx_reader hwpx_reader hwp_reader chunker http_request
                                     hub_listing http_stream terminal_text)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSEARCH_FUZZ=ON \
  -DKSEARCH_BUILD_TESTS=OFF -DKSEARCH_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

seed() {  # seed TARGET FILES...
  local dir=build-fuzz/corpus/$1
  shift
  mkdir -p "$dir"
  for file in "$@"; do [ -f "$file" ] && cp "$file" "$dir/$(basename "$file" | tr -c 'A-Za-z0-9._-' '_')" || true; done
}
seed safetensors_header tests/data/fixtures/*/model.safetensors tests/data/fuzz/safetensors/*
seed pickle tests/data/fuzz/pickle/*
seed torch_checkpoint tests/data/torch-checkpoints/*.pt tests/data/fuzz/torch_checkpoint/*
seed model_config tests/data/fixtures/*/config.json tests/data/models/*/config.json tests/data/fuzz/config/*
seed tokenizer examples/docs/*/*.md tests/data/fixtures/texts.json
seed tokenizer_json tests/data/tokenizers/*/tokenizer.json tests/data/fuzz/tokenizer_json/*
seed text_decoding examples/docs/*/*.txt
seed html_reader examples/docs/*/*.html
seed pdf_reader tests/data/doc-samples/*.pdf examples/docs/*/*.pdf
seed docx_reader tests/data/doc-samples/*.docx examples/docs/*/*.docx
seed hwpx_reader tests/data/doc-samples/*.hwpx examples/docs/*/*.hwpx
seed hwp_reader tests/data/doc-samples/*.hwp tests/data/fuzz/hwp/*
seed chunker examples/docs/*/*.md examples/docs/*/*.txt
seed http_request tests/data/fuzz/http/*
seed hub_listing tests/data/fuzz/hub_listing/*
seed http_stream tests/data/fuzz/http_stream/*
seed terminal_text tests/data/fuzz/terminal/* examples/docs/*/*.md

printf '| target | executions | seconds | crashes |\n|---|---|---|---|\n'
for target in "${targets[@]}"; do
  name=${short[$target]}
  artifacts=build-fuzz/artifacts/$name
  mkdir -p "$artifacts"
  log=build-fuzz/$target.log
  ./build-fuzz/fuzz/fuzz_$target "build-fuzz/corpus/$target" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=3072 -max_len=1048576 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || true
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$artifacts" -type f | wc -l)
  if [ "$crashes" -gt 0 ]; then
    mkdir -p "tests/data/fuzz/$name"
    cp "$artifacts"/* "tests/data/fuzz/$name/"
  fi
  printf '| %s | %s | %s | %s |\n' "$target" "${runs:-?}" "$seconds" "$crashes"
done
