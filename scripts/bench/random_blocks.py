"""Random key-block tables of BigBird block_sparse attention (bigbird-spec §3.6), numpy legacy RNG.

table(...) returns int32 [heads, nb-2, r]; row i lists the random key blocks of query block i+1.
Modes: "hf_train" = seeded per layer (HF training mode, HF <= 4.29, TF for L != 2048), "hf_eval" = all zeros
(HF >= 4.30 in model.eval(), PR #23056).
"""
import numpy as np

OLD_PLAN_LENGTHS = (1024, 3072, 4096)  # HF list; TF also has 2048


def table(layer_idx, seq_len, block_size, num_rand, num_heads, max_seqlen, mode="hf_train"):
    if seq_len % block_size:
        raise ValueError(f"random blocks: length {seq_len} is not a multiple of block {block_size}")
    nb = seq_len // block_size
    if mode == "hf_eval":
        return np.zeros((num_heads, nb - 2, num_rand), dtype=np.int32)
    if mode != "hf_train":
        raise ValueError(f"random blocks: unknown mode '{mode}' (hf_train or hf_eval)")
    rng = np.random.RandomState(layer_idx)  # same stream as np.random.seed(layer_idx)
    if seq_len in OLD_PLAN_LENGTHS:
        if seq_len > max_seqlen:
            raise ValueError(f"random blocks: length {seq_len} exceeds max_position_embeddings {max_seqlen}")
        rows = [_old_plan(rng, max_seqlen, block_size, num_rand, last_idx=1024)[: nb - 2] for _ in range(num_heads)]
        return np.stack(rows).astype(np.int32)
    plan_from, plan_rand = _plan(seq_len, block_size, num_rand)
    return _plan_table(rng, seq_len, block_size, num_heads, plan_from, plan_rand)


def _old_plan(rng, max_seqlen, b, r, last_idx):
    """§3.6.3: drawn on the max_seqlen grid; random blocks come from blocks 1..last only."""
    nbm = max_seqlen // b
    mid = np.arange(1, nbm - 1, dtype=np.int32)
    last = nbm - 1
    if last_idx > 2 * b:
        last = last_idx // b - 1
    out = np.zeros((nbm - 2, r), dtype=np.int32)
    for i in range(1, nbm - 1):
        start, end = i - 2, i
        if i == 1:
            cand = mid[2:last]
        elif i == 2:
            cand = mid[3:last]
        elif i in (nbm - 3, nbm - 2):
            cand = mid[:last]
        elif start > last:
            cand = mid[:last]
        elif end + 1 == last:
            cand = mid[:start]
        else:
            cand = np.concatenate((mid[:start], mid[end + 1:last]))
        out[i - 1, :] = rng.permutation(cand)[:r]
    return out


def _plan(seq_len, b, r):
    """§3.6.4 get_rand_attn_plan."""
    nb = seq_len // b
    if 2 * r + 5 < nb:
        return [(2 * r + 5) * b, seq_len], [r, 0]
    if r + 5 < nb:
        return [(r + 5) * b, seq_len], [r // 2, r - r // 2]
    return [seq_len], [r]


def _single_row(rng, block_id, to_start, to_end, n):
    perm = rng.permutation(np.arange(to_start, to_end, dtype=np.int32))
    illegal = {block_id - 1, block_id, block_id + 1, 0, to_end - 1}
    if block_id == 1:
        illegal.add(to_end - 2)
    if block_id == to_end - 2:
        illegal.add(1)
    picked = [int(p) for p in perm if int(p) not in illegal][:n]
    if len(picked) < n:
        raise ValueError(f"random blocks: query block {block_id} has only {len(picked)} legal blocks "
                         f"in [{to_start},{to_end}), needs {n}")
    return picked


def _plan_table(rng, seq_len, b, num_heads, plan_from, plan_rand):
    """§3.6.4 bigbird_block_rand_mask_with_head (global 1 top/bottom/left/right, window 1 left/right)."""
    nb = seq_len // b
    pbl = [p // b for p in plan_from]
    max_plan = plan_from.index(seq_len)
    cum = np.concatenate(([0], np.cumsum(plan_rand))).astype(int)
    t = np.zeros((num_heads, nb, int(cum[max_plan + 1])), dtype=np.int32)

    def fill(row, col_plan, to_start, to_end):
        for h in range(num_heads):
            t[h, row, cum[col_plan]:cum[col_plan + 1]] = _single_row(rng, row, to_start, to_end, plan_rand[col_plan])

    for p in range(max_plan + 1):
        if p > 0:
            if plan_rand[p] > 0:
                for row in range(1, pbl[p - 1]):
                    fill(row, p, pbl[p - 1], pbl[p])
            for pl in range(p):
                if plan_rand[pl] == 0:
                    continue
                for row in range(pbl[p - 1], pbl[p]):
                    fill(row, pl, pbl[pl - 1] if pl > 0 else 0, pbl[pl])
        if plan_rand[p] == 0:
            continue
        from_start = pbl[p - 1] if p > 0 else 1
        to_start = pbl[p - 1] if p > 0 else 0
        for row in range(from_start, pbl[p]):
            fill(row, p, to_start, pbl[p])
    return t[:, 1:nb - 1, :]
