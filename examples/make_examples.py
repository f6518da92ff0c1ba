#!/usr/bin/env python3
"""Renders examples/corpus.py into examples/docs/ in several formats and encodings.

  /usr/bin/python3 examples/make_examples.py      (needs python3-reportlab and fonts-nanum for the PDFs)

Formats follow the file extension; names ending in _cp949 / _utf16 select the legacy encodings.  PDFs wrap Korean
text by character (as Hancom and Word layouts often do), so words are split across lines: a good test for the PDF
reader's line joining.  The outputs are committed; CI only reads them."""
import html, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from corpus import DOCUMENTS  # noqa: E402

out_root = os.path.join(here, 'docs')


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def plain(title, paragraphs):
    return title + '\n\n' + '\n\n'.join(paragraphs) + '\n'


def render_html(title, paragraphs):
    body = '\n'.join(f'    <p>{html.escape(p)}</p>' for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="ko">\n<head>\n  <meta charset="utf-8">\n  <title>{html.escape(title)}</title>\n'
            '  <style>body { font-family: sans-serif; }</style>\n'
            '  <script>document.addEventListener("DOMContentLoaded", () => console.log("loaded"));</script>\n'
            f'</head>\n<body>\n  <nav>홈 &gt; 자료실</nav>\n  <main>\n    <h1>{html.escape(title)}</h1>\n{body}\n  </main>\n'
            '</body>\n</html>\n')


def render_pdf(path, title, paragraphs):
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    font = '/usr/share/fonts/truetype/nanum/NanumGothic.ttf'
    if 'Nanum' not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont('Nanum', font))
    heading = ParagraphStyle('h', fontName='Nanum', fontSize=15, leading=20, wordWrap='CJK')
    body = ParagraphStyle('b', fontName='Nanum', fontSize=10.5, leading=15, wordWrap='CJK')
    story = [Paragraph(html.escape(title), heading), Spacer(1, 10)]
    for p in paragraphs:
        story += [Paragraph(html.escape(p), body), Spacer(1, 8)]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    SimpleDocTemplate(path, pagesize=A5, title=title, author='ksearch examples', invariant=1).build(story)


for name, (title, paragraphs) in DOCUMENTS.items():
    path = os.path.join(out_root, name)
    if name.endswith('.pdf'):
        render_pdf(path, title, paragraphs)
    elif name.endswith('.html'):
        write(path, render_html(title, paragraphs).encode('utf-8'))
    elif name.endswith('.md'):
        write(path, ('# ' + plain(title, paragraphs)).encode('utf-8'))
    elif name.endswith('_cp949.txt'):
        write(path, plain(title, paragraphs).replace('\n', '\r\n').encode('cp949'))
    elif name.endswith('_utf16.txt'):
        write(path, plain(title, paragraphs).encode('utf-16'))  # with BOM
    else:
        write(path, plain(title, paragraphs).encode('utf-8'))
print(f'wrote {len(DOCUMENTS)} documents to {out_root}')
