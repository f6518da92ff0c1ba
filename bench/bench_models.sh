# Sourced by the bench scripts: generates the random-weight models of the real multilingual-e5-small (BERT 12x384,
# FFN 1536) and bge-m3 (XLM-R 24x1024, FFN 4096) shapes once into build/bench-models/, with
# tools/tiny-models/make_tiny_models.py.  Sets $models.
models=build/bench-models
if [ ! -f "$models/full-bge-m3/model.safetensors" ]; then
  /usr/bin/python3 tools/tiny-models/make_tiny_models.py \
    tests/data/fixtures/tiny-e5-bert/sentencepiece.bpe.model "$models" --full
fi
