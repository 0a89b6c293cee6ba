#!/usr/bin/env python3
"""make_hubert_goldens.py: writes tests/data/hubert/: a tiny random HuBERT (transformers HubertModel with the
base model's structure: 7 convs with group norm on the first, post-LN layers, 128-tap grouped positional conv)
saved with save_pretrained, the hidden states after 9 layers for a fixed waveform, and two tiny random
quantizers (both published architectures of gitmylo's HuBERT quantizer, written here from that description:
2-layer LSTM -> [Linear -> ] Linear -> LogSoftmax) saved like its `save()` does (torch.save of the state dict
plus a "<name>/.info" JSON member), with their argmax tokens.

Run from the repository root: tools/.venv/bin/python tools/make_hubert_goldens.py
With --micro DIR it instead writes a micro model (1 layer, width 16) and a micro quantizer into DIR, the sources
of the fuzzing seed tests/fuzz/corpus/hubert/micro.gguf (`bark convert DIR/hf DIR/quant.pth -o micro.gguf
--type f32` once convert.c dispatches HuBERT sources).
"""
import sys
import json
import os
import zipfile

import numpy as np
import torch
from torch import nn
from transformers import HubertConfig, HubertModel

OUT = "tests/data/hubert"
OUTPUT_LAYER = 9  # the layer the quantizer reads (fairseq output_layer=9 == HF hidden_states[9])
HIDDEN = 32


class Quantizer(nn.Module):
    """The quantizer: version 0 = LSTM -> fc; version 1 = LSTM -> intermediate -> fc."""

    def __init__(self, input_size, hidden_size, output_size, version, inter_size):
        super().__init__()
        self.version = version
        self.lstm = nn.LSTM(input_size, hidden_size, 2, batch_first=True)
        if version == 1:
            self.intermediate = nn.Linear(hidden_size, inter_size)
        self.fc = nn.Linear(inter_size if version == 1 else hidden_size, output_size)

    def forward(self, x):  # x: [N, input] (unbatched, as the cloning code calls it)
        y, _ = self.lstm(x)
        if self.version == 1:
            y = self.intermediate(y)
        return torch.log_softmax(self.fc(y), dim=1)


def randomize(model, gen, gain=1.0):
    """Replaces every parameter with uniform noise (norm weights around 1) so no value is a trivial default;
    matrices get gain/sqrt(fan_in), vectors 0.1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan = p.shape[-1] if p.dim() > 1 else 1
            if p.dim() == 3:
                fan = p.shape[1] * p.shape[2]
            scale = gain / np.sqrt(fan) if p.dim() > 1 else 0.1
            v = (torch.rand(p.shape, generator=gen) * 2 - 1) * scale
            owner = name.split(".")[-2] if "." in name else ""
            if "norm" in owner and name.endswith("weight"):
                v = 1.0 + v
            if name.endswith("weight_g"):
                v = 0.5 + torch.rand(p.shape, generator=gen)
            p.copy_(v)


def save_quantizer(q, path, input_size, hidden_size, output_size, version):
    torch.save(q.state_dict(), path)
    info = os.path.splitext(os.path.basename(path))[0] + "/.info"
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(info, json.dumps({"input_size": input_size, "hidden_size": hidden_size,
                                     "output_size": output_size, "version": version}))


def fairseq_name(k):
    """transformers HubertModel name -> fairseq HubertModel name (hubert_base_ls960.pt's "model" dict)."""
    rules = [("pos_conv_embed.conv.", "pos_conv.0."),
             ("feature_extractor.conv_layers.0.layer_norm.", "feature_extractor.conv_layers.0.2."),
             (".conv.weight", ".0.weight"), ("feature_projection.layer_norm.", "layer_norm."),
             ("feature_projection.projection.", "post_extract_proj."),
             (".attention.", ".self_attn."), (".feed_forward.intermediate_dense.", ".fc1."),
             (".feed_forward.output_dense.", ".fc2.")]
    for a, b in rules:
        k = k.replace(a, b)
    if k.startswith("encoder.layers.") and ".layer_norm." in k:
        k = k.replace(".layer_norm.", ".self_attn_layer_norm.")
    return k


def save_fairseq(model, cfg, path):
    """A checkpoint in fairseq's layout: {"model": state dict, "cfg": {"model": {...}}} (plain containers)."""
    sd = {fairseq_name(k): v.clone() for k, v in model.state_dict().items() if k != "masked_spec_embed"}
    sd["mask_emb"] = torch.zeros(cfg.hidden_size)
    sd["label_embs_concat"] = torch.zeros(4, 8)
    sd["final_proj.weight"] = torch.zeros(8, cfg.hidden_size)
    mcfg = {"_name": "hubert", "extractor_mode": "default", "conv_bias": False, "layer_norm_first": False,
            "conv_feature_layers": "[(16,10,5)] + [(16,3,2)] * 4 + [(16,2,2)] * 2",
            "encoder_layers": cfg.num_hidden_layers, "encoder_embed_dim": cfg.hidden_size,
            "encoder_ffn_embed_dim": cfg.intermediate_size, "encoder_attention_heads": cfg.num_attention_heads,
            "conv_pos": cfg.num_conv_pos_embeddings, "conv_pos_groups": cfg.num_conv_pos_embedding_groups}
    torch.save({"model": sd, "cfg": {"model": mcfg}}, path)


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20260707)
    cfg = HubertConfig(hidden_size=HIDDEN, num_hidden_layers=10, num_attention_heads=4, intermediate_size=64,
                       conv_dim=(16,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
                       conv_bias=False, feat_extract_norm="group", feat_proj_layer_norm=True,
                       num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, do_stable_layer_norm=False,
                       hidden_act="gelu", feat_extract_activation="gelu", layer_norm_eps=1e-5)
    model = HubertModel(cfg).eval()
    randomize(model, gen)
    model.save_pretrained(f"{OUT}/tiny_hf", safe_serialization=True)
    save_fairseq(model, cfg, f"{OUT}/tiny_fairseq.pt")

    rs = np.random.RandomState(7)
    n = 16123
    t = np.arange(n) / 16000.0
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1375 * t + 1.0)
            + 0.05 * rs.randn(n)).astype(np.float32)
    np.save(f"{OUT}/wave.npy", wave)
    with torch.no_grad():
        out = model(torch.from_numpy(wave)[None], output_hidden_states=True)
    hidden = out.hidden_states[OUTPUT_LAYER][0].numpy().astype(np.float32)
    np.save(f"{OUT}/hidden9.npy", hidden)
    print(f"hidden states {hidden.shape}, max |h| {np.abs(hidden).max():.3f}")

    for version, hid, inter in ((0, 48, 0), (1, 40, 64)):
        q = Quantizer(HIDDEN, hid, 200, version, inter).eval()
        randomize(q, gen, gain=4.0)
        with torch.no_grad():
            logp = q(torch.from_numpy(hidden))
        top2 = torch.topk(logp, 2, dim=1).values
        tokens = torch.argmax(logp, dim=1).numpy().astype(np.int32)
        print(f"quantizer v{version}: {len(tokens)} tokens, {len(set(tokens.tolist()))} distinct, "
              f"smallest top-2 gap {float((top2[:, 0] - top2[:, 1]).min()):.3g}")
        save_quantizer(q, f"{OUT}/quant_v{version}.pth", HIDDEN, hid, 200, version)
        np.save(f"{OUT}/tokens_v{version}.npy", tokens)


def micro(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    cfg = HubertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                       conv_dim=(8,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
                       conv_bias=False, feat_extract_norm="group", num_conv_pos_embeddings=8,
                       num_conv_pos_embedding_groups=2)
    model = HubertModel(cfg).eval()
    randomize(model, gen)
    model.save_pretrained(f"{out}/hf", safe_serialization=True)
    q = Quantizer(16, 8, 16, 1, 8).eval()
    randomize(q, gen, gain=4.0)
    save_quantizer(q, f"{out}/quant.pth", 16, 8, 16, 1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--micro":
        micro(sys.argv[2])
    else:
        main()
