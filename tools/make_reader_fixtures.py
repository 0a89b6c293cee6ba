#!/usr/bin/env python3
"""make_reader_fixtures.py: writes the small checkpoint files tests/test_readers.c reads (tests/data/readers/).

Real writers make them (torch.save, safetensors, numpy); a few are hand-built (zip64, hostile pickles).
expected.txt lists, for each tensor the C test loads: loader, file, tensor, dtype, shape, first values.
Run: tools/.venv/bin/python tools/make_reader_fixtures.py
"""
import collections
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "readers")
DT = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
      torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
      torch.bool: "bool"}
NP_DT = {"float32": "f32", "float16": "f16", "float64": "f64", "int64": "i64", "int32": "i32",
         "int16": "i16", "int8": "i8", "uint8": "u8", "uint16": "u16", "bool": "bool"}
lines = []


def path(name):
    return os.path.join(OUT, name)


def expect(loader, fname, tname, dtype, shape, flat):
    vals = [repr(float(v)) for v in list(flat)[:6]]
    lines.append(" ".join([loader, fname, tname, dtype, str(len(shape))] + [str(d) for d in shape] +
                          [str(len(vals))] + vals))


def expect_torch(loader, fname, name, t):
    expect(loader, fname, name, DT[t.dtype], list(t.shape), t.detach().reshape(-1).float().tolist())


def expect_np(loader, fname, name, a):
    expect(loader, fname, name, NP_DT[str(a.dtype)], list(a.shape), a.reshape(-1, order="C").astype(np.float64))


def state_dict():
    g = torch.Generator().manual_seed(1)
    sd = collections.OrderedDict()
    sd["lin.weight"] = torch.randn(3, 4, generator=g)
    sd["lin.bias"] = torch.randn(3, generator=g).half()
    sd["emb.weight"] = torch.randn(2, 5, generator=g).bfloat16()
    sd["pos"] = torch.arange(-3, 3, dtype=torch.int64).reshape(2, 3)
    sd["attn.bias"] = torch.tril(torch.ones(1, 1, 4, 4, dtype=torch.bool))
    sd["scale"] = torch.tensor(2.5, dtype=torch.float64)
    sd["tied.a"] = sd["lin.weight"]          # two names, one storage
    sd["param"] = torch.nn.Parameter(torch.linspace(0, 1, 5))
    sd["row"] = torch.arange(12, dtype=torch.int32).reshape(3, 4)[1]  # a view at an offset
    sd["i16"] = torch.tensor([-2, 7], dtype=torch.int16)
    sd["i8"] = torch.tensor([-1, 3], dtype=torch.int8)
    sd["u8"] = torch.tensor([200, 3], dtype=torch.uint8)
    return sd


def write_torch():
    sd = state_dict()
    torch.save(sd, path("state.pt"))
    for k, t in sd.items():
        expect_torch("pt", "state.pt", k, t)
    # Suno's checkpoint layout: model (with _orig_mod. prefixes), model_args, optimizer, ...
    g = torch.Generator().manual_seed(2)
    model = collections.OrderedDict()
    model["_orig_mod.transformer.wte.weight"] = torch.randn(6, 4, generator=g)
    model["_orig_mod.transformer.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 8, 8, dtype=torch.bool))
    model["_orig_mod.lm_head.weight"] = model["_orig_mod.transformer.wte.weight"]
    model["_orig_mod.transformer.ln_f.weight"] = torch.ones(4)
    opt = {"state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros(6, 4), "exp_avg_sq": torch.ones(4)}},
           "param_groups": [{"lr": 6e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1,
                             "amsgrad": False, "foreach": None, "params": [0, 1]}]}
    ck = {"model": model,
          "model_args": {"n_layer": 1, "n_head": 2, "n_embd": 4, "block_size": 8, "bias": False,
                         "input_vocab_size": 6, "output_vocab_size": 6, "dropout": 0.0, "name": "tiny"},
          "iter_num": 123456789012, "best_val_loss": torch.tensor(1.25), "optimizer": opt,
          "config": {"batch_size": 8, "init_from": "scratch", "lr": 6e-4, "neg": -7}}
    torch.save(ck, path("suno.pt"))
    for k, t in model.items():
        expect_torch("ptmodel", "suno.pt", k[len("_orig_mod."):], t)


def write_safetensors():
    g = torch.Generator().manual_seed(3)
    ts = {"w": torch.randn(2, 3, generator=g), "h": torch.randn(4, generator=g).half(),
          "b": torch.randn(3, generator=g).bfloat16(), "ids": torch.tensor([[1, -2], [3, 2**40]]),
          "mask": torch.tensor([True, False, True]), "empty": torch.zeros(0, 3), "s": torch.tensor(7, dtype=torch.int32)}
    save_file(ts, path("model.safetensors"), metadata={"format": "pt"})
    for k, t in ts.items():
        expect_torch("safetensors", "model.safetensors", k, t)


def write_npy():
    a = np.arange(12, dtype=np.int64).reshape(3, 4) * 3 - 5
    np.save(path("c_order.npy"), a)
    expect_np("npy", "c_order.npy", "x", a)
    f = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7)
    assert f.flags["F_CONTIGUOUS"] and not f.flags["C_CONTIGUOUS"]
    np.save(path("f_order.npy"), f)
    expect_np("npy", "f_order.npy", "x", f)
    for ver in ((2, 0), (3, 0)):
        v = np.array([1.5, -2.25], dtype=np.float16)
        name = "v%d.npy" % ver[0]
        with open(path(name), "wb") as fh:
            np.lib.format.write_array(fh, v, version=ver)
        expect_np("npy", name, "x", v)
    np.save(path("bigendian.npy"), np.arange(3, dtype=">i4"))
    np.save(path("unicode.npy"), np.array(["ab", "c"]))
    np.save(path("structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))


def write_npz():
    arrs = {"semantic": np.array([5, 6, 7], dtype=np.int64),
            "coarse": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
            "fine": np.arange(8, dtype=np.int32).reshape(4, 2), "flt": np.array([0.5, -1.0], dtype=np.float32),
            "flag": np.array([True, False]), "u16": np.array([65535, 1], dtype=np.uint16)}
    np.savez(path("stored.npz"), **arrs)
    np.savez_compressed(path("compressed.npz"), **arrs)
    for k, a in arrs.items():
        expect_np("npz", "stored.npz", k, a)
        expect_np("npz", "compressed.npz", k, a)
    np.savez(path("object.npz"), ok=np.zeros(2, dtype=np.float32), bad=np.array([{"a": 1}, None], dtype=object))
    # A zip comment after the directory.
    with zipfile.ZipFile(path("comment.npz"), "w") as z:
        bio = io.BytesIO()
        np.save(bio, np.array([3.0, 4.0]))
        z.writestr("v.npy", bio.getvalue())
        z.comment = b"made by make_reader_fixtures.py"
    expect_np("npz", "comment.npz", "v", np.array([3.0, 4.0]))
    write_zip64(path("zip64.npz"), {"a.npy": npy_bytes(np.array([1, 2, 3], dtype=np.int16)),
                                    "b.npy": npy_bytes(np.array([[9.5]], dtype=np.float64))})
    expect_np("npz", "zip64.npz", "a", np.array([1, 2, 3], dtype=np.int16))
    expect_np("npz", "zip64.npz", "b", np.array([[9.5]], dtype=np.float64))


def npy_bytes(a):
    bio = io.BytesIO()
    np.save(bio, a)
    return bio.getvalue()


def write_zip64(fname, members):
    """A stored zip whose every size and offset goes through ZIP64 fields, as > 4 GiB checkpoints do."""
    out, cd = bytearray(), bytearray()
    for name, data in members.items():
        nb, crc, off = name.encode(), zlib.crc32(data), len(out)
        lx = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(nb), len(lx)) + nb + lx + data
        cx = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(nb), len(cx), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cx
    cd_off = len(out)
    out += cd
    eocd64 = len(out)
    n = len(members)
    out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, n, n, len(cd), cd_off)
    out += struct.pack("<IIQI", 0x07064b50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(fname, "wb") as fh:
        fh.write(out)


def write_hostile():
    """torch-shaped archives whose data.pkl a safe reader must refuse."""
    evil = (b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.")
    opcode = b"\x80\x02I42\n."                       # INT (text) is not allowed
    cyclic = b"\x80\x02]q\x00h\x00a."                 # a list appended to itself
    for name, pkl in (("evil.pt", evil), ("opcode.pt", opcode), ("cyclic.pt", cyclic)):
        with zipfile.ZipFile(path(name), "w") as z:
            z.writestr(name[:-3] + "/data.pkl", pkl)
            z.writestr(name[:-3] + "/version", b"3\n")
    # A storage whose tensor view reaches past its end (sizes 2x4 over 6 floats).
    buf = io.BytesIO()
    torch.save(collections.OrderedDict(w=torch.zeros(6)), buf)
    src = zipfile.ZipFile(buf)
    pkl = src.read("archive/data.pkl")
    # size (6,) -> (8,): BININT1 6 appears as numel and as the size; patch the size tuple "K\x06\x85".
    assert pkl.count(b"K\x06\x85") == 1
    pkl = pkl.replace(b"K\x06\x85", b"K\x08\x85")
    with zipfile.ZipFile(path("overrun.pt"), "w") as z:
        for i in src.infolist():
            z.writestr(i.filename, pkl if i.filename.endswith("data.pkl") else src.read(i.filename))
    # A big-endian checkpoint marker.
    with zipfile.ZipFile(path("bigendian.pt"), "w") as z:
        for i in src.infolist():
            z.writestr(i.filename, src.read(i.filename))
        z.writestr("archive/byteorder", b"big")


def write_corpora():
    """Seeds for tests/fuzz/fuzz_{safetensors,pickle,npz,json} (small files, from the fixtures above)."""
    corpus = os.path.join(OUT, "..", "..", "fuzz", "corpus")

    def put(kind, name, data):
        os.makedirs(os.path.join(corpus, kind), exist_ok=True)
        with open(os.path.join(corpus, kind, name), "wb") as fh:
            fh.write(data)

    def read(name):
        with open(path(name), "rb") as fh:
            return fh.read()

    put("safetensors", "model.safetensors", read("model.safetensors"))
    for name in ("stored.npz", "compressed.npz", "comment.npz", "zip64.npz", "object.npz", "c_order.npy",
                 "f_order.npy", "v3.npy"):
        put("npz", name, read(name))
    # fuzz_pickle: byte 0 even = a whole archive; odd = a bare data.pkl whose storages fuzz_pickle.c
    # provides as a/data/<k> of 8*(k+1) bytes, so these state dicts use exactly those sizes.
    for name in ("state.pt", "suno.pt", "evil.pt"):
        put("pickle", name, b"\x00" + read(name))
    sd = collections.OrderedDict()
    sd["_orig_mod.w"] = torch.ones(2)                                   # key 0: 8 bytes
    sd["h"] = torch.ones(8).half()                                      # key 1: 16 bytes
    sd["ids"] = torch.arange(3)                                         # key 2: 24 bytes
    sd["attn.bias"] = torch.ones(1, 1, 4, 8, dtype=torch.bool)          # key 3: 32 bytes
    sd["row"] = torch.ones(20).bfloat16()[4:]                           # key 4: 40 bytes, offset 4
    sd["tied"] = sd["_orig_mod.w"]
    sd["p"] = torch.nn.Parameter(torch.zeros(12))                       # key 5: 48 bytes
    for name, obj in (("raw_state", sd), ("raw_suno", {"model": sd, "model_args": {"n_layer": 2, "bias": True},
                                                       "iter_num": 2**40, "best_val_loss": 0.5,
                                                       "optimizer": {"state": {0: {"exp_avg": torch.zeros(7, 2).t()}},  # key 6: 56 bytes, transposed
                                                                     "param_groups": [{"betas": (0.9, 0.95)}]}})):
        bio = io.BytesIO()
        torch.save(obj, bio)
        z = zipfile.ZipFile(bio)
        put("pickle", name, b"\x01" + z.read("archive/data.pkl"))
    put("json", "config.json", b'{"architectures": ["BarkModel"], "semantic_config": {"num_layers": 2, "dropout": 0.0,'
        b' "bias": false, "vocab": 10048}, "name": "suno/bark-small", "eps": 1e-05, "ids": [1, -2, 3.5]}')
    put("json", "index.json", b'{"metadata": {"total_size": 4500000000}, "weight_map": {"a.weight": "model-1.safetensors",'
        b' "b.bias": "model-2.safetensors"}}')
    put("json", "escapes.json", b'["\\u00e9\\ud83d\\ude00\\n\\"", null, true, -0, 1E+2, {"": {}}, [[[]]]]')


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    write_torch()
    write_safetensors()
    write_npy()
    write_npz()
    write_hostile()
    write_corpora()
    with open(path("expected.txt"), "w") as fh:
        fh.write("# loader file tensor dtype n_dims dims... n_values values... (written by make_reader_fixtures.py)\n")
        fh.write("\n".join(lines) + "\n")
    print("wrote %d expectations to %s" % (len(lines), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
