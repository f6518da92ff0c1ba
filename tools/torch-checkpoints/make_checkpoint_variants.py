#!/usr/bin/env python3
"""PyTorch-checkpoint variants of the bge-m3 layout fixture, with reference outputs, and small hand-made
checkpoints for the reader's error paths.

usage: make_checkpoint_variants.py MODELS_DIR CHECKPOINTS_DIR   (tests/data/models tests/data/torch-checkpoints)

MODELS_DIR gets four model folders made from tests/data/fixtures/hub/bge-m3-layout's weights (torch.save writes
every .bin and .pt):
  bge-m3-f16-bin              pytorch_model.bin with F16 tensors, F16 heads
  bge-m3-bf16-bin             pytorch_model.bin with BF16 tensors, F32 heads
  bge-m3-sharded-bin          pytorch_model.bin.index.json + two F32 shards
  bge-m3-safetensors-and-bin  model.safetensors (the weights) beside a pytorch_model.bin of other weights: the
                              expected outputs are those of the safetensors
Each has new sparse_linear.pt / colbert_linear.pt heads and expected.jsonl: token_ids (XLMRobertaTokenizer
semantics, sentencepiece), embedding (CLS, L2-normalised), lexical_weights {token id: weight} and colbert_vecs (all
rows), computed in float32 by ../tiny-models/torch_ref.py's encoder on the stored (rounded) weights, with the heads
as FlagEmbedding's BGEM3FlagModel applies them:
  lexical weights: relu(sparse_linear(h)) per token; max per token id; <s> </s> <pad> <unk> dropped; only > 0 kept
  ColBERT vectors: colbert_linear(h[1:]) (every token after <s>, </s> included), each L2-normalised
Needs /usr/bin/python3 with Debian's python3-torch, python3-numpy and python3-sentencepiece."""
import io, json, os, pickle, shutil, sys, tempfile, zipfile
from collections import OrderedDict
sys.path.insert(0, '/usr/lib/python3/dist-packages')
import numpy as np, torch
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'tiny-models'))
from st_io import save_file
from torch_ref import Encoder

BASE = os.path.join(ROOT, 'tests', 'data', 'fixtures', 'hub', 'bge-m3-layout')
COPIED = ['config.json', 'config_sentence_transformers.json', 'modules.json', 'sentence_bert_config.json',
          'sentencepiece.bpe.model', 'special_tokens_map.json', 'tokenizer_config.json']
TEXTS = ['query: 한국어 의미 검색 엔진은 어떻게 동작하나요?', 'passage: 서울특별시는 대한민국의 수도이자 최대 도시이다.',
         '안녕하세요', 'The quick brown fox jumps over the lazy dog.', '서울 서울 서울에서 서울로', 'a']
SPECIAL = {0, 1, 2, 3}  # <s> <pad> </s> <unk>


def copy_layout(d):
    os.makedirs(d, exist_ok=True)
    for name in COPIED:
        shutil.copy(os.path.join(BASE, name), os.path.join(d, name))
    shutil.copytree(os.path.join(BASE, '1_Pooling'), os.path.join(d, '1_Pooling'), dirs_exist_ok=True)


def heads(seed, dtype):
    rng = np.random.default_rng(seed)
    # A positive bias keeps about half the tokens' weights above zero, so the expected lexical weights are not empty.
    sparse = OrderedDict(weight=torch.from_numpy((rng.standard_normal((1, 64)) * 0.3).astype(np.float32)).to(dtype),
                         bias=torch.tensor([0.4]).to(dtype))
    colbert = OrderedDict(weight=torch.from_numpy((rng.standard_normal((64, 64)) * 0.2).astype(np.float32)).to(dtype),
                          bias=torch.from_numpy((rng.standard_normal(64) * 0.1).astype(np.float32)).to(dtype))
    return sparse, colbert


def write_expected(d, weights, sparse, colbert):
    """Reference outputs of `weights` (a float state dict) and the heads, in float32."""
    with tempfile.TemporaryDirectory() as tmp:
        copy_layout(tmp)
        save_file({k: v.float().numpy() for k, v in weights.items() if v.is_floating_point()},
                  os.path.join(tmp, 'model.safetensors'))
        enc = Encoder(tmp)
        sw, sb = sparse['weight'].float(), sparse['bias'].float()
        cw, cb = colbert['weight'].float(), colbert['bias'].float()
        with open(os.path.join(d, 'expected.jsonl'), 'w', encoding='utf-8') as f:
            for text in TEXTS:
                ids = enc.tok.encode(text)
                tt = torch.tensor([ids])
                hs = enc.forward(tt, torch.ones_like(tt))[0]
                emb = torch.nn.functional.normalize(hs[0], dim=0)
                token_weights = torch.relu(torch.nn.functional.linear(hs, sw, sb))[:, 0].tolist()
                lexical = {}
                for token, w in zip(ids, token_weights):
                    if token not in SPECIAL and w > 0 and w > lexical.get(token, 0.0):
                        lexical[token] = w
                vecs = torch.nn.functional.normalize(torch.nn.functional.linear(hs[1:], cw, cb), dim=-1)
                f.write(json.dumps({'text': text, 'token_ids': ids, 'embedding': [round(float(x), 7) for x in emb],
                                    'lexical_weights': {str(k): round(v, 7) for k, v in sorted(lexical.items())},
                                    'colbert_vecs': [[round(float(x), 7) for x in row] for row in vecs]},
                                   ensure_ascii=False) + '\n')


def make_models(out):
    base = torch.load(os.path.join(BASE, 'pytorch_model.bin'))
    floats = OrderedDict((k, v) for k, v in base.items() if v.is_floating_point())

    def variant(name, dtype, seed, head_dtype=torch.float32):
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        copy_layout(d)
        weights = OrderedDict((k, v.to(dtype)) for k, v in floats.items())
        sparse, colbert = heads(seed, head_dtype)
        torch.save(sparse, os.path.join(d, 'sparse_linear.pt'))
        torch.save(colbert, os.path.join(d, 'colbert_linear.pt'))
        return d, weights, sparse, colbert

    for name, dtype, head_dtype in [('bge-m3-f16-bin', torch.float16, torch.float16),
                                    ('bge-m3-bf16-bin', torch.bfloat16, torch.float32)]:
        d, weights, sparse, colbert = variant(name, dtype, 31, head_dtype)
        torch.save(weights, os.path.join(d, 'pytorch_model.bin'))
        write_expected(d, weights, sparse, colbert)

    d, weights, sparse, colbert = variant('bge-m3-sharded-bin', torch.float32, 32)
    shards = {'pytorch_model-00001-of-00002.bin': OrderedDict(), 'pytorch_model-00002-of-00002.bin': OrderedDict()}
    for k, v in weights.items():
        shards['pytorch_model-00001-of-00002.bin' if k.startswith('embeddings.') else
               'pytorch_model-00002-of-00002.bin'][k] = v
    for shard, tensors in shards.items():
        torch.save(tensors, os.path.join(d, shard))
    with open(os.path.join(d, 'pytorch_model.bin.index.json'), 'w') as f:
        json.dump({'metadata': {'total_size': sum(v.numel() * v.element_size() for v in weights.values())},
                   'weight_map': {k: s for s, t in shards.items() for k in t}}, f, indent=2)
    write_expected(d, weights, sparse, colbert)

    d, weights, sparse, colbert = variant('bge-m3-safetensors-and-bin', torch.float32, 33)
    save_file({k: v.numpy() for k, v in weights.items()}, os.path.join(d, 'model.safetensors'))
    other = OrderedDict((k, (-v).to(torch.float16)) for k, v in weights.items())
    torch.save(other, os.path.join(d, 'pytorch_model.bin'))
    write_expected(d, weights, sparse, colbert)


def stored_zip(path, entries):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


def make_checkpoints(out):
    """Small checkpoints for the reader's tests: what torch writes, and hand-made broken ones."""
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    whole = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    # Views: a row (storage offset 6), a narrowed block sharing `whole`'s storage, and a contiguous copy.
    torch.save(OrderedDict([('whole', whole), ('row', whole[1]), ('rows', whole[2:4]),
                            ('half', whole.half()), ('bf16', whole.bfloat16()),
                            ('param', torch.nn.Parameter(torch.ones(3))),
                            ('ids', torch.arange(5, dtype=torch.int64))]), os.path.join(out, 'views.pt'))
    # nn.Linear's own state dict carries `_metadata` (set with BUILD).
    linear = torch.nn.Linear(3, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3))
        linear.bias.copy_(torch.tensor([0.5, -0.5]))
    torch.save(linear.state_dict(), os.path.join(out, 'linear-state-dict.pt'))
    torch.save({'t': whole.t()}, os.path.join(out, 'transposed.pt'))  # non-contiguous strides

    def pickle_bytes(obj_code):
        return b'\x80\x02' + obj_code + b'.'
    storage = b'(X\x07\x00\x00\x00storageq\x00ctorch\nFloatStorage\nq\x01X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ'

    def tensor(storage_code, offset=0, size=4):
        return (b'ctorch._utils\n_rebuild_tensor_v2\n(' + storage_code + b'K' + bytes([offset]) + b'K' +
                bytes([size]) + b'\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR')
    four_floats = np.arange(4, dtype=np.float32).tobytes()
    good = pickle_bytes(b'ccollections\nOrderedDict\n)RX\x01\x00\x00\x00w' + tensor(storage) + b's')
    stored_zip(os.path.join(out, 'handmade.pt'), {'handmade/data.pkl': good, 'handmade/data/0': four_floats,
                                                  'handmade/byteorder': b'little', 'handmade/version': b'3\n'})
    stored_zip(os.path.join(out, 'missing-storage.pt'), {'archive/data.pkl': good, 'archive/version': b'3\n'})
    stored_zip(os.path.join(out, 'short-storage.pt'), {'archive/data.pkl': good, 'archive/data/0': four_floats[:8]})
    outside = pickle_bytes(b'ccollections\nOrderedDict\n)RX\x01\x00\x00\x00w' + tensor(storage, offset=2) + b's')
    stored_zip(os.path.join(out, 'view-outside-storage.pt'),
               {'archive/data.pkl': outside, 'archive/data/0': four_floats})
    stored_zip(os.path.join(out, 'os-system.pt'),
               {'archive/data.pkl': pickle_bytes(b'cos\nsystem\nX\x04\x00\x00\x00echo\x85R'),
                'archive/data/0': four_floats})
    stored_zip(os.path.join(out, 'big-endian.pt'), {'archive/data.pkl': good, 'archive/data/0': four_floats,
                                                    'archive/byteorder': b'big'})
    with zipfile.ZipFile(os.path.join(out, 'compressed.pt'), 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('archive/data.pkl', good)
        z.writestr('archive/data/0', four_floats)


if __name__ == '__main__':
    make_models(sys.argv[1])
    make_checkpoints(sys.argv[2])
