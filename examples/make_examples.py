#!/usr/bin/env python3
"""Renders examples/corpus.py into examples/docs/ in several formats and encodings (Markdown, text in UTF-8, UTF-16 and
CP949, HTML, PDF, DOCX, HWPX).

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


def docx_xml(title, paragraphs):
    def para(text):
        return f'<w:p><w:r><w:t xml:space="preserve">{html.escape(text)}</w:t></w:r></w:p>'
    body, rows = [para(title)], []
    for p in paragraphs + ['']:
        if p.startswith('|'):
            cells = p.strip('|').split('|')
            rows.append('<w:tr>' + ''.join(f'<w:tc>{para(c)}</w:tc>' for c in cells) + '</w:tr>')
            continue
        if rows:
            body.append('<w:tbl>' + ''.join(rows) + '</w:tbl>')
            rows = []
        if p:
            body.append(para(p))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document '
            'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + ''.join(body) +
            '</w:body></w:document>')


def render_docx(path, title, paragraphs):
    import zipfile
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
                   'xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
                   '</Relationships>')
        z.writestr('word/document.xml', docx_xml(title, paragraphs))


def render_hwpx(path, title, paragraphs):
    import zipfile
    def para(text, inner=''):
        return f'<hp:p><hp:run><hp:t>{html.escape(text)}</hp:t>{inner}</hp:run></hp:p>'
    body, rows = [para(title)], []
    for p in paragraphs + ['']:
        if p.startswith('|'):
            cells = p.strip('|').split('|')
            rows.append('<hp:tr>' + ''.join(f'<hp:tc><hp:subList>{para(c)}</hp:subList></hp:tc>' for c in cells) + '</hp:tr>')
            continue
        if rows:
            body.append(para('', '<hp:tbl>' + ''.join(rows) + '</hp:tbl>'))
            rows = []
        if p:
            body.append(para(p))
    section = ('<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
               'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph">' + ''.join(body) + '</hs:sec>')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo('mimetype'), 'application/hwp+zip')
        z.writestr('Contents/section0.xml', section)


for name, (title, paragraphs) in DOCUMENTS.items():
    path = os.path.join(out_root, name)
    if name.endswith('.pdf'):
        render_pdf(path, title, paragraphs)
    elif name.endswith('.docx'):
        render_docx(path, title, paragraphs)
    elif name.endswith('.hwpx'):
        render_hwpx(path, title, paragraphs)
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
