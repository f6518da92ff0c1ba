#!/usr/bin/env python3
"""Builds the tokenizer.json variants of tests/data/tokenizers/ and their expected ids from Hugging Face's Rust
tokenizers (hf_encode_cases.js).  Run from the repository root after `cd tools/hub-mirrors && npm install`:

    python3 tools/tokenizer-variants/make_variants.py
"""
import collections
import copy
import json
import os
import random
import re
import subprocess
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'tests', 'data', 'tokenizers')
KORQUAD = os.path.join(ROOT, 'tests', 'data', 'korquad-v1-dev', 'KorQuAD_v1.0_dev.json')
UNIGRAM_BASE = os.path.join(ROOT, 'tests', 'data', 'fixtures', 'hub', 'koen-e5-tiny-layout', 'tokenizer.json')

HOSTILE = [
    '',
    ' ',
    '   ',
    '\t\n\r',
    '서울  특별시   입니다',
    '  앞뒤 공백  ',
    '탭\t과\n줄바꿈\r\n끝',
    '\u1112\u1161\u11ab\u1100\u1173\u11af NFD 한글',  # NFD Hangul
    'e\u0301cole cafe\u0301 Ångström naïve',  # combining marks
    '👩\u200d👩\u200d👧\u200d👦 가족 👍🏽 🇰🇷',  # emoji ZWJ, skin tone, flags
    'ＦＵＬＬ　ｗｉｄｔｈ　１２３！',  # full-width forms
    '제어\x00문자\x07와\x1b[0m \u200b제로폭\ufeff',
    '①②③ ㈜ ㎏ ﬁ ½',
    'a' * 150,
    '가' * 120,
    'Supercalifragilisticexpialidocious antidisestablishmentarianism',
    '\U0001F600\U0001F601 \u2603 \U00010348 \ue000',  # emoji, snowman, Gothic, private use
    '中文字符 漢字 日本語のテキスト',
    'İstanbul ΣΊΣΥΦΟΣ Straße',
    'price: $1,234.56 (approx.) - 50% off!!! #tag @user',
    'x-y_z a--b 2024-01-01 3.14159 v1.2.3',
    '<s>리터럴</s> <mask> [CLS] [SEP] [MASK]',
    '  <mask>  앞뒤  ',
    'don\'t "quoted" `back` ``double``',
    '한국어English혼합Text123숫자',
]


def random_texts(count, seed=7):
    """Seeded random mixes of the character classes the tokenizers treat differently."""
    pools = ['가각한글서울의는을를', '\u1100\u1161\u11a8\u3131\u314f', 'abcXYZéüñ', '0123456789٣४',
             '.,!?-_()[]"\'/:;@#', ' ', '  \t\n', '👍🏽👩\u200d💻🇰🇷', '中文漢字', '\x00\x07\u200b\ufeff\u00ad',
             'ＡＢＣ１２３！', '①½ﬁ㎏', '\u0301\u0308', '<mask>[CLS]<s>', '\ue000\U00010348']
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        length = rng.randint(1, 40)
        texts.append(''.join(rng.choice(rng.choice(pools)) for _ in range(length)))
    return texts


def korquad_texts(count):
    with open(KORQUAD, encoding='utf-8') as f:
        data = json.load(f)['data']
    texts = []
    for article in data:
        for paragraph in article['paragraphs']:
            sentences = re.split(r'(?<=[.?!])\s+', paragraph['context'])
            texts.extend(s for s in sentences[:2] if s)
            texts.extend(q['question'] for q in paragraph['qas'][:1])
        if len(texts) >= count:
            break
    return texts[:count]


def korquad_words():
    with open(KORQUAD, encoding='utf-8') as f:
        data = json.load(f)['data']
    words = collections.Counter()
    for article in data[:60]:
        for paragraph in article['paragraphs']:
            for word in re.findall(r'\w+|[^\w\s]', paragraph['context']):
                words[word] += 1
    return words


def wordpiece_vocab(lowercase):
    """A small Korean+English WordPiece vocabulary: characters, frequent words and frequent word endings."""
    words = korquad_words()
    if lowercase:
        folded = collections.Counter()
        for word, n in words.items():
            folded[word.lower()] += n
        words = folded
    vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    chars = collections.Counter()
    endings = collections.Counter()
    for word, n in words.items():
        for c in word:
            chars[c] += n
        for k in (1, 2, 3):
            if len(word) > k:
                endings[word[-k:]] += n
    for c in 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~':
        chars[c] += 1000
    seen = set(vocab)

    def add(token):
        if token not in seen:
            seen.add(token)
            vocab.append(token)

    for c, _ in chars.most_common(900):
        add(c)
        add('##' + c)
    for word, _ in words.most_common(1500):
        add(word)
    for ending, _ in endings.most_common(600):
        add('##' + ending)
    return {token: i for i, token in enumerate(vocab)}


def bert_added_tokens():
    return [{'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False,
             'special': True} for i, c in enumerate(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'])]


def wordpiece_tokenizer(lowercase, strip_accents):
    return {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': bert_added_tokens(),
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                       'strip_accents': strip_accents, 'lowercase': lowercase},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {'type': 'BertProcessing', 'sep': ['[SEP]', 3], 'cls': ['[CLS]', 2]},
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': wordpiece_vocab(lowercase)},
    }


def unigram_variants():
    with open(UNIGRAM_BASE, encoding='utf-8') as f:
        base = json.load(f)
    precompiled = base['normalizer']['normalizers'][0]
    variants = {}

    t = copy.deepcopy(base)
    t['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': False}
    t['post_processor'] = {'type': 'RobertaProcessing', 'sep': ['</s>', 2], 'cls': ['<s>', 0],
                           'trim_offsets': True, 'add_prefix_space': True}
    variants['unigram-metaspace-first-nosplit'] = t

    t = copy.deepcopy(base)
    t['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'never', 'split': True}
    t['normalizer'] = {'type': 'Sequence', 'normalizers': [
        {'type': 'NFKC'}, {'type': 'Lowercase'}, {'type': 'Replace', 'pattern': {'String': '``'}, 'content': '"'},
        {'type': 'Strip', 'strip_left': True, 'strip_right': True}]}
    variants['unigram-metaspace-never-nfkc-lower'] = t

    t = copy.deepcopy(base)
    vocab = t['model']['vocab']
    lowest = min(score for _, score in vocab)
    mask = vocab.pop()  # keep <mask> last
    vocab.extend(['<0x%02X>' % b, lowest - 1.0] for b in range(256))
    vocab.append(mask)
    for token in t['added_tokens']:
        if token['content'] == '<mask>':
            token['id'] = len(vocab) - 1
    t['post_processor']['special_tokens'] = base['post_processor']['special_tokens']
    t['model']['byte_fallback'] = True
    t['normalizer'] = {'type': 'Sequence', 'normalizers': [{'type': 'NFD'}, {'type': 'StripAccents'},
                                                           {'type': 'NFC'}]}
    t['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}
    variants['unigram-byte-fallback-strip-accents'] = t

    t = copy.deepcopy(base)
    t['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': {'String': '-'}, 'behavior': 'MergedWithPrevious', 'invert': False},
        {'type': 'Split', 'pattern': {'Regex': '[A-Za-z]+'}, 'behavior': 'Isolated', 'invert': False},
        {'type': 'Punctuation', 'behavior': 'MergedWithNext'},
        {'type': 'Digits', 'individual_digits': True},
        {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}]}
    variants['unigram-split-punctuation-digits'] = t

    t = copy.deepcopy(base)
    t['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Whitespace'},
        {'type': 'Split', 'pattern': {'Regex': '\\d+'}, 'behavior': 'Contiguous', 'invert': True},
        {'type': 'Digits', 'individual_digits': False},
        {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}]}
    variants['unigram-whitespace-contiguous'] = t

    t = copy.deepcopy(base)
    t['normalizer'] = {'type': 'Sequence', 'normalizers': [precompiled, {'type': 'Prepend', 'prepend': '\u2581'}]}
    t['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'WhitespaceSplit'},
        {'type': 'Split', 'pattern': {'Regex': '\\p{Hangul}+'}, 'behavior': 'MergedWithNext', 'invert': True},
        {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'never', 'split': True}]}
    next_id = len(t['model']['vocab'])
    extra = [('[KO]', True, False, False, False, True), ('<sep>', False, True, True, False, True),
             ('ＡＢＣ', False, False, False, True, False), ('서울', False, False, True, True, False),
             ('mask', True, True, False, True, False)]
    for content, single_word, lstrip, rstrip, normalized, special in extra:
        t['added_tokens'].append({'id': next_id, 'content': content, 'single_word': single_word, 'lstrip': lstrip,
                                  'rstrip': rstrip, 'normalized': normalized, 'special': special})
        next_id += 1
    variants['unigram-added-tokens-prepend'] = t
    return variants


def korquad_paragraphs(count, skip=0):
    with open(KORQUAD, encoding='utf-8') as f:
        data = json.load(f)['data']
    paragraphs = [p for article in data for p in article['paragraphs']]
    return [(p['qas'][0]['question'], p['context']) for p in paragraphs[skip:skip + count]]


def hub_parity():
    """Whole KorQuAD paragraphs (and question/paragraph pairs truncated longest-first to 512 for the reranker)
    through the hub layouts' own tokenizer.json files: tests/data/tokenizers/hub-parity/LAYOUT.jsonl."""
    folder = os.path.join(OUT, 'hub-parity')
    os.makedirs(folder, exist_ok=True)
    hub = os.path.join(ROOT, 'tests', 'data', 'fixtures', 'hub')
    paragraphs = korquad_paragraphs(60, skip=100)
    single = [{'text': unicodedata.normalize('NFC', t)}
              for t in [c for _, c in paragraphs] + HOSTILE + random_texts(60, seed=11)]
    long_text = ' '.join(c for _, c in paragraphs[:6])
    pairs = [{'text': q, 'pair': c} for q, c in korquad_paragraphs(20, skip=300)] + [
        {'text': long_text, 'pair': '짧은 문단'}, {'text': '짧은 질문', 'pair': long_text},
        {'text': long_text, 'pair': long_text[::-1]}]
    for layout, cases, truncate in [('bge-m3-layout', single, False), ('e5-small-ko-layout', single, False),
                                    ('koen-e5-tiny-layout', single, False), ('reranker-layout', pairs, True)]:
        with open(os.path.join(hub, layout, 'tokenizer.json'), encoding='utf-8') as f:
            tokenizer = json.load(f)
        if truncate:
            tokenizer['truncation'] = {'direction': 'Right', 'max_length': 512, 'strategy': 'LongestFirst',
                                       'stride': 0}
        path = os.path.join(folder, layout + '.tokenizer.json.tmp')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(tokenizer, f, ensure_ascii=False)
        result = subprocess.run(['node', os.path.join(os.path.dirname(__file__), 'hf_encode_cases.js'), path],
                                input='\n'.join(json.dumps(c, ensure_ascii=False) for c in cases) + '\n',
                                capture_output=True, text=True, check=True)
        os.remove(path)
        with open(os.path.join(folder, layout + '.jsonl'), 'w', encoding='utf-8') as f:
            f.write(result.stdout)
        print('hub-parity', layout, len(cases), 'cases')


def main():
    texts = korquad_texts(120) + HOSTILE + random_texts(60) + [
        '[KO] 서울 [KO]서울 <sep>  서울의 ABC ＡＢＣ mask maskless 마스크 mask.',
        '  <sep>x<sep>  [KO]',
        '서울서울 서울',
    ]
    pairs = [(texts[i], texts[i + 1]) for i in range(0, 60, 2)] + [
        ('질문', ' '.join(texts[:8])), (' '.join(texts[:8]), '질문'), (texts[0], texts[0]), ('', '비어있음'),
    ]
    variants = {
        'wordpiece-bert': wordpiece_tokenizer(False, None),
        'wordpiece-bert-lowercase': wordpiece_tokenizer(True, None),
        'wordpiece-bert-lowercase-keep-accents': wordpiece_tokenizer(True, False),
    }
    truncated = copy.deepcopy(variants['wordpiece-bert'])
    truncated['truncation'] = {'direction': 'Right', 'max_length': 24, 'strategy': 'LongestFirst', 'stride': 0}
    variants['wordpiece-bert-truncated-24'] = truncated
    variants.update(unigram_variants())
    for name, tokenizer in variants.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, 'tokenizer.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(tokenizer, f, ensure_ascii=False)
        cases = [{'text': t} for t in texts] + [{'text': a, 'pair': b} for a, b in pairs]
        # Parity is measured on NFC text: ksearch composes every input to NFC first (docs/tokenizers.md).
        cases = [{k: unicodedata.normalize('NFC', v) for k, v in c.items()} for c in cases]
        result = subprocess.run(['node', os.path.join(os.path.dirname(__file__), 'hf_encode_cases.js'), path],
                                input='\n'.join(json.dumps(c, ensure_ascii=False) for c in cases) + '\n',
                                capture_output=True, text=True, check=True)
        with open(os.path.join(folder, 'expected.jsonl'), 'w', encoding='utf-8') as f:
            f.write(result.stdout)
        print(name, len(cases), 'cases')
    hub_parity()


if __name__ == '__main__':
    main()
