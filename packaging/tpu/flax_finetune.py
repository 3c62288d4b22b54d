#!/usr/bin/env python3
"""Fine-tunes an HF BigBird checkpoint with JAX/Flax on a TPU VM (run by bigbird_tpu_worker.py).

Reads the JSON config the worker wrote (task cls|mlm, model, data files, hyper-parameters),
trains FlaxBigBirdForSequenceClassification / FlaxBigBirdForMaskedLM with optax AdamW and a linear
schedule, data-parallel over every local TPU core (jax.pmap), prints one JSON metric event per
step on stdout and writes output_dir/model/ as model.safetensors (HF PyTorch names, what Studio
loads) + config.json + tokenizer files. The conversion goes through transformers' from_flax
loader (needs torch on the VM, CPU build is enough).
"""
import argparse
import csv
import json
import math
import os
import sys
import time


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def read_rows(path, text_column, label_column):
    if path.endswith(".jsonl") or path.endswith(".json"):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    else:
        delimiter = "\t" if path.endswith(".tsv") else ","
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=delimiter))
    return [(r[text_column], r.get(label_column)) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    cfg = json.load(open(ap.parse_args().config))

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from flax.training import train_state
    from flax.training.common_utils import shard
    from transformers import (AutoTokenizer, BigBirdConfig, FlaxBigBirdForMaskedLM,
                              FlaxBigBirdForSequenceClassification)

    rng = np.random.default_rng(cfg["seed"])
    tokenizer = AutoTokenizer.from_pretrained(cfg["tokenizer"] and os.path.dirname(cfg["tokenizer"]) or cfg["model"])
    train = read_rows(cfg["train_file"], cfg["text_column"], cfg["label_column"])
    labels = sorted({str(label) for _, label in train}) if cfg["task"] == "cls" else []
    config = BigBirdConfig.from_pretrained(cfg["model"], attention_type=cfg["attention_type"])
    if cfg["task"] == "cls":
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {l: i for i, l in enumerate(labels)}
        model = FlaxBigBirdForSequenceClassification.from_pretrained(cfg["model"], config=config, from_pt=True)
    else:
        model = FlaxBigBirdForMaskedLM.from_pretrained(cfg["model"], config=config, from_pt=True)

    devices = jax.local_device_count()
    global_batch = cfg["batch_size"] * devices
    steps_per_epoch = max(1, len(train) // global_batch)
    steps = cfg["steps"] or int(math.ceil(cfg["epochs"] * steps_per_epoch))
    schedule = optax.join_schedules(
        [optax.linear_schedule(0.0, cfg["learning_rate"], max(1, cfg["warmup_steps"])),
         optax.linear_schedule(cfg["learning_rate"], 0.0, max(1, steps - cfg["warmup_steps"]))],
        [cfg["warmup_steps"]])
    tx = optax.adamw(schedule, weight_decay=cfg["weight_decay"])
    state = train_state.TrainState.create(apply_fn=model.__call__, params=model.params, tx=tx)

    def loss_fn(params, batch, dropout_rng):
        labels_ = batch.pop("labels")
        logits = state.apply_fn(**batch, params=params, dropout_rng=dropout_rng, train=True)[0]
        if cfg["task"] == "cls":
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels_).mean()
        mask = labels_ >= 0
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.where(mask, labels_, 0))
        return (ce * mask).sum() / jnp.maximum(mask.sum(), 1)

    def train_step(state, batch, dropout_rng):
        dropout_rng, new_rng = jax.random.split(dropout_rng)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, batch, dropout_rng)
        grads = jax.lax.pmean(grads, "batch")
        return state.apply_gradients(grads=grads), jax.lax.pmean(loss, "batch"), new_rng

    p_step = jax.pmap(train_step, axis_name="batch", donate_argnums=(0,))
    state = jax.device_put_replicated(state, jax.local_devices())
    dropout_rngs = jax.random.split(jax.random.PRNGKey(cfg["seed"]), devices)

    def make_batch(rows):
        enc = tokenizer([t for t, _ in rows], max_length=cfg["max_length"], truncation=True,
                        padding="max_length", return_tensors="np")
        batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if cfg["task"] == "cls":
            batch["labels"] = np.array([labels.index(str(l)) for _, l in rows], dtype=np.int32)
        else:
            ids = batch["input_ids"].copy()
            special = np.isin(ids, tokenizer.all_special_ids)
            pick = (rng.random(ids.shape) < cfg["mask_prob"]) & ~special
            batch["labels"] = np.where(pick, ids, -100).astype(np.int32)
            ids[pick] = tokenizer.mask_token_id
            batch["input_ids"] = ids
        return batch

    t0 = time.time()
    for step in range(1, steps + 1):
        idx = rng.choice(len(train), size=global_batch, replace=len(train) < global_batch)
        batch = shard(make_batch([train[i] for i in idx]))
        state, loss, dropout_rngs = p_step(state, batch, dropout_rngs)
        emit({"type": "metric", "step": step, "total": steps, "loss": float(loss[0]),
              "lr": float(schedule(step)), "elapsed_s": time.time() - t0})

    out = os.path.join(cfg["output_dir"], "model")
    flax_dir = os.path.join(cfg["output_dir"], "flax")
    params = jax.device_get(jax.tree_util.tree_map(lambda x: x[0], state.params))
    model.save_pretrained(flax_dir, params=params)
    tokenizer.save_pretrained(flax_dir)
    emit({"type": "log", "line": "converting the Flax checkpoint to safetensors (HF names) in " + out})
    from transformers import BigBirdForMaskedLM, BigBirdForSequenceClassification
    pt_class = BigBirdForSequenceClassification if cfg["task"] == "cls" else BigBirdForMaskedLM
    pt_class.from_pretrained(flax_dir, from_flax=True).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    emit({"type": "log", "line": "done: " + out})


if __name__ == "__main__":
    main()
