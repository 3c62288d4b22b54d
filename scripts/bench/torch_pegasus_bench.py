"""PyTorch side of `bigbird bench --summarize`: encode one random document and generate a fixed number of
tokens with beam search (torch_pegasus.py, HF's algorithm and memory layout), print ONE JSON line.

  torch_pegasus_bench.py --model DIR [--length 4096] [--new-tokens 128] [--beams 5] [--threads 2]

Run it through run_torch_reference.sh (OpenBLAS, 2 threads, passive OpenMP). Inputs are the same ids as the
engine's worker draws (64-bit LCG, ids in [5, vocab)); EOS is banned until the last token (min_length =
max_length = new tokens + 1), so both sides run exactly --new-tokens decoder steps.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bigbird_bench as tbb  # noqa: E402  (blas_report, peak_rss_mb)
import torch_pegasus as tp  # noqa: E402


def lcg_ids(n, vocab):
    """Same stream as the engine's bench workers: s = s*6364136223846793005 + 1442695040888963407 (mod 2^64)."""
    s, out = 12345, []
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(5 + (s >> 33) % (vocab - 5))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--beams", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    blas, blas_threads, blas_gflops = tbb.blas_report()

    t0 = time.perf_counter()
    model, cfg = tp.load(args.model)
    load_s = time.perf_counter() - t0
    ids = torch.tensor([lcg_ids(args.length, cfg.vocab_size)])
    mask = torch.ones_like(ids)
    gc = dict(num_beams=args.beams, max_length=args.new_tokens + 1, min_length=args.new_tokens + 1, length_penalty=0.8,
              early_stopping=False, eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
              decoder_start_token_id=cfg.decoder_start_token_id)
    load_before = os.getloadavg()[0]
    with torch.no_grad():
        t0 = time.perf_counter()
        enc = model.encode(ids, mask, rand_mode="hf_eval")
        encoder_s = time.perf_counter() - t0
        tbb.log(f"encoder: {encoder_s:.2f} s")
        t0 = time.perf_counter()
        seqs, scores, steps = tp.generate(model, enc, mask, gc,
                                          on_step=lambda s: tbb.log(f"step {s}: {time.perf_counter() - t0:.1f} s")
                                          if s % 16 == 0 else None)
        decoder_s = time.perf_counter() - t0
    print(json.dumps({
        "impl": "torch", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "blas_threads": blas_threads, "blas": blas, "sgemm_1024_gflops": blas_gflops, "model": args.model,
        "length": args.length, "beams": args.beams, "new_tokens": args.new_tokens, "steps": steps,
        "generated_tokens": len(seqs[0]) - 1, "load_s": round(load_s, 3), "encoder_s": round(encoder_s, 3),
        "decoder_s": round(decoder_s, 3), "decoder_ms_per_token": round(1000 * decoder_s / max(1, steps), 2),
        "sequence_score": scores[0] if scores else None, "peak_rss_mb": round(tbb.peak_rss_mb(), 1),
        "loadavg_1min": [load_before, os.getloadavg()[0]], "process_s": round(time.perf_counter() - T_START, 3),
    }))


if __name__ == "__main__":
    main()
