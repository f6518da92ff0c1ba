#!/usr/bin/env python3
"""Generates the extra tiny models under tests/data/models/ and their reference outputs.

Run with Debian's python3 (python3-torch, python3-numpy, python3-sentencepiece), from the repository root:
    /usr/bin/python3 tests/data/make_test_models.py
The reference is the independent PyTorch implementation in tools/tiny-models/torch_ref.py; CI only reads
the committed outputs.

  tiny-xlmr-f16      XLM-R, 3 layers x 96 hidden, 6 heads, FFN 200, F16 weights, "roberta."-prefixed names,
                     128-token limit, mean pooling (a shape unlike the shared fixtures)
  tiny-reranker      XLMRobertaForSequenceClassification (bge-reranker style head: classifier.dense -> tanh ->
                     classifier.out_proj), 2 x 64, expected raw logits for query/passage pairs
"""
import json, os, shutil, sys
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tools', 'tiny-models'))
from make_tiny_models import bert_like_config, random_weights, write_model_dir  # noqa: E402
from st_io import save_file  # noqa: E402
import torch_ref  # noqa: E402

spm_path = os.path.join(here, 'fixtures', 'tiny-e5-bert', 'sentencepiece.bpe.model')
texts = json.load(open(os.path.join(here, 'fixtures', 'texts.json'), encoding='utf-8'))


def xlmr_f16():
    out = os.path.join(here, 'models', 'tiny-xlmr-f16')
    cfg = bert_like_config('xlmr', 96, 3, 6, 200, 4002, 130, 1, 1e-5, 1)
    weights = random_weights(cfg, 4242)
    del weights['pooler.dense.weight'], weights['pooler.dense.bias']
    weights = {k: v.astype(np.float16) for k, v in weights.items()}
    write_model_dir(out, cfg, {}, spm_path, 'mean', 128)
    save_file({'roberta.' + k: v for k, v in weights.items()}, os.path.join(out, 'model.safetensors'),
              metadata={'format': 'pt'})
    cfg['torch_dtype'] = 'float16'
    json.dump(cfg, open(os.path.join(out, 'config.json'), 'w'), indent=2)
    enc = torch_ref.Encoder(out)
    with open(os.path.join(out, 'expected.jsonl'), 'w', encoding='utf-8') as f:
        for t in texts:  # one at a time: the reference pads batches
            toks, e = enc.embed([t])
            f.write(json.dumps({'text': t, 'token_ids': toks[0], 'embedding': [round(float(x), 7) for x in e[0]]},
                               ensure_ascii=False) + '\n')


def reranker():
    out = os.path.join(here, 'models', 'tiny-reranker')
    cfg = bert_like_config('xlmr', 64, 2, 4, 128, 4002, 514, 1, 1e-5, 1,
                           extra={'architectures': ['XLMRobertaForSequenceClassification'],
                                  'id2label': {'0': 'LABEL_0'}, 'label2id': {'LABEL_0': 0}})
    weights = random_weights(cfg, 9090)
    del weights['pooler.dense.weight'], weights['pooler.dense.bias']
    rng = np.random.default_rng(77)
    head = {'classifier.dense.weight': (rng.standard_normal((64, 64)) * 0.2).astype(np.float32),
            'classifier.dense.bias': (rng.standard_normal(64) * 0.1).astype(np.float32),
            'classifier.out_proj.weight': (rng.standard_normal((1, 64)) * 0.5).astype(np.float32),
            'classifier.out_proj.bias': np.array([0.1], dtype=np.float32)}
    write_model_dir(out, cfg, {}, spm_path, 'cls', 512)
    os.remove(os.path.join(out, 'modules.json'))
    shutil.rmtree(os.path.join(out, '1_Pooling'))
    save_file({**{'roberta.' + k: v for k, v in weights.items()}, **head}, os.path.join(out, 'model.safetensors'),
              metadata={'format': 'pt'})
    enc = torch_ref.Encoder.__new__(torch_ref.Encoder)
    enc.cfg = cfg
    enc.is_xlmr = True
    enc.w = {k: torch.from_numpy(v) for k, v in weights.items()}
    enc.gelu, enc.eps, enc.nh, enc.L = 'erf', cfg['layer_norm_eps'], cfg['num_attention_heads'], cfg['num_hidden_layers']
    tok = torch_ref.Tok(os.path.join(out, 'sentencepiece.bpe.model'), 512)
    h = {k: torch.from_numpy(v) for k, v in head.items()}
    query = '대한민국의 수도는 어디인가요?'
    passages = ['서울특별시는 대한민국의 수도이자 최대 도시이다.', 'The quick brown fox jumps over the lazy dog.',
                '부산은 대한민국 제2의 도시이다.', '수도', texts[13]]
    with open(os.path.join(out, 'expected.jsonl'), 'w', encoding='utf-8') as f:
        for p in passages:
            a, b = tok.encode(query)[1:-1], tok.encode(p)[1:-1]
            budget = 512 - 4
            while len(a) + len(b) > budget:  # Hugging Face longest_first
                if len(a) > len(b):
                    a = a[:-1]
                else:
                    b = b[:-1]
            ids = [0] + a + [2, 2] + b + [2]
            t = torch.tensor([ids])
            hs = enc.forward(t, torch.ones_like(t))
            x = torch.tanh(torch.nn.functional.linear(hs[:, 0], h['classifier.dense.weight'], h['classifier.dense.bias']))
            logit = torch.nn.functional.linear(x, h['classifier.out_proj.weight'], h['classifier.out_proj.bias'])
            f.write(json.dumps({'query': query, 'passage': p, 'token_ids': ids, 'logit': round(float(logit[0, 0]), 7)},
                               ensure_ascii=False) + '\n')


xlmr_f16()
reranker()
