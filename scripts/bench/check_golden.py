"""Cross-check torch_bigbird.py against the HuggingFace golden outputs in tests/data/hf-golden.

For every BigBird (non-Pegasus) case: load config.json + model.safetensors, feed inputs.safetensors with the
case's own rand_attn.layer{i} tables, and print the max-abs error of every float output (plus loss and
gradients for g_grad_mlm_512). Also checks that random_blocks.py regenerates the stored tables exactly.
Fails (exit 1) when any error exceeds --atol (default 1e-4).

Run: scripts/bench/run_torch_reference.sh scripts/bench/check_golden.py [--dir tests/data/hf-golden]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_blocks  # noqa: E402
import torch_bigbird as tb  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data", "hf-golden"))
QA_MASK_OFFSET = 1e6


def rand_tables(outputs, layers):
    names = [f"rand_attn.layer{i}" for i in range(layers)]
    if not all(n in outputs for n in names):
        return None
    return [torch.from_numpy(np.array(outputs[n])).long() for n in names]


def check_generator(case, cfg, outputs, padded_len):
    """random_blocks.py must reproduce the stored tables exactly (train: seeded, eval: zeros)."""
    mode = "hf_eval" if case["mode"] == "eval" else "hf_train"
    bad = []
    for i in range(cfg.num_hidden_layers):
        stored = outputs.get(f"rand_attn.layer{i}")
        if stored is None:
            continue
        mine = random_blocks.table(i, padded_len, cfg.block_size, cfg.num_random_blocks, cfg.num_attention_heads,
                                   cfg.max_position_embeddings, mode)
        if mine.shape != stored.shape or not np.array_equal(mine, stored):
            bad.append(i)
    return mode, bad


def compare(name, mine, ref, rows):
    mine = mine.detach().double().numpy()
    ref = np.asarray(ref, dtype=np.float64)
    if mine.shape != ref.shape:
        rows.append((name, float("inf"), f"shape {mine.shape} vs {ref.shape}"))
        return
    rows.append((name, float(np.max(np.abs(mine - ref))) if mine.size else 0.0, ""))


def compare_qa(name, mine, ref, qmask, rows):
    """Question positions hold logit - 1e6: fp32 spacing there is 0.0625, so compare them relatively."""
    mine, ref = mine.detach().double().numpy(), np.asarray(ref, dtype=np.float64)
    keep = qmask == 0
    rows.append((name, float(np.max(np.abs(mine[keep] - ref[keep]))), ""))
    if (~keep).any():
        rel = np.max(np.abs(mine[~keep] - ref[~keep]) / np.abs(ref[~keep]))
        rows.append((f"{name}[question, rel]", float(rel), "relative"))


def run_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    model, cfg = tb.load_model(case_dir)
    inputs = tb.load_inputs(os.path.join(case_dir, "inputs.safetensors"))
    outputs = read_safetensors(os.path.join(case_dir, "outputs.safetensors"))
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    seq = ids.shape[1]
    bert = model.bert
    used = bert.attention_used(seq)
    padded = seq + ((cfg.block_size - seq % cfg.block_size) % cfg.block_size if used == "block_sparse" else 0)
    tables = rand_tables(outputs, cfg.num_hidden_layers) if used == "block_sparse" else None
    if used == "block_sparse" and tables is None:
        raise ValueError(f"{case_dir}: block_sparse case without rand_attn.layer* outputs")

    rows, notes = [], [f"attention {used}" + (f", padded {seq}->{padded}" if padded != seq else "")]
    if tables is not None:
        mode, bad = check_generator(case, cfg, outputs, padded)
        rows.append((f"rand_attn regenerated ({mode})", 0.0 if not bad else float("inf"),
                     "exact" if not bad else f"layers {bad} differ"))

    labels = inputs.get("labels")
    with torch.set_grad_enabled(labels is not None):
        kw = dict(rand_attn=tables, output_hidden_states=True, output_attentions=True)
        out = model(ids, mask, labels=labels, **kw) if labels is not None else model(ids, mask, **kw)
    if out["attention_type_used"] != case["attention_type_used"]:
        rows.append(("attention type", float("inf"), f"{out['attention_type_used']} vs {case['attention_type_used']}"))

    for name in ("last_hidden_state", "pooler_output", "logits", "loss"):
        if name in outputs:
            compare(name, out[name], outputs[name], rows)
    for i, h in enumerate(out.get("hidden_states", [])):
        if f"hidden_states.{i}" in outputs:
            compare(f"hidden_states.{i}", h, outputs[f"hidden_states.{i}"], rows)
    for i, a in enumerate(out.get("attentions", [])):
        if f"attentions.layer{i}" in outputs:
            compare(f"attentions.layer{i}", a, outputs[f"attentions.layer{i}"], rows)
    if "start_logits" in outputs:
        tt = out["token_type_ids"].numpy()
        same = np.array_equal(tt, outputs["derived.token_type_ids"])
        rows.append(("derived.token_type_ids", 0.0 if same else float("inf"), "exact" if same else "differ"))
        qmask = (tt == 0).astype(np.int64)
        qmask[:, 0] = 0
        for name in ("start_logits", "end_logits"):
            compare_qa(name, out[name], outputs[name], qmask, rows)

    grads_path = os.path.join(case_dir, "grads.safetensors")
    if labels is not None and os.path.exists(grads_path):
        out["loss"].backward()
        ref_grads = read_safetensors(grads_path)
        params = {tb.checkpoint_name(model, n): p for n, p in model.named_parameters()}
        worst, worst_name, missing = 0.0, "", []
        for key, ref in ref_grads.items():
            p = params.get(key[len("grad."):])
            if p is None:
                missing.append(key)
                continue
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            err = float(np.max(np.abs(g.double().numpy() - ref)))
            if err > worst:
                worst, worst_name = err, key
        rows.append((f"grads ({len(ref_grads)} tensors)", worst if not missing else float("inf"),
                     f"worst {worst_name}" + (f"; no parameter for {missing}" if missing else "")))
    return rows, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=DEFAULT_DIR, help="hf-golden directory (default: %(default)s)")
    ap.add_argument("--atol", type=float, default=1e-4, help="max-abs error allowed (default: %(default)s)")
    args = ap.parse_args()
    torch.manual_seed(0)
    failed = 0
    for name in sorted(os.listdir(args.dir)):
        case_dir = os.path.join(args.dir, name)
        if not os.path.isfile(os.path.join(case_dir, "config.json")):
            continue
        with open(os.path.join(case_dir, "config.json")) as f:
            if json.load(f).get("model_type") != "big_bird":
                print(f"{name}: skipped (not BigBird-RoBERTa)")
                continue
        try:
            rows, notes = run_case(case_dir)
        except Exception as e:  # report and keep going: one broken case must not hide the others
            print(f"{name}: ERROR {type(e).__name__}: {e}")
            failed += 1
            continue
        bad = [r for r in rows if not r[1] <= args.atol]
        failed += bool(bad)
        print(f"{name}: {'FAIL' if bad else 'ok'} ({'; '.join(notes)})")
        for label, err, note in rows:
            flag = "  <-- exceeds atol" if not err <= args.atol else ""
            print(f"    {label:34s} {err:10.3e} {note}{flag}")
    print("all cases within atol" if not failed else f"{failed} case(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
