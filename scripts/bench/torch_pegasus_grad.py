"""Golden seq2seq gradients of BigBird-Pegasus from PyTorch autograd, for tests/engine/train/tst_pegasus_gradients.

Runs scripts/bench/torch_pegasus.py (our PyTorch reference of HF's BigBirdPegasusForConditionalGeneration
math) on the golden tiny model tests/data/hf-golden/h_pegasus_512 in train mode (block_sparse, HF-train
random blocks, dropout 0), with HF's loss: decoder_input_ids = shift_tokens_right(labels),
CrossEntropyLoss(ignore_index=-100) over the LM logits. The gradients are computed in float64 (the model
cast to double) and written as F32; the float32 run's largest deviation from them is recorded as the
reference's own rounding error (case.json).

HF's embeddings have padding_idx = pad_token_id (the pad row gets no gradient from lookups); the
reference indexes the matrix directly, so the inputs are chosen with no pad id looked up (checked).
Position tables get gradient only in their first rows: only rows [0, len) are stored (metadata
"stored_rows"); the rest is zero.

usage: /usr/bin/python3 scripts/bench/torch_pegasus_grad.py [--case DIR] [--out DIR]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_pegasus as tp  # noqa: E402
from safetensors_np import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shift_tokens_right(labels, pad, start):
    out = torch.full_like(labels, pad)
    out[:, 0] = start
    out[:, 1:] = labels[:, :-1]
    return out.masked_fill(out == -100, pad)


def run(model_dir, ids, mask, labels, dtype):
    model, cfg = tp.load(model_dir)
    # final_logits_bias is a buffer in HF (register_buffer): no gradient.
    model.w = {k: v.to(dtype).detach().requires_grad_(k != "final_logits_bias") for k, v in model.w.items()}
    dec = shift_tokens_right(labels, cfg.pad_token_id, cfg.decoder_start_token_id)
    assert not (ids == cfg.pad_token_id).any() and not (dec == cfg.pad_token_id).any(), "pad id looked up"
    enc = model.encode(ids, mask, rand_mode="hf_train")
    logits, _ = model.decode(dec, enc, mask)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    loss.backward()
    return float(loss), {k: v.grad.detach().to(torch.float64).numpy() for k, v in model.w.items()
                         if v.requires_grad}, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default=os.path.join(ROOT, "tests/data/hf-golden/h_pegasus_512"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/data/pegasus-grad"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    inputs = read_safetensors(os.path.join(args.case, "inputs.safetensors"))
    ids = torch.from_numpy(inputs["input_ids"])
    mask = torch.from_numpy(inputs["attention_mask"])
    dec = inputs["decoder_input_ids"]
    # labels: the golden decoder inputs shifted left, the last target ignored (-100).
    labels = np.concatenate([dec[:, 1:], np.full((dec.shape[0], 1), -100, dtype=np.int64)], axis=1)
    labels_t = torch.from_numpy(labels)

    loss64, g64, cfg = run(args.case, ids, mask, labels_t, torch.float64)
    loss32, g32, _ = run(args.case, ids, mask, labels_t, torch.float32)
    fp32_dev = max(float(np.abs(g32[k] - g64[k]).max()) for k in g64)

    L, T = ids.shape[1], labels.shape[1]
    keep_rows = {"model.encoder.embed_positions.weight": L, "model.decoder.embed_positions.weight": T}
    grads = {}
    for name, g in g64.items():
        if name in keep_rows:
            assert not g[keep_rows[name]:].any(), name
            g = g[:keep_rows[name]]
        grads["grad." + name] = g.astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    meta = {"stored_rows": json.dumps(keep_rows), "loss_fp64": repr(loss64)}
    write_safetensors(os.path.join(args.out, "grads.safetensors"), {k: (v.dtype, v.shape) for k, v in grads.items()},
                      lambda k: grads[k], metadata=meta)
    write_safetensors(os.path.join(args.out, "inputs.safetensors"),
                      {"input_ids": (np.int64, ids.shape), "attention_mask": (np.int64, mask.shape),
                       "labels": (np.int64, labels.shape)},
                      lambda k: {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "labels": labels}[k])
    case = {
        "case": "pegasus-grad",
        "model": "../hf-golden/h_pegasus_512 (same weights and config)",
        "generator": "scripts/bench/torch_pegasus_grad.py (torch %s, autograd through scripts/bench/torch_pegasus.py)"
                     % torch.__version__,
        "mode": "train: block_sparse, hf_train random blocks, dropout 0",
        "loss": "CrossEntropyLoss(ignore_index=-100) over LM logits; decoder_input_ids = shift_tokens_right(labels)",
        "inputs": {"input_ids": list(ids.shape), "attention_mask": list(mask.shape), "labels": list(labels.shape)},
        "loss_fp64": loss64, "loss_fp32": loss32,
        "stored_rows": keep_rows,
        "tolerance": {"fp32_vs_fp64_max_abs_over_all_grads": fp32_dev},
    }
    with open(os.path.join(args.out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print(f"loss fp64 {loss64:.9g} fp32 {loss32:.9g}; fp32 vs fp64 max abs grad {fp32_dev:.3g}; "
          f"{len(grads)} gradients -> {args.out}")


if __name__ == "__main__":
    main()
