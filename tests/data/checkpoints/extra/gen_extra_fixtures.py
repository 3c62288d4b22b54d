#!/usr/bin/env python3
"""Extra PyTorch fixtures for the checkpoint loader's refusal and container tests.
Run with Debian's torch: /usr/bin/python3 gen_extra_fixtures.py (from this directory).
Nothing here is ever unpickled by Python in the tests; the C++ reader must refuse or read them."""
import collections, json, os, pickle, zipfile
import torch

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "..", "pytorch", "generated_torch_1.13.1", "tiny_bigbird_state_dict_zip.bin")
torch.manual_seed(0)


class M(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.l = torch.nn.Linear(2, 2)

    def forward(s, x):
        return s.l(x)


# 1. TorchScript archive (has code/ and constants.pkl): must be refused.
torch.jit.save(torch.jit.trace(M(), torch.zeros(1, 2)), os.path.join(here, "torchscript_traced.pt"))
# 2. A whole pickled nn.Module (global __main__.M): must be refused naming the global.
torch.save(M(), os.path.join(here, "whole_module.pt"))


# 3. A pickle that would run os.system on torch.load(weights_only=False): refused, nothing runs.
class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


with zipfile.ZipFile(os.path.join(here, "malicious_os_system.pt"), "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps(collections.OrderedDict(w=Evil()), protocol=2))
    z.writestr("archive/version", "3\n")

# 4. The tiny BigBird state_dict with every entry re-compressed with deflate (zip tools do this).
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(here, "tiny_bigbird_state_dict_deflated.bin"), "w",
                                                  compression=zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info.filename, zin.read(info.filename))

# 5. The same state_dict sharded the way transformers does it (pytorch_model.bin.index.json).
sd = torch.load(src)
keys = list(sd.keys())
shards = {"pytorch_model-00001-of-00002.bin": keys[: len(keys) // 2], "pytorch_model-00002-of-00002.bin": keys[len(keys) // 2:]}
os.makedirs(os.path.join(here, "tiny_bigbird_sharded"), exist_ok=True)
weight_map, total = {}, 0
for fname, ks in shards.items():
    part = collections.OrderedDict((k, sd[k].clone()) for k in ks)
    torch.save(part, os.path.join(here, "tiny_bigbird_sharded", fname))
    for k in ks:
        weight_map[k] = fname
        total += sd[k].numel() * sd[k].element_size()
with open(os.path.join(here, "tiny_bigbird_sharded", "pytorch_model.bin.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
print("ok")
