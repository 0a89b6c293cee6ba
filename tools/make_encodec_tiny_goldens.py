#!/usr/bin/env python3
"""make_encodec_tiny_goldens.py: reference outputs of the tiny random codec (n_filters 4, dimension 16) for
tests/test_encodec_tiny.c and the end-to-end `bark say` test (tests/test_say_e2e.c).

The reference is transformers' EncodecModel as BarkModel.from_pretrained("tests/data/tiny/hf").codec_model
loads it (what HF Bark decodes with); the same weights in Meta's `encodec` package
(tests/data/tiny/encodec/encodec_24khz-tiny.th) are run too and must agree. Writes tests/data/encodec/tiny_*.npy:
  tiny_codes.npy [8][40] int32, tiny_audio.npy: decode of them; tiny_codes32.npy [32][9], tiny_audio32.npy;
  tiny_codes_short.npy [8][3], tiny_audio_short.npy (shorter than the 7-frame kernel);
  tiny_wave.npy (8123 samples), tiny_latent.npy [16][26], tiny_codes_6k.npy [8][26], tiny_codes_24k.npy [32][26];
  tiny_say_head.npy, tiny_say_stride.npy: the reference decode of tests/data/gpt/greedy_novoice_fine.npy
  (Suno's greedy run, 526 frames), its first 1280 samples and every 64th sample (the whole audio is 168320
  samples: too big to commit for a check this one).

Run from the repository root: tools/.venv/bin/python tools/make_encodec_tiny_goldens.py
"""
import os
import sys

import numpy as np
import torch

OUT = "tests/data/encodec"
HF = "tests/data/tiny/hf"
TH = "tests/data/tiny/encodec/encodec_24khz-tiny.th"
FINE = "tests/data/gpt/greedy_novoice_fine.npy"
SAY_HEAD, SAY_STRIDE = 1280, 64


def save(name, arr):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(arr))


def hf_codec():
    from transformers import BarkModel
    m = BarkModel.from_pretrained(HF, torch_dtype=torch.float32).codec_model
    m.eval()
    return m


def meta_codec(cfg):
    """Meta's encodec classes at the tiny width, loaded strict from the .th (as tools/make_tiny_models.py builds it)."""
    import encodec
    from encodec import modules as em, quantization as eq
    enc = em.SEANetEncoder(channels=1, dimension=cfg.hidden_size, n_filters=cfg.num_filters, norm="weight_norm",
                           causal=True)
    dec = em.SEANetDecoder(channels=1, dimension=cfg.hidden_size, n_filters=cfg.num_filters, norm="weight_norm",
                           causal=True)
    q = eq.ResidualVectorQuantizer(dimension=cfg.hidden_size, n_q=cfg.num_quantizers, bins=cfg.codebook_size)
    m = encodec.EncodecModel(enc, dec, q, list(cfg.target_bandwidths), 24000, 1, normalize=False, segment=None,
                             name="encodec_24khz")
    m.load_state_dict(torch.load(TH), strict=True)
    m.eval()
    return m


def main():
    torch.set_num_threads(1)
    hf = hf_codec()
    meta = meta_codec(hf.config)
    worst = {"decode": 0.0, "latent": 0.0}

    def decode(codes):
        c = torch.from_numpy(codes.astype(np.int64))[:, None, :]
        a = hf.decoder(hf.quantizer.decode(c))[0, 0].numpy().astype(np.float32)
        b = meta.decoder(meta.quantizer.decode(c))[0, 0].numpy()
        worst["decode"] = max(worst["decode"], float(np.abs(a - b).max()))
        return a

    with torch.no_grad():
        rng = np.random.RandomState(4321)
        codes = rng.randint(0, 1024, size=(8, 40)).astype(np.int32)
        save("tiny_codes.npy", codes)
        save("tiny_audio.npy", decode(codes))
        codes32 = rng.randint(0, 1024, size=(32, 9)).astype(np.int32)
        save("tiny_codes32.npy", codes32)
        save("tiny_audio32.npy", decode(codes32))
        save("tiny_codes_short.npy", codes[:, :3])
        save("tiny_audio_short.npy", decode(codes[:, :3]))

        n = 8123
        t = np.arange(n, dtype=np.float64) / 24000.0
        wav = 0.6 * np.sin(2 * np.pi * (220.0 * t + 3000.0 * t * t)) + 0.05 * np.random.RandomState(7).randn(n)
        wav = wav.astype(np.float32)
        save("tiny_wave.npy", wav)
        x = torch.from_numpy(wav)[None, None, :]
        emb = hf.encoder(x)
        worst["latent"] = float((emb - meta.encoder(x)).abs().max())
        save("tiny_latent.npy", emb[0].numpy().astype(np.float32))
        c6 = hf.quantizer.encode(emb, bandwidth=6.0)[:, 0].numpy().astype(np.int32)
        c24 = hf.quantizer.encode(emb, bandwidth=24.0)[:, 0].numpy().astype(np.int32)
        assert c6.shape[0] == 8 and c24.shape[0] == 32
        assert np.array_equal(c24, meta.quantizer.vq.encode(meta.encoder(x), n_q=32)[:, 0].numpy())
        save("tiny_codes_6k.npy", c6)
        save("tiny_codes_24k.npy", c24)

        fine = np.load(FINE).astype(np.int32)
        audio = decode(fine)
        assert audio.shape[0] == 320 * fine.shape[1]
        save("tiny_say_head.npy", audio[:SAY_HEAD])
        save("tiny_say_stride.npy", audio[::SAY_STRIDE])
    print(f"transformers vs encodec package: decode max |diff| {worst['decode']:.3g}, latent max |diff| "
          f"{worst['latent']:.3g}, 24 kbps codes identical; greedy audio {audio.shape[0]} samples, "
          f"peak {np.abs(audio).max():.3f}, rms {np.sqrt((audio.astype(np.float64) ** 2).mean()):.4f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
