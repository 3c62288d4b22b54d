"""Cross-checks the PyTorch BigBird-Pegasus reference (torch_pegasus.py) before it is used as a benchmark
baseline: logits of tests/data/hf-golden/h_pegasus_512 (train mode with the stored random tables, eval
mode with zero tables, one incremental step through the KV cache) and the tokens of every case in
tests/data/generation (greedy and beam search). Exit status 1 on any mismatch.

  scripts/bench/run_torch_reference.sh scripts/bench/check_pegasus_golden.py
"""
import json
import os
import sys

import torch

torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_pegasus as tp  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")
bad = 0


def report(what, err, tol=1e-4):
    global bad
    ok = err <= tol
    bad += 0 if ok else 1
    print(f"{'ok ' if ok else 'BAD'} {what}: max|diff| {err:.3g}")


with torch.no_grad():
    d = os.path.join(ROOT, "hf-golden", "h_pegasus_512")
    model, cfg = tp.load(d)
    inp = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(d, "inputs.safetensors")).items()}
    out = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(d, "outputs.safetensors")).items()}
    tables = [out[f"rand_attn.encoder_layer{i}"].long() for i in range(cfg.encoder_layers)]
    enc = model.encode(inp["input_ids"], inp["attention_mask"], rand_attn=tables)
    report("h_pegasus_512 encoder_last_hidden_state", float((enc - out["encoder_last_hidden_state"]).abs().max()))
    logits, _ = model.decode(inp["decoder_input_ids"], enc, inp["attention_mask"])
    report("h_pegasus_512 logits (train tables)", float((logits - out["logits"]).abs().max()))
    enc_eval = model.encode(inp["input_ids"], inp["attention_mask"], rand_mode="hf_eval")
    logits_eval, _ = model.decode(inp["decoder_input_ids"], enc_eval, inp["attention_mask"])
    report("h_pegasus_512 logits_eval", float((logits_eval - out["logits_eval"]).abs().max()))
    _, past = model.decode(inp["decoder_input_ids"][:, :-1], enc, inp["attention_mask"])
    step, _ = model.decode(inp["decoder_input_ids"][:, -1:], enc, inp["attention_mask"], past)
    report("h_pegasus_512 incremental.step_logits", float((step - out["incremental.step_logits"]).abs().max()))

    for fixture in ("bbp_tiny_b16r3_s11", "bbp_tiny_b16r3_s25"):
        d = os.path.join(ROOT, "generation", fixture)
        model, cfg = tp.load(d)
        with open(os.path.join(d, "expected.json")) as f:
            doc = json.load(f)
        same = 0
        for case in doc["cases"]:
            x = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(d, case["input"])).items()}
            enc = model.encode(x["input_ids"], x["attention_mask"], rand_mode="hf_eval")
            seqs, scores, _ = tp.generate(model, enc, x["attention_mask"], case["generation_config"])
            ok = seqs == case["expected"]["sequences"]
            if scores is not None:
                ok = ok and max(abs(a - b) for a, b in zip(scores, case["expected"]["sequence_scores"])) <= 1e-5
            same += ok
            if not ok:
                bad += 1
                print(f"BAD {fixture} {case['name']}")
        print(f"{'ok ' if same == len(doc['cases']) else 'BAD'} {fixture}: {same}/{len(doc['cases'])} generation cases identical")

print("FAILURES", bad)
sys.exit(1 if bad else 0)
