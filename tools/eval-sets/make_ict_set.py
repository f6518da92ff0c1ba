#!/usr/bin/env python3
"""Inverse-cloze retrieval set (BEIR layout) from the repository's own Korean documents.

Every paragraph with at least two usable sentences gives one query: its middle sentence, removed from the paragraph
(so the set does not reward finding text verbatim), with the rest of the paragraph as the one relevant document.
Paragraphs without a usable sentence stay in the corpus as distractors.

With --squad FILE the paragraphs are those of a SQuAD-format file instead (KorQuAD: 961 paragraphs), each with its
article title.  KorQuAD's license (CC BY-ND 2.0 KR) does not allow sharing a derived set, so that one is made where
it is measured and never committed.

usage: python3 tools/eval-sets/make_ict_set.py OUT_DIR [--squad FILE]   (from the repository root; writes
       corpus.jsonl, queries.jsonl, qrels/test.tsv)
"""
import argparse
import json
import pathlib
import re

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


def repository_paragraphs():
    """(id, title, paragraph) for each paragraph of the repository's own documents."""
    for path in SOURCES:
        text = read(path)
        if text is None:
            continue
        for number, paragraph in enumerate(re.split(r"\n\s*\n", text)):
            yield f"{path.stem}-{number}", "", paragraph


def squad_paragraphs(path):
    """(id, title, paragraph) for each distinct paragraph of a SQuAD-format file."""
    seen = set()
    for article in json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            if paragraph["context"] in seen:
                continue
            seen.add(paragraph["context"])
            yield f"p{len(seen)}", article["title"], paragraph["context"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--squad", help="take the paragraphs of this SQuAD-format file")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = [], [], []
    for doc_id, title, paragraph in squad_paragraphs(args.squad) if args.squad else repository_paragraphs():
        if len(HANGUL.findall(paragraph)) < 20:
            continue
        parts = sentences(paragraph)
        usable = [i for i, s in enumerate(parts) if len(s) >= MIN_SENTENCE and HANGUL.search(s)]
        if len(parts) >= 2 and usable:
            pick = usable[len(usable) // 2]
            queries.append({"_id": f"q-{doc_id}", "text": parts[pick]})
            qrels.append((f"q-{doc_id}", doc_id))
            parts = parts[:pick] + parts[pick + 1:]
        corpus.append({"_id": doc_id, "title": title, "text": " ".join(parts)})
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
    main()
