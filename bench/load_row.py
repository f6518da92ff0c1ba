"""Formats one ksearch_http_load JSON line (stdin) as a Markdown table row."""
import json
import sys

r = json.load(sys.stdin)
print(f"| {r['path']} | {r['connections']} | {r['seconds']:.0f} | {r['requests']:,} | {r['errors']} | "
      f"{r['qps']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms |")
