#!/usr/bin/env python3
"""make_convert_fixtures.py: small malformed inputs for `bark convert` (tests/data/convert_bad/).

Each is refused with one clear line: a voice with float or out-of-range or wrongly shaped arrays, a Hugging
Face folder whose config.json is not JSON, and one whose weights hold a tensor Bark does not have.
"""
import json
import pathlib
import numpy as np
import torch
from safetensors.torch import save_file

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "tests" / "data" / "convert_bad"
out.mkdir(parents=True, exist_ok=True)
sem = np.arange(10, dtype=np.int64)
coarse = np.zeros((2, 6), dtype=np.int64)
fine = np.zeros((8, 6), dtype=np.int32)
np.savez(out / "float_voice.npz", semantic_prompt=sem.astype(np.float32), coarse_prompt=coarse, fine_prompt=fine)
np.savez(out / "range_voice.npz", semantic_prompt=sem + 10000, coarse_prompt=coarse, fine_prompt=fine)
np.savez(out / "shape_voice.npz", semantic_prompt=sem, coarse_prompt=np.zeros((3, 6), np.int64), fine_prompt=fine)
np.savez(out / "missing_voice.npz", semantic_prompt=sem, coarse_prompt=coarse)
bad_json = out / "hf_bad_json"
bad_json.mkdir(exist_ok=True)
(bad_json / "config.json").write_text('{"semantic_config": {"num_layers": 2,}')
alien = out / "hf_alien_tensor"
alien.mkdir(exist_ok=True)
(alien / "config.json").write_text(json.dumps({"semantic_config": {}, "coarse_acoustics_config": {},
                                               "fine_acoustics_config": {}}))
save_file({"semantic.not_a_bark_tensor.weight": torch.zeros(4, 4)}, str(alien / "model.safetensors"))
print("written to", out)
