#!/usr/bin/env python3
"""Inverse-cloze retrieval set (BEIR layout) from the repository's own Korean documents.

Every paragraph with at least two usable sentences gives one query: its middle sentence, removed from the paragraph
(so the set does not reward finding text verbatim), with the rest of the paragraph as the one relevant document.
Paragraphs without a usable sentence stay in the corpus as distractors.

usage: python3 tools/eval-sets/make_ict_set.py OUT_DIR   (from the repository root; writes corpus.jsonl,
       queries.jsonl, qrels/test.tsv)
"""
import json
import pathlib
import re
import sys

SOURCES = sorted(pathlib.Path("examples/docs").rglob("*.md")) + sorted(pathlib.Path("examples/docs").rglob("*.txt")) \
    + sorted(pathlib.Path("tests/data/doc-samples").glob("*.expected.txt"))
MIN_SENTENCE = 20  # characters
HANGUL = re.compile("[\uac00-\ud7a3]")


def read(path):
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # the deliberately CP949 / UTF-16 samples


def sentences(paragraph):
    parts = re.split(r"(?<=[.?!])\s+|\n+", paragraph.strip())
    return [p.strip() for p in parts if p.strip()]


def main(out):
    out = pathlib.Path(out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = [], [], []
    for path in SOURCES:
        text = read(path)
        if text is None:
            continue
        for number, paragraph in enumerate(re.split(r"\n\s*\n", text)):
            if len(HANGUL.findall(paragraph)) < 20:
                continue
            doc_id = f"{path.stem}-{number}"
            parts = sentences(paragraph)
            usable = [i for i, s in enumerate(parts) if len(s) >= MIN_SENTENCE and HANGUL.search(s)]
            if len(parts) >= 2 and usable:
                pick = usable[len(usable) // 2]
                queries.append({"_id": f"q-{doc_id}", "text": parts[pick]})
                qrels.append((f"q-{doc_id}", doc_id))
                parts = parts[:pick] + parts[pick + 1:]
            corpus.append({"_id": doc_id, "title": "", "text": " ".join(parts)})
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for row in corpus:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for row in queries:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(out / "qrels" / "test.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for query, doc in qrels:
            f.write(f"{query}\t{doc}\t1\n")
    print(f"{len(corpus)} documents, {len(queries)} queries -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
