"""Prints the README tables from the JSON lines of bench/encoder_bench.sh."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
SHAPES = ((1, 16), (32, 128), (8, 512))
NAMES = {'full-e5-small': 'e5-small (12×384)', 'full-bge-m3': 'bge-m3 (24×1024)'}


def find(model, engine, batch, length):
    for r in rows:
        if r['model'] == model and r['engine'] == engine and r['batch'] == batch and r['length'] == length:
            return r
    return None


def latency(r, peer):
    text = f"{r['median_ms']:.1f} ms"
    return text if peer is None else f"{text} ({peer['median_ms'] / r['median_ms']:.1f}× faster)"


def throughput(r, peer):
    text = f"{r['tokens_per_s']:,.0f}"
    return text if peer is None else f"{text} ({r['tokens_per_s'] / peer['tokens_per_s']:.2f}×)"


print('| shape | engine | 1×16 latency | 32×128 tokens/s | 8×512 tokens/s | min cosine to fp32 |')
print('|---|---|---|---|---|---|')
for model in ('full-e5-small', 'full-bge-m3'):
    torch = [find(model, 'pytorch-eager-fp32', *s) for s in SHAPES]
    for engine in ('pytorch-eager-fp32', 'ksearch-fp32', 'ksearch-bf16', 'ksearch-int8'):
        r = [find(model, engine, *s) for s in SHAPES]
        if None in r:
            continue
        peer = [None] * 3 if engine.startswith('pytorch') else torch
        cosine = '—' if engine.startswith('pytorch') else f"{min(x['min_cosine_vs_fp32'] for x in r):.6f}"
        print(f"| {NAMES[model]} | {engine} | {latency(r[0], peer[0])} | {throughput(r[1], peer[1])} | "
              f"{throughput(r[2], peer[2])} | {cosine} |")
print()
print('| bge-m3 long input | engine | latency | tokens/s |')
print('|---|---|---|---|')
for length in (2048, 8192):
    for engine in ('pytorch-eager-fp32', 'ksearch-fp32', 'ksearch-int8'):
        r = find('full-bge-m3', engine, 1, length)
        if r:
            print(f"| 1×{length} | {engine} | {r['median_ms'] / 1000:.2f} s | {r['tokens_per_s']:,.0f} |")
print()
print('| 1×16 query | engine | dense weights | latency | reading those bytes (same run) | latency ÷ read |')
print('|---|---|---|---|---|---|')
for model in ('full-e5-small', 'full-bge-m3'):
    for engine in ('ksearch-fp32', 'ksearch-bf16', 'ksearch-int8'):
        r = find(model, engine, 1, 16)
        if r and 'memory_floor_ms' in r:
            print(f"| {NAMES[model]} | {engine} | {r['weights_mb']:,.0f} MB | {r['median_ms']:.1f} ms | "
                  f"{r['memory_floor_ms']:.1f} ms | {r['vs_memory_floor']:.2f} |")
