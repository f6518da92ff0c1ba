"""Formats ksearch_http_load's JSON lines (stdin) as Markdown table rows; summary lines (ratios) follow as text."""
import json
import sys

for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    if "path" not in r:
        print("  ".join(f"{key}: {value:,.3f}" for key, value in r.items()))
        continue
    route = r["path"] + (f" ({r['run']})" if "run" in r else "")
    print(f"| {route} | {r['connections']} | {r['seconds']:.0f} | {r['requests']:,} | {r['errors']} | "
          f"{r['qps']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms |")
