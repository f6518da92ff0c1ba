#!/usr/bin/env python3
"""Trains a small multilingual-e5-style retriever on KorQuAD, for bench/precision_retrieval.sh: with no real model
downloadable here, a trained one is the nearest stand-in for measuring what bf16 and int8 do to retrieval (random
weights have no ranking to lose).

Every third KorQuAD article is held out: the model trains on the others' question → paragraph pairs, plus
inverse-cloze pairs (a sentence of a paragraph → the rest of it), and the held-out articles are written as a SQuAD
file for `ksearch eval`.  The model is a BERT (post-LN, erf GELU, mean pooling, `query: ` / `passage: `) over the
fixtures' 4,000-piece Korean/English sentencepiece, trained with in-batch negatives for a fixed number of steps
(seeded; about 5 s a step on 2 threads), and saved in Hugging Face layout by tools/tiny-models (the folder
layout the fixtures use).

Debian's python3-torch multiplies through libblas.so.3, the reference BLAS unless OpenBLAS is installed: with
libopenblas0-pthread (or LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread) its products are about 15 times
faster, and a step takes seconds rather than half a minute.

usage: train_retriever.py OUT_DIR [--steps N] [--layers L] [--hidden H] [--checkpoints N,N,...]
Writes OUT_DIR/model (the model folder) and OUT_DIR/heldout.json; each checkpoint step N also writes
OUT_DIR/model-N, so one run shows how fusion weights move as the dense leg improves."""
import argparse, json, math, os, random, re, sys
import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument('out')
parser.add_argument('--steps', type=int, default=300)
parser.add_argument('--layers', type=int, default=4)
parser.add_argument('--hidden', type=int, default=256)
parser.add_argument('--checkpoints', default='', help='comma-separated steps at which to save a model-N folder too')
args = parser.parse_args()
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, os.path.join(root, 'tools', 'tiny-models'))
from make_tiny_models import bert_like_config, write_model_dir  # noqa: E402
import sentencepiece as spm  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
random.seed(0)
spm_path = os.path.join(root, 'tests', 'data', 'fixtures', 'tiny-e5-bert', 'sentencepiece.bpe.model')
sp = spm.SentencePieceProcessor(model_file=spm_path)
QUERY_TOKENS, PASSAGE_TOKENS = 48, 256


def encode(text, limit):  # XLM-R ids: piece i -> i + 1, unknown -> 3, <s> … </s>
    ids = [i + 1 if i != 0 else 3 for i in sp.encode(text)][: limit - 2]
    return [0] + ids + [2]


squad = json.load(open(os.path.join(root, 'tests', 'data', 'korquad-v1-dev', 'KorQuAD_v1.0_dev.json')))
train_articles = [a for i, a in enumerate(squad['data']) if i % 3 != 0]
heldout = {'version': squad.get('version', ''), 'data': [a for i, a in enumerate(squad['data']) if i % 3 == 0]}
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, 'heldout.json'), 'w') as f:
    json.dump(heldout, f, ensure_ascii=False)

pairs = []  # (query text, passage text)
for article in train_articles:
    for paragraph in article['paragraphs']:
        context = paragraph['context']
        pairs += [(qa['question'], context) for qa in paragraph['qas']]
        sentences = [s for s in re.split(r'(?<=[.?!])\s+', context) if len(s) > 20]
        for s in sentences:  # inverse cloze: the sentence, and (mostly) the paragraph without it
            pairs.append((s, context.replace(s, '') if random.random() < 0.9 else context))
print(f'{len(pairs)} training pairs from {len(train_articles)} articles; '
      f'{sum(len(p["qas"]) for a in heldout["data"] for p in a["paragraphs"])} held-out questions', flush=True)

cfg = bert_like_config('bert', args.hidden, args.layers, args.hidden // 64, 4 * args.hidden, sp.vocab_size() + 2 + 35,
                       512, 2, 1e-12, 0)
H, FFN, HEADS = cfg['hidden_size'], cfg['intermediate_size'], cfg['num_attention_heads']


class Bert(torch.nn.Module):
    """BertModel's computation with its parameter names (so the state dict is the safetensors file)."""

    def __init__(self):
        super().__init__()
        self.p = torch.nn.ParameterDict()

        def add(name, *shape, init='normal'):
            t = torch.empty(*shape)
            if init == 'normal':
                torch.nn.init.normal_(t, std=0.02)
            else:
                torch.nn.init.constant_(t, 1.0 if init == 'one' else 0.0)
            self.p[name.replace('.', '__')] = torch.nn.Parameter(t)

        add('embeddings.word_embeddings.weight', cfg['vocab_size'], H)
        add('embeddings.position_embeddings.weight', 512, H)
        add('embeddings.token_type_embeddings.weight', 2, H)
        for name in ['embeddings.LayerNorm'] + [f'encoder.layer.{i}.{n}' for i in range(args.layers)
                                                for n in ('attention.output.LayerNorm', 'output.LayerNorm')]:
            add(name + '.weight', H, init='one')
            add(name + '.bias', H, init='zero')
        for i in range(args.layers):
            for name, (rows, cols) in {'attention.self.query': (H, H), 'attention.self.key': (H, H),
                                       'attention.self.value': (H, H), 'attention.output.dense': (H, H),
                                       'intermediate.dense': (FFN, H), 'output.dense': (H, FFN)}.items():
                add(f'encoder.layer.{i}.{name}.weight', rows, cols)
                add(f'encoder.layer.{i}.{name}.bias', rows, init='zero')

    def w(self, name):
        return self.p[name.replace('.', '__')]

    def lin(self, x, name):
        return F.linear(x, self.w(name + '.weight'), self.w(name + '.bias'))

    def ln(self, x, name):
        return F.layer_norm(x, (H,), self.w(name + '.weight'), self.w(name + '.bias'), cfg['layer_norm_eps'])

    def forward(self, ids, mask):  # mean-pooled, L2-normalised sentence embeddings
        B, T = ids.shape
        x = self.w('embeddings.word_embeddings.weight')[ids] + self.w('embeddings.position_embeddings.weight')[:T] \
            + self.w('embeddings.token_type_embeddings.weight')[0]
        x = F.dropout(self.ln(x, 'embeddings.LayerNorm'), 0.1, self.training)
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        for i in range(args.layers):
            p = f'encoder.layer.{i}.'
            q, k, v = (self.lin(x, p + 'attention.self.' + n).view(B, T, HEADS, -1).transpose(1, 2)
                       for n in ('query', 'key', 'value'))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // HEADS) + bias, dim=-1) @ v
            a = self.lin(a.transpose(1, 2).reshape(B, T, H), p + 'attention.output.dense')
            a = F.dropout(a, 0.1, self.training)
            x = self.ln(a + x, p + 'attention.output.LayerNorm')
            h = self.lin(F.gelu(self.lin(x, p + 'intermediate.dense')), p + 'output.dense')
            x = self.ln(F.dropout(h, 0.1, self.training) + x, p + 'output.LayerNorm')
        m = mask.unsqueeze(-1).float()
        return F.normalize((x * m).sum(1) / m.sum(1), dim=-1)


def batch_of(texts, prefix, limit):
    ids = [encode(prefix + t, limit) for t in texts]
    T = max(len(x) for x in ids)
    out, mask = torch.zeros(len(ids), T, dtype=torch.long), torch.zeros(len(ids), T, dtype=torch.long)
    for i, x in enumerate(ids):
        out[i, :len(x)], mask[i, :len(x)] = torch.tensor(x), 1
    return out, mask


model = Bert()
checkpoints = {int(n) for n in args.checkpoints.split(',') if n}


def save(folder):
    weights = {name.replace('__', '.'): t.detach().numpy().copy() for name, t in model.p.items()}
    write_model_dir(os.path.join(args.out, folder), cfg, weights, spm_path, 'mean', 512)


optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)
BATCH, WARMUP = 48, 50
step = 0
while step < args.steps:
    random.shuffle(pairs)
    for first in range(0, len(pairs) - BATCH + 1, BATCH):
        if step == args.steps:
            break
        chunk = pairs[first:first + BATCH]
        if len({p for _, p in chunk}) < BATCH:  # two pairs of one paragraph would be each other's false negatives
            continue
        queries, passages = batch_of([q for q, _ in chunk], 'query: ', QUERY_TOKENS), \
            batch_of([p for _, p in chunk], 'passage: ', PASSAGE_TOKENS)
        model.train()
        scores = model(*queries) @ model(*passages).T / 0.05
        loss = F.cross_entropy(scores, torch.arange(len(chunk)))
        for group in optimizer.param_groups:
            group['lr'] = 5e-4 * min(1.0, (step + 1) / WARMUP)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 20 == 0:
            print(f'step {step} loss {loss.item():.3f}', flush=True)
        if step in checkpoints and step < args.steps:
            save(f'model-{step}')

save('model')
print(f'trained {step} steps of {BATCH} pairs; model in {args.out}/model', flush=True)
