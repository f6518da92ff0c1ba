#!/usr/bin/env python3
"""Tiny random-weight models laid out exactly like the published repositories of the seed models, with reference
outputs from Hugging Face's own tokenizer (Rust `tokenizers`, npm @anush008/tokenizers) and the PyTorch reference
encoder (../tiny-models/torch_ref.py).

usage: make_hub_mirrors.py OUT_ROOT [--texts TEXTS.json] [--pairs PAIRS.json] [--seed N] [--styles A,B]
                           [--prune-offset N] [--korquad FILE]
  TEXTS.json: a JSON list of strings (default tests/data/fixtures/texts.json); PAIRS.json: [[query, passage], ...]
  --styles: tokenizer.json styles for the two groups of models (old|new, see spm_to_tokenizer_json.py)
Needs /usr/bin/python3 with Debian's python3-torch, python3-numpy, python3-sentencepiece, python3-protobuf, and node
with @anush008/tokenizers installed in $HF_TOKENIZERS_NODE_DIR (npm install @anush008/tokenizers@0.6.0)."""
import json, os, shutil, subprocess, sys, unicodedata
from collections import OrderedDict
sys.path.insert(0, '/usr/lib/python3/dist-packages')
import numpy as np, torch
import argparse
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository
sys.path.insert(0, os.path.join(ROOT, 'tools', 'tiny-models'))
from make_tiny_models import bert_like_config, random_weights, write_model_dir
from st_io import save_file
from torch_ref import Encoder
TOKJSON = HERE
SPM = os.path.join(ROOT, 'tests', 'data', 'fixtures', 'tiny-e5-bert', 'sentencepiece.bpe.model')
NODE_DIR = os.environ.get('HF_TOKENIZERS_NODE_DIR', HERE)  # a folder with node_modules/@anush008/tokenizers

def hf_pieces(tokenizer_json, texts):
    """ids of each text WITHOUT special tokens, from HF tokenizers (Rust)."""
    js = ("const {Tokenizer}=require('@anush008/tokenizers');const fs=require('fs');(async()=>{"
          "const t=Tokenizer.fromFile(process.argv[1]);for(const l of fs.readFileSync(0,'utf8').split('\\n')){if(!l.length)continue;"
          "const e=await t.encode(JSON.parse(l),null,{addSpecialTokens:false});console.log(JSON.stringify(e.getIds()));}})();")
    inp = ''.join(json.dumps(t, ensure_ascii=False) + '\n' for t in texts)
    r = subprocess.run(['node', '-e', js, os.path.abspath(tokenizer_json)], input=inp, capture_output=True, text=True, cwd=NODE_DIR, check=True)
    return [json.loads(l) for l in r.stdout.splitlines()]

def single_ids(pieces, max_len):
    return [0] + pieces[:max_len - 2] + [2]

def pair_ids(a, b, max_len):
    a, b = list(a), list(b)
    while len(a) + len(b) > max_len - 4:  # HF longest_first: drop from the longer side
        (a if len(a) > len(b) else b).pop()
    return [0] + a + [2, 2] + b + [2]

def make_tokenizer_json(out, style, keep_only=None):
    cmd = ['/usr/bin/python3', os.path.join(TOKJSON, 'spm_to_tokenizer_json.py'), SPM, os.path.abspath(out), '--style', style]
    if keep_only: cmd += ['--keep-only', keep_only]
    subprocess.run(cmd, check=True, capture_output=True)
    return len(json.load(open(out, encoding='utf-8'))['model']['vocab'])

def embed_ids(d, id_lists):
    enc = Encoder(d)
    out = []
    for ids in id_lists:  # one by one: the reference has no batching effects
        t = torch.tensor([ids]); m = torch.ones_like(t)
        out.append(enc.pool(enc.forward(t, m), m)[0])
    return enc, out

def write_expected(path, texts, id_lists, vecs):
    with open(path, 'w', encoding='utf-8') as f:
        for t, ids, v in zip(texts, id_lists, vecs):
            f.write(json.dumps({'text': t, 'token_ids': ids, 'embedding': [round(float(x), 7) for x in v]}, ensure_ascii=False) + '\n')

def st_files(d, prompts=None):
    json.dump({"__version__": {"sentence_transformers": "3.0.1", "transformers": "4.41.2", "pytorch": "2.3.1"},
               "prompts": prompts or {}, "default_prompt_name": None, "similarity_fn_name": "cosine"},
              open(os.path.join(d, 'config_sentence_transformers.json'), 'w'), indent=2)

def xlmr_tokcfg(d, max_len, mask_id):
    cfg = {"added_tokens_decoder": {str(i): {"content": c, "lstrip": c == "<mask>", "normalized": False, "rstrip": False,
                                             "single_word": False, "special": True}
                                    for i, c in [(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (mask_id, "<mask>")]},
           "bos_token": "<s>", "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>",
           "mask_token": "<mask>", "model_max_length": max_len, "pad_token": "<pad>", "sep_token": "</s>",
           "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}
    json.dump(cfg, open(os.path.join(d, 'tokenizer_config.json'), 'w'), indent=2)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('root'); ap.add_argument('--texts', default=os.path.join(ROOT, 'tests', 'data', 'fixtures', 'texts.json'))
    ap.add_argument('--pairs'); ap.add_argument('--seed', type=int, default=100); ap.add_argument('--styles', default='old,new')
    ap.add_argument('--prune-offset', type=int, default=0)
    ap.add_argument('--korquad', default=os.path.join(ROOT, 'tests', 'data', 'korquad-v1-dev', 'KorQuAD_v1.0_dev.json'))
    a = ap.parse_args()
    root = a.root
    os.makedirs(root, exist_ok=True)
    texts = json.load(open(a.texts, encoding='utf-8'))
    nfc = [unicodedata.normalize('NFC', t) for t in texts]   # ksearch composes Hangul first; HF is compared on NFC text
    seed = a.seed
    style_a, style_b = a.styles.split(',')
    tmp = os.path.join(root, '.work'); os.makedirs(tmp, exist_ok=True)
    n_spm = 4000; V = n_spm + 2
    manifest = {}

    # 1. KURE-v1 / BGE-m3-ko layout: XLM-R, CLS, tokenizer.json only (no sentencepiece model), safetensors F32
    d = os.path.join(root, 'kure-v1-layout')
    cfg = bert_like_config('xlmr', 64, 2, 4, 128, V, 514, 1, 1e-5, 1)
    write_model_dir(d, cfg, random_weights(cfg, seed + 1), SPM, 'cls', 512)
    make_tokenizer_json(os.path.join(d, 'tokenizer.json'), style_a)
    st_files(d); xlmr_tokcfg(d, 8192, V - 1)
    ids = [single_ids(p, 512) for p in hf_pieces(os.path.join(d, 'tokenizer.json'), nfc)]
    _, vecs = embed_ids(d, ids)
    os.remove(os.path.join(d, 'sentencepiece.bpe.model'))
    write_expected(os.path.join(d, 'expected.jsonl'), texts, ids, vecs)
    manifest['kure-v1-layout'] = 'XLM-R, CLS pooling; tokenizer.json (%s style) and no sentencepiece.bpe.model; model.safetensors F32' % style_a

    # 2. KoEn-E5-Tiny layout: BERT, mean, vocabulary pruned to the pieces a Korean+English corpus uses; ids renumbered
    d = os.path.join(root, 'koen-e5-tiny-layout')
    corpus = os.path.join(tmp, 'keep.txt')
    kq = json.load(open(a.korquad, encoding='utf-8'))
    paras = [p['context'] for a in kq['data'] for p in a['paragraphs']]
    with open(corpus, 'w', encoding='utf-8') as f:
        for p in paras[a.prune_offset:a.prune_offset + 150]: f.write(p.replace('\n', ' ') + '\n')
        f.write('The quick brown fox jumps over the lazy dog. query: passage: What is the capital of South Korea?\n')
    tj = os.path.join(tmp, 'pruned.json')
    Vp = make_tokenizer_json(tj, style_b, keep_only=corpus)
    cfg = bert_like_config('bert', 64, 2, 4, 128, Vp, 512, 2, 1e-12, 0)
    write_model_dir(d, cfg, random_weights(cfg, seed + 2, with_position_ids=True), SPM, 'mean', 512)
    shutil.copy(tj, os.path.join(d, 'tokenizer.json'))
    st_files(d, {"query": "query: ", "passage": "passage: "}); xlmr_tokcfg(d, 512, Vp - 1)
    ids = [single_ids(p, 512) for p in hf_pieces(os.path.join(d, 'tokenizer.json'), nfc)]
    _, vecs = embed_ids(d, ids)
    os.remove(os.path.join(d, 'sentencepiece.bpe.model'))
    write_expected(os.path.join(d, 'expected.jsonl'), texts, ids, vecs)
    manifest['koen-e5-tiny-layout'] = f'BERT, mean pooling; pruned vocabulary of {Vp} renumbered ids in tokenizer.json ({style_b} style), no sentencepiece model; embedding matrix {Vp} rows'

    # 3. multilingual-e5-small-ko layout: BERT, mean, both tokenizer.json and sentencepiece.bpe.model, 35 padding rows
    d = os.path.join(root, 'e5-small-ko-layout')
    cfg = bert_like_config('bert', 64, 2, 4, 128, V + 35, 512, 2, 1e-12, 0)
    write_model_dir(d, cfg, random_weights(cfg, seed + 3, with_position_ids=True), SPM, 'mean', 512)
    make_tokenizer_json(os.path.join(d, 'tokenizer.json'), style_b)
    st_files(d); xlmr_tokcfg(d, 512, V - 1)
    ids = [single_ids(p, 512) for p in hf_pieces(os.path.join(d, 'tokenizer.json'), nfc)]
    _, vecs = embed_ids(d, ids)
    write_expected(os.path.join(d, 'expected.jsonl'), texts, ids, vecs)
    manifest['e5-small-ko-layout'] = f'BERT, mean pooling; tokenizer.json ({style_b} style) AND sentencepiece.bpe.model (tokenizer.json decides); {V + 35} embedding rows'

    # 4. BAAI/bge-m3 layout: XLM-R, CLS, pytorch_model.bin only (no safetensors), plus sparse and ColBERT heads
    d = os.path.join(root, 'bge-m3-layout')
    cfg = bert_like_config('xlmr', 64, 2, 4, 128, V, 514, 1, 1e-5, 1)
    w = random_weights(cfg, seed + 4)
    write_model_dir(d, cfg, w, SPM, 'cls', 512)
    make_tokenizer_json(os.path.join(d, 'tokenizer.json'), style_a)
    st_files(d); xlmr_tokcfg(d, 8192, V - 1)
    ids = [single_ids(p, 512) for p in hf_pieces(os.path.join(d, 'tokenizer.json'), nfc)]
    enc, vecs = embed_ids(d, ids)
    torch.save(OrderedDict((k, torch.from_numpy(np.ascontiguousarray(v))) for k, v in w.items()), os.path.join(d, 'pytorch_model.bin'))
    os.remove(os.path.join(d, 'model.safetensors'))
    rng = np.random.default_rng(seed + 40)
    sparse = OrderedDict(weight=torch.from_numpy((rng.standard_normal((1, 64)) * 0.3).astype(np.float32)),
                         bias=torch.from_numpy(np.array([0.1], dtype=np.float32)))
    colbert = OrderedDict(weight=torch.from_numpy((rng.standard_normal((64, 64)) * 0.2).astype(np.float32)),
                          bias=torch.from_numpy((rng.standard_normal(64) * 0.1).astype(np.float32)))
    torch.save(sparse, os.path.join(d, 'sparse_linear.pt')); torch.save(colbert, os.path.join(d, 'colbert_linear.pt'))
    with open(os.path.join(d, 'expected.jsonl'), 'w', encoding='utf-8') as f:
        for t, i, v in zip(texts, ids, vecs):
            tt = torch.tensor([i]); hs = enc.forward(tt, torch.ones_like(tt))[0]
            # BGE-M3 lexical weights: relu(sparse_linear(h)) per token, max per token id, special tokens dropped
            lw = torch.relu(torch.nn.functional.linear(hs, sparse['weight'], sparse['bias']))[:, 0]
            lex = {}
            for tok, wt in zip(i, lw.tolist()):
                if tok in (0, 1, 2, 3): continue
                if wt > lex.get(tok, 0.0): lex[tok] = wt
            # ColBERT vectors: colbert_linear(h[1:]) (tokens after <s>), each L2-normalised
            cv = torch.nn.functional.normalize(torch.nn.functional.linear(hs[1:], colbert['weight'], colbert['bias']), dim=-1)
            f.write(json.dumps({'text': t, 'token_ids': i, 'embedding': [round(float(x), 7) for x in v],
                                'lexical_weights': {str(k): round(x, 6) for k, x in sorted(lex.items())},
                                'colbert_vecs_first3': [[round(float(x), 6) for x in r] for r in cv[:3]]}, ensure_ascii=False) + '\n')
    manifest['bge-m3-layout'] = 'XLM-R, CLS pooling; pytorch_model.bin only (zip + pickle, as torch.save writes it), no model.safetensors; tokenizer.json + sentencepiece.bpe.model; sparse_linear.pt and colbert_linear.pt heads (expected: lexical_weights, colbert_vecs_first3)'

    # 5. bge-reranker-v2-m3(-ko) layout: XLMRobertaForSequenceClassification, roberta. prefix, tokenizer.json only
    d = os.path.join(root, 'reranker-layout')
    cfg = bert_like_config('xlmr', 64, 2, 4, 128, V, 514, 1, 1e-5, 1,
                           extra={"architectures": ["XLMRobertaForSequenceClassification"], "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}})
    w = random_weights(cfg, seed + 5); w.pop('pooler.dense.weight'); w.pop('pooler.dense.bias')
    rng = np.random.default_rng(seed + 50)
    wr = {('roberta.' + k): v for k, v in w.items()}
    wr['classifier.dense.weight'] = (rng.standard_normal((64, 64)) * 0.2).astype(np.float32)
    wr['classifier.dense.bias'] = (rng.standard_normal(64) * 0.1).astype(np.float32)
    wr['classifier.out_proj.weight'] = (rng.standard_normal((1, 64)) * 0.5).astype(np.float32)
    wr['classifier.out_proj.bias'] = np.array([0.05], dtype=np.float32)
    write_model_dir(d, cfg, wr, SPM, 'cls', 512)
    make_tokenizer_json(os.path.join(d, 'tokenizer.json'), style_b)
    xlmr_tokcfg(d, 8192, V - 1)
    enc = Encoder(d)
    for f in ('modules.json', 'sentence_bert_config.json', 'sentencepiece.bpe.model'): os.remove(os.path.join(d, f))
    shutil.rmtree(os.path.join(d, '1_Pooling'))
    W = {k: torch.from_numpy(v) for k, v in wr.items()}
    pairs = [("대한민국의 수도는 어디인가요?", "서울특별시는 대한민국의 수도이자 최대 도시이다."),
             ("대한민국의 수도는 어디인가요?", "부산광역시는 대한민국 제2의 도시이다."),
             ("What is KTX?", "KTX는 한국의 고속철도이다."),
             ("조선은 언제 건국되었나?", "조선은 1392년 이성계가 건국하였다."),
             ("짧은 질문", "가나다라마바사 " * 120)]
    if a.pairs:
        pairs = [tuple(p) for p in json.load(open(a.pairs, encoding='utf-8'))]
    qp = hf_pieces(os.path.join(d, 'tokenizer.json'), [q for q, _ in pairs])
    pp = hf_pieces(os.path.join(d, 'tokenizer.json'), [p for _, p in pairs])
    with open(os.path.join(d, 'expected.jsonl'), 'w', encoding='utf-8') as f:
        for (q, p), a, b in zip(pairs, qp, pp):
            i = pair_ids(a, b, 512)
            t = torch.tensor([i]); hs = enc.forward(t, torch.ones_like(t))
            x = torch.tanh(torch.nn.functional.linear(hs[:, 0], W['classifier.dense.weight'], W['classifier.dense.bias']))
            logit = torch.nn.functional.linear(x, W['classifier.out_proj.weight'], W['classifier.out_proj.bias'])[0, 0].item()
            f.write(json.dumps({'query': q, 'passage': p, 'token_ids': i, 'logit': round(logit, 6),
                                'sigmoid': round(1 / (1 + np.exp(-logit)), 6)}, ensure_ascii=False) + '\n')
    manifest['reranker-layout'] = f'XLMRobertaForSequenceClassification, roberta.-prefixed tensors, tokenizer.json ({style_b} style) only; pairs truncated longest-first to 512'
    shutil.rmtree(tmp)
    json.dump(manifest, open(os.path.join(root, 'MANIFEST.json'), 'w'), indent=2, ensure_ascii=False)
    print(json.dumps(manifest, indent=1, ensure_ascii=False))

if __name__ == '__main__':
    main()
