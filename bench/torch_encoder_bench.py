#!/usr/bin/env python3
"""PyTorch eager fp32 peer for bench/encoder_bench.sh: the same model folder, shapes and timing rule as
ksearch_encoder_bench, on 2 threads.  Uses the independent reference encoder in tools/tiny-models/torch_ref.py
(Hugging Face BertModel/XLMRobertaModel semantics, eager ops).
usage: torch_encoder_bench.py SHARED_DIR MODEL_DIR SHAPES SECONDS"""
import json, os, sys, time
import torch

model_dir, shapes, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', 'tiny-models'))
import torch_ref  # noqa: E402

torch.set_num_threads(2)
enc = torch_ref.Encoder(model_dir)
vocab = enc.tok.sp.vocab_size() + 2
gen = torch.Generator().manual_seed(42)
for shape in shapes.split(','):
    batch, length = (int(v) for v in shape.split('x'))
    ids = torch.randint(4, vocab - 1, (batch, length), generator=gen)
    ids[:, 0], ids[:, -1] = 0, 2
    mask = torch.ones_like(ids)
    enc.forward(ids, mask)
    times, begin = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - begin < seconds:
        start = time.perf_counter()
        enc.forward(ids, mask)
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({'engine': 'pytorch-eager-fp32', 'batch': batch, 'length': length, 'median_ms': median * 1e3,
                      'tokens_per_s': batch * length / median, 'runs': len(times)}), flush=True)
