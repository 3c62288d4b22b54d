"""PyTorch side of `bigbird bench`: time one BigBird forward (or training step) and print ONE JSON line.

  torch_bigbird_bench.py --model DIR --length L [--batch 1] [--attention-type block_sparse|original_full]
                         [--repeat 3] [--warmup 1] [--train] [--hf-eval] [--head none|mlm] [--threads 2]
  torch_bigbird_bench.py --random-weights-out DIR --shape base|large|tiny [--seed 0]

Run it through run_torch_reference.sh (OpenBLAS, 2 threads, passive OpenMP); see docs/bench-reference.md.
Everything except the JSON line goes to stderr.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bigbird as tb  # noqa: E402
from safetensors_np import write_safetensors  # noqa: E402

SHAPES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                 vocab_size=128, max_position_embeddings=1024, block_size=16),
}
MASK_TOKEN_ID = 67  # BigBird-RoBERTa [MASK]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _sgemm_provider():
    """Path of the library that libtorch_cpu's sgemm_ resolves to, or None. Mapped libraries alone do not tell:
    with netlib's libblas first on LD_LIBRARY_PATH, OpenBLAS is still mapped (through liblapack) but unused."""
    with open("/proc/self/maps") as f:
        torch_cpu = next((ln.split()[-1] for ln in f if "libtorch_cpu.so" in ln), None)
    if torch_cpu is None:
        return None
    try:
        addr = ctypes.cast(ctypes.CDLL(torch_cpu).sgemm_, ctypes.c_void_p).value
    except AttributeError:
        return None
    info = _DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(addr), ctypes.byref(info)) or not info.dli_fname:
        return None
    return info.dli_fname.decode()


def blas_report():
    """(description, OpenBLAS threads or None, measured 1024^3 sgemm GFLOP/s). Debian's torch is built with
    BLAS_INFO=generic and calls whatever libblas.so.3 the loader found, so ask the loader and OpenBLAS."""
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    build = m.group(1) if m else "unknown"
    a = torch.randn(1024, 1024)
    torch.mm(a, a)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        torch.mm(a, a)
        best = min(best, time.perf_counter() - t)
    gflops = 2 * 1024 ** 3 / best / 1e9
    provider = _sgemm_provider()
    threads, desc = None, None
    if provider:
        lib = ctypes.CDLL(provider)
        if hasattr(lib, "openblas_get_config"):
            lib.openblas_get_config.restype = ctypes.c_char_p
            desc = f"OpenBLAS ({lib.openblas_get_config().decode()}; sgemm_ from {os.path.realpath(provider)})"
            threads = int(lib.openblas_get_num_threads())
        else:
            desc = f"not OpenBLAS: sgemm_ from {os.path.realpath(provider)}"
    elif "open" in build.lower():
        desc = "OpenBLAS (from torch build info)"
    else:
        desc = "unknown BLAS (sgemm_ not resolvable)"
    if threads is None:
        log(f"warning: torch is not running on OpenBLAS ({desc}, {gflops:.0f} GFLOP/s); matmuls may be ~15x "
            "slower. Use scripts/bench/run_torch_reference.sh")
    return f"{desc}; torch BLAS_INFO={build}", threads, round(gflops, 1)


# ------------------------------------------------------------------------------------- random weights

def random_weights(out_dir, shape, seed):
    """config.json + model.safetensors (HF BigBirdForMaskedLM names, fp32, HF init: N(0, 0.02) matrices and
    embeddings, zero biases, LayerNorm 1/0, zero padding row; tied decoder left out like HF does)."""
    cfg_dict = {k: v for k, v in tb.DEFAULTS.items()}
    cfg_dict.update(SHAPES[shape])
    cfg_dict.update(architectures=["BigBirdForMaskedLM"], model_type="big_bird", bos_token_id=1, eos_token_id=2,
                    initializer_range=0.02, torch_dtype="float32", use_cache=True)
    cfg = tb.Config(**cfg_dict)
    model = tb.BigBirdForMaskedLM(cfg, device="meta")
    shapes = {name: (np.float32, tuple(getattr(mod, attr).shape))
              for name, mod, attr in tb.parameter_slots(model) if name not in tb.TIED}
    gen = torch.Generator().manual_seed(seed)

    def fill(name):
        shp = shapes[name][1]
        leaf = name.rsplit(".", 1)[-1]
        if "LayerNorm" in name:
            return np.full(shp, 1.0 if leaf == "weight" else 0.0, dtype=np.float32)
        if leaf == "bias":
            return np.zeros(shp, dtype=np.float32)
        w = torch.empty(shp).normal_(0.0, cfg_dict["initializer_range"], generator=gen)
        if name.endswith("word_embeddings.weight"):
            w[cfg.pad_token_id] = 0.0
        return w.numpy()

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), shapes, fill,
                      {"format": "pt", "generator": f"torch_bigbird_bench.py --shape {shape} --seed {seed}"})
    n = sum(int(np.prod(s[1])) for s in shapes.values())
    return {"impl": "torch", "random_weights_out": out_dir, "shape": shape, "seed": seed, "parameters": n,
            "bytes": n * 4}


# ------------------------------------------------------------------------------------------- benchmark

def make_inputs(cfg, batch, length, seed):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, cfg.vocab_size, (batch, length), generator=gen)
    return ids, torch.ones_like(ids), gen


def mlm_batch(ids, gen, vocab):
    """Mask 15% of the positions (at least one per row); labels there, -100 elsewhere."""
    batch, length = ids.shape
    n = max(1, round(0.15 * length))
    labels = torch.full_like(ids, -100)
    masked = ids.clone()
    for row in range(batch):
        pos = torch.randperm(length, generator=gen)[:n]
        labels[row, pos] = ids[row, pos]
        masked[row, pos] = MASK_TOKEN_ID if MASK_TOKEN_ID < vocab else vocab - 1
    return masked, labels


def bench(args):
    torch.set_num_threads(args.threads)
    blas, blas_threads, blas_gflops = blas_report()
    t0 = time.perf_counter()
    arch = "BigBirdForMaskedLM" if (args.train or args.head == "mlm") else "BigBirdModel"
    model, cfg = tb.load_model(args.model, arch)
    load_s = time.perf_counter() - t0
    if args.length > cfg.max_position_embeddings:
        raise ValueError(f"--length {args.length} exceeds max_position_embeddings {cfg.max_position_embeddings}")
    model.bert.attention_type = args.attention_type
    model.bert.rand_mode = "hf_eval" if args.hf_eval else "hf_train"
    ids, mask, gen = make_inputs(cfg, args.batch, args.length, args.seed)
    seconds, cpu_seconds = [], []
    load_before = os.getloadavg()[0]
    if args.train:
        model.train()
        masked, labels = mlm_batch(ids, gen, cfg.vocab_size)
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
        for step in range(args.warmup + args.repeat):
            t, c = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            out = model(masked, mask, labels=labels)
            out["loss"].backward()
            opt.step()
            dt, dc = time.perf_counter() - t, time.process_time() - c
            log(f"train step {step}: {dt:.3f} s (cpu {dc:.3f} s), loss {out['loss'].item():.4f}")
            if step >= args.warmup:
                seconds.append(dt)
                cpu_seconds.append(dc)
    else:
        with torch.no_grad():
            for it in range(args.warmup + args.repeat):
                t, c = time.perf_counter(), time.process_time()
                out = model(ids, mask)
                dt, dc = time.perf_counter() - t, time.process_time() - c
                log(f"forward {it}: {dt:.3f} s (cpu {dc:.3f} s)")
                if it >= args.warmup:
                    seconds.append(dt)
                    cpu_seconds.append(dc)
    return {
        "impl": "torch", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "blas_threads": blas_threads, "blas": blas, "sgemm_1024_gflops": blas_gflops, "model": os.path.abspath(args.model), "batch": args.batch,
        "length": args.length, "attention_type": args.attention_type,
        "attention_type_used": out["attention_type_used"],
        "random_blocks": model.bert.rand_mode, "mode": "train" if args.train else "eval",
        "head": "mlm" if arch == "BigBirdForMaskedLM" else "none",
        "seconds": [round(s, 4) for s in seconds], "median_s": round(statistics.median(seconds), 4),
        "cpu_seconds": [round(s, 4) for s in cpu_seconds],
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": round(peak_rss_mb(), 1), "load_s": round(load_s, 3),
        "wall_s": round(time.perf_counter() - T_START, 3),
    }


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="directory with config.json + model.safetensors (HF names)")
    ap.add_argument("--length", type=int, help="sequence length (tokens)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--attention-type", default="block_sparse", choices=["block_sparse", "original_full"])
    ap.add_argument("--repeat", type=int, default=3, help="timed iterations (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed iterations first (default %(default)s)")
    ap.add_argument("--train", action="store_true",
                    help="time training steps: MLM forward + loss (15%% masked) + backward + AdamW step")
    ap.add_argument("--hf-eval", action="store_true",
                    help="all-zero random blocks (HF >= 4.30 eval) instead of the seeded per-layer tables")
    ap.add_argument("--head", default="none", choices=["none", "mlm"],
                    help="eval forward of the encoder+pooler only (none) or also the MLM logits (mlm)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="seed of input ids / masking / random weights")
    ap.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate for --train")
    ap.add_argument("--random-weights-out", metavar="DIR", help="write a random-weight model dir and exit")
    ap.add_argument("--shape", choices=sorted(SHAPES), help="model shape for --random-weights-out")
    args = ap.parse_args(argv)
    if args.random_weights_out:
        if not args.shape:
            ap.error("--random-weights-out needs --shape base|large|tiny")
    elif not args.model or not args.length:
        ap.error("--model and --length are required (or --random-weights-out DIR --shape S)")
    for name in ("batch", "length", "repeat", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        result = random_weights(args.random_weights_out, args.shape, args.seed) if args.random_weights_out \
            else bench(args)
    except (ValueError, OSError) as e:
        log(f"error: {e}")
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
