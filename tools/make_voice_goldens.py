#!/usr/bin/env python3
"""make_voice_goldens.py: checksums of every voice preset in models/voices, read with numpy (the reference).

Writes tests/data/voices/voices.txt, one line per preset:
  name n_semantic T_coarse T_fine sum(sem) wsum(sem) sum(coarse) wsum(coarse) sum(fine) wsum(fine)
where wsum = sum((i+1) * v) over the array flattened in C (row-major) order, as int64.
"""
import pathlib
import numpy as np

root = pathlib.Path(__file__).resolve().parent.parent
voices = root / "models" / "voices"
lines = []
for path in sorted(voices.rglob("*.npz")):
    name = str(path.relative_to(voices).with_suffix(""))
    z = np.load(path)
    cols = []
    for key in ("semantic_prompt", "coarse_prompt", "fine_prompt"):
        a = np.ascontiguousarray(z[key]).astype(np.int64).ravel()
        w = np.arange(1, a.size + 1, dtype=np.int64)
        cols.append((int(a.sum()), int((a * w).sum())))
    s, c, f = (z[k] for k in ("semantic_prompt", "coarse_prompt", "fine_prompt"))
    lines.append(f"{name} {s.shape[0]} {c.shape[1]} {f.shape[1]} " + " ".join(f"{a} {b}" for a, b in cols))
(root / "tests" / "data" / "voices" / "voices.txt").write_text("\n".join(lines) + "\n")
print(len(lines), "voices")
