#!/usr/bin/env python3
"""make_encodec_goldens.py: writes tests/data/encodec/*.npy, the reference outputs of Meta's `encodec`
package (EncodecModel.encodec_model_24khz, pretrained=False) with deterministic weights that
src/codec/encodec_weights.c (encodec_init_random) reproduces bit for bit.

Run from the repository root: tools/.venv/bin/python tools/make_encodec_goldens.py
"""
import os
import sys

import numpy as np
import torch
from encodec import EncodecModel

SEED = 0x0EC0DEC
OUT = "tests/data/encodec"
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(x):
    """splitmix64 finaliser of x + golden gamma, on uint64 numpy arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def generate(name, shape, scale):
    """The values encodec_init_random stores for tensor `name` (PyTorch shape, C order)."""
    base = mix64(np.array([SEED ^ fnv1a64(name)], dtype=np.uint64))[0]
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        u = mix64(base + np.arange(n, dtype=np.uint64))
    v = ((u >> np.uint64(40)).astype(np.float64) * (1.0 / 8388608.0) - 1.0).astype(np.float32)
    return (v * np.float32(scale)).reshape(shape)


def gguf_name(key):
    """Original state-dict key -> bark GGUF tensor name (models/FORMAT.md); None for training buffers."""
    if key.startswith("quantizer."):
        parts = key.split(".")  # quantizer.vq.layers.<q>._codebook.embed
        return f"encodec.quantizer.{parts[3]}.embed" if parts[-1] == "embed" else None
    k = key.replace(".conv.conv.", ".").replace(".convtr.convtr.", ".")
    k = k.replace(".block.1.", ".block1.").replace(".block.3.", ".block3.").replace(".model.", ".")
    return "encodec." + k


def scale_of(name, shape):
    if ".quantizer." in name:
        return 1.0
    if ".lstm." in name:
        return float(np.float32(1.0 / np.sqrt(np.float64(shape[-1] if "weight" in name else shape[0] // 4))))
    if name.endswith(".bias"):
        return float(np.float32(0.05))
    transposed = name.startswith("encodec.decoder.") and name.split(".")[2] in ("3", "6", "9", "12")
    if transposed:  # [cin][cout][k]
        return float(np.float32(np.sqrt(3.0 / (2.0 * shape[0]))))
    return float(np.float32(np.sqrt(3.0 / (float(shape[1]) * shape[2]))))


def build_model():
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    for mod in model.modules():
        if hasattr(mod, "weight_g"):
            torch.nn.utils.remove_weight_norm(mod)
    sd = model.state_dict()
    new = {}
    probes = {}
    for key, val in sd.items():
        name = gguf_name(key)
        if name is None:
            new[key] = val
            continue
        shape = tuple(val.shape)
        w = generate(name, shape, scale_of(name, shape))
        new[key] = torch.from_numpy(w.copy())
        probes[name] = w.reshape(-1)[:4]
    model.load_state_dict(new)
    model.eval()
    return model, probes


def cross_check_hf(model, codes, wav):
    """Runs transformers' EncodecModel with the same weights and prints how far it is from `encodec`."""
    from transformers import EncodecConfig, EncodecModel as HFEncodec

    hf = HFEncodec(EncodecConfig())
    for mod in hf.modules():
        if hasattr(mod, "weight_g"):
            torch.nn.utils.remove_weight_norm(mod)
    sd = {}
    for key, val in model.state_dict().items():
        k = key.replace(".model.", ".layers.").replace(".conv.conv.", ".conv.").replace(".convtr.convtr.", ".conv.")
        sd[k.replace("quantizer.vq.layers.", "quantizer.layers.").replace("._codebook.", ".codebook.")] = val
    hf.load_state_dict(sd)
    hf.eval()
    c = torch.from_numpy(codes.astype(np.int64))[:, None, :]
    a = model.decoder(model.quantizer.decode(c))
    b = hf.decoder(hf.quantizer.decode(c))
    x = torch.from_numpy(wav)[None, None, :]
    za, zb = model.encoder(x), hf.encoder(x)
    same = torch.equal(model.quantizer.vq.encode(za, n_q=32), hf.quantizer.encode(zb, bandwidth=24.0))
    print(f"transformers vs encodec: decode max |diff| {float((a - b).abs().max()):.3g}, "
          f"latent max |diff| {float((za - zb).abs().max()):.3g}, 24 kbps codes identical: {same}", file=sys.stderr)


def save(name, arr):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(arr))


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    model, probes = build_model()

    # generator probes: first 4 values of a few tensors (checked by the C test against encodec_init_random)
    names = ["encodec.encoder.0.weight", "encodec.decoder.3.weight", "encodec.decoder.1.lstm.weight_hh_l1",
             "encodec.quantizer.7.embed", "encodec.decoder.13.shortcut.bias"]
    save("probe.npy", np.stack([probes[n] for n in names]).astype(np.float32))

    with torch.no_grad():
        def decode(codes):
            emb = model.quantizer.decode(torch.from_numpy(codes.astype(np.int64))[:, None, :])
            return model.decoder(emb)[0, 0].numpy().astype(np.float32)

        rng = np.random.RandomState(1234)
        codes_a = rng.randint(0, 1024, size=(8, 40)).astype(np.int32)
        save("codes_rand.npy", codes_a)
        save("audio_rand.npy", decode(codes_a))
        for T in (1, 3, 6):
            save(f"audio_rand_T{T}.npy", decode(codes_a[:, :T]))

        voice = np.load("models/voices/v2/en_speaker_0.npz")
        codes_b = voice["fine_prompt"][:, :40].astype(np.int32)
        save("codes_voice.npy", codes_b)
        save("audio_voice.npy", decode(codes_b))

        n = 24123
        t = np.arange(n, dtype=np.float64) / 24000.0
        wav = 0.5 * np.sin(2 * np.pi * (110.0 * t + 1500.0 * t * t)) + 0.05 * np.random.RandomState(99).randn(n)
        wav = wav.astype(np.float32)
        save("wave.npy", wav)
        x = torch.from_numpy(wav)[None, None, :]
        emb = model.encoder(x)
        save("latent.npy", emb[0].numpy().astype(np.float32))
        save("codes_6k.npy", model.quantizer.vq.encode(emb, n_q=8)[:, 0].numpy().astype(np.int32))
        save("codes_24k.npy", model.quantizer.vq.encode(emb, n_q=32)[:, 0].numpy().astype(np.int32))
        for N in (1, 7, 319, 320, 321, 640, 2239, 2241):
            e = model.encoder(x[..., :N])
            save(f"latent_N{N}.npy", e[0].numpy().astype(np.float32))
        cross_check_hf(model, codes_a, wav)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
