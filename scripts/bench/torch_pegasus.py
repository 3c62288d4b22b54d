"""PyTorch reference of BigBird-Pegasus summarization (bigbird-spec §1.2, §2.2, §3.4, §4.2-4.3, §5.5, §6.2),
written from the spec the way HF transformers runs it, for `bigbird bench --summarize` and as a numerical
cross-check (check_pegasus_golden.py):

* encoder: x = sqrt(d)*E[ids] + Pos; block_sparse (torch_bigbird.block_sparse_attention, HF's five parts)
  after padding with the unscaled pad embedding, or original_full for inputs <= (5+2r)*b; pre-LN layers;
  final LayerNorm; cut back;
* decoder: pre-LN, causal self-attention with a growing KV cache (torch.cat per step, as HF's legacy
  cache), cross-attention, final LayerNorm, tied LM head + final_logits_bias;
* generate(): HF beam search (hf2024 semantics, tests/data/generation/README.md) and greedy search, with
  HF's memory layout: the encoder output is repeated for every beam (`expand_inputs_for_generation`),
  cross-attention K/V are computed per beam row at the first step and kept in the cache, and the
  self-attention cache is reordered with index_select after every step (`_reorder_cache`).
Parameter names are HF's, so HF config.json + model.safetensors load by name.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_blocks  # noqa: E402
import torch_bigbird as tb  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402

DEFAULTS = dict(vocab_size=96103, d_model=1024, encoder_layers=16, decoder_layers=16, encoder_attention_heads=16,
                decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
                activation_function="gelu_new", max_position_embeddings=4096, scale_embedding=True, use_bias=False,
                attention_type="block_sparse", block_size=64, num_random_blocks=3, pad_token_id=0, eos_token_id=1,
                decoder_start_token_id=2)
EPS = 1e-5  # nn.LayerNorm default in HF BigBirdPegasus


class Config:
    def __init__(self, **kw):
        for k, v in DEFAULTS.items():
            setattr(self, k, kw.get(k, v))

    @staticmethod
    def from_file(path):
        with open(path) as f:
            return Config(**json.load(f))


def ln(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, EPS)


def split(x, heads):
    """[B,L,H*d] -> [B,H,L,d] as a view (HF BigBird's transpose_for_scores)."""
    b, l, d = x.shape
    return x.view(b, l, heads, d // heads).transpose(1, 2)


def shape_heads(x, heads):
    """[B,L,H*d] -> contiguous [B,H,L,d] (HF BART-style attention `_shape`, used by the Pegasus decoder)."""
    return split(x, heads).contiguous()


def merge(x):
    b, h, l, d = x.shape
    return x.transpose(1, 2).reshape(b, l, h * d)


class Pegasus:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = {k: torch.from_numpy(v) for k, v in weights.items()}
        shared = self.w.get("model.shared.weight", self.w.get("model.encoder.embed_tokens.weight"))
        self.w["model.shared.weight"] = shared
        if "final_logits_bias" not in self.w:
            self.w["final_logits_bias"] = torch.zeros(1, cfg.vocab_size)
        self.scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        self.act = tb.activation(cfg.activation_function)

    def lin(self, x, name):
        y = x @ self.w[name + ".weight"].t()
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    # ------------------------------------------------------------------------------------ encoder
    def encode(self, ids, mask, rand_mode="hf_eval", rand_attn=None):
        cfg, w = self.cfg, self.w
        bsz, seq = ids.shape
        b, r, heads = cfg.block_size, cfg.num_random_blocks, cfg.encoder_attention_heads
        x = w["model.shared.weight"][ids] * self.scale + w["model.encoder.embed_positions.weight"][:seq]
        sparse = cfg.attention_type == "block_sparse" and seq > (5 + 2 * r) * b
        pad = (b - seq % b) % b if sparse else 0
        if pad:
            pad_emb = w["model.shared.weight"][cfg.pad_token_id].expand(bsz, pad, cfg.d_model)  # HF: unscaled, no position
            x = torch.cat([x, pad_emb], dim=1)
            mask = F.pad(mask, (0, pad), value=0)
        maskf = mask.to(torch.float32)
        if sparse:
            masks = tb.block_sparse_masks(maskf, b)
            if rand_attn is None:
                rand_attn = [torch.from_numpy(random_blocks.table(i, seq + pad, b, r, heads, cfg.max_position_embeddings,
                                                                  rand_mode)).long() for i in range(cfg.encoder_layers)]
        for i in range(cfg.encoder_layers):
            p = f"model.encoder.layers.{i}."
            h = ln(x, w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"])
            q, k, v = (split(self.lin(h, p + "self_attn.self." + n), heads) for n in ("query", "key", "value"))
            if sparse:
                ctx = tb.block_sparse_attention(q, k, v, rand_attn[i].long(), masks, b)
            else:
                ctx, _ = tb.full_attention(q, k, v, maskf, 0.0, False)
            x = x + self.lin(merge(ctx), p + "self_attn.output")
            h = ln(x, w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"])
            x = x + self.lin(self.act(self.lin(h, p + "fc1")), p + "fc2")
        x = ln(x, w["model.encoder.layernorm_embedding.weight"], w["model.encoder.layernorm_embedding.bias"])
        return x[:, :seq]

    # ------------------------------------------------------------------------------------ decoder
    def decode(self, ids, enc, enc_mask, past=None):
        """ids [N,T]; enc [N,L,D] (one row per decoder row, as HF); past: per layer (k, v, ck, cv) or None.
        Returns (logits [N,T,V], new past)."""
        cfg, w = self.cfg, self.w
        heads = cfg.decoder_attention_heads
        n, t = ids.shape
        start = 0 if past is None else past[0][0].shape[2]
        y = w["model.shared.weight"][ids] * self.scale + w["model.decoder.embed_positions.weight"][start:start + t]
        minv = torch.finfo(torch.float32).min
        causal = None
        if t > 1:
            causal = torch.triu(torch.full((t, start + t), minv), diagonal=start + 1)[None, None]
        cross_mask = (1.0 - enc_mask.to(torch.float32))[:, None, None, :] * minv
        scaling = (cfg.d_model // heads) ** -0.5
        new_past = []
        for i in range(cfg.decoder_layers):
            p = f"model.decoder.layers.{i}."
            h = ln(y, w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"])
            q = shape_heads(self.lin(h, p + "self_attn.q_proj") * scaling, heads)
            k = shape_heads(self.lin(h, p + "self_attn.k_proj"), heads)
            v = shape_heads(self.lin(h, p + "self_attn.v_proj"), heads)
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            s = q @ k.transpose(-1, -2)
            if causal is not None:
                s = s + causal
            y = y + self.lin(merge(torch.softmax(s, dim=-1) @ v), p + "self_attn.out_proj")
            h = ln(y, w[p + "encoder_attn_layer_norm.weight"], w[p + "encoder_attn_layer_norm.bias"])
            q = shape_heads(self.lin(h, p + "encoder_attn.q_proj") * scaling, heads)
            if past is None:
                ck = shape_heads(self.lin(enc, p + "encoder_attn.k_proj"), heads)
                cv = shape_heads(self.lin(enc, p + "encoder_attn.v_proj"), heads)
            else:
                ck, cv = past[i][2], past[i][3]
            s = q @ ck.transpose(-1, -2) + cross_mask
            y = y + self.lin(merge(torch.softmax(s, dim=-1) @ cv), p + "encoder_attn.out_proj")
            h = ln(y, w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"])
            y = y + self.lin(self.act(self.lin(h, p + "fc1")), p + "fc2")
            new_past.append((k, v, ck, cv))
        y = ln(y, w["model.decoder.layernorm_embedding.weight"], w["model.decoder.layernorm_embedding.bias"])
        return y @ w["model.shared.weight"].t() + w["final_logits_bias"][0], new_past


def load(model_dir):
    cfg = Config.from_file(os.path.join(model_dir, "config.json"))
    return Pegasus(cfg, read_safetensors(os.path.join(model_dir, "model.safetensors"))), cfg


# ---------------------------------------------------------------------------------------- generation

def _processors(gc, seqs, scores):
    """no_repeat_ngram -> min_length -> forced_eos on [N,V] scores; seqs: list of token lists (start included)."""
    cur = len(seqs[0])
    n = gc.get("no_repeat_ngram_size", 0)
    if n and cur + 1 >= n:
        for row, toks in enumerate(seqs):
            prefix = tuple(toks[cur + 1 - n:])
            for s in range(cur - n + 1):
                if tuple(toks[s:s + n - 1]) == prefix:
                    scores[row, toks[s + n - 1]] = -float("inf")
    if gc.get("min_length", 0) and cur < gc["min_length"]:
        scores[:, gc["eos_token_id"]] = -float("inf")
    if gc.get("forced_eos_token_id") is not None and cur == gc["max_length"] - 1:
        scores[:] = -float("inf")
        scores[:, gc["forced_eos_token_id"]] = 0.0
    return scores


@torch.no_grad()
def generate(model, enc, enc_mask, gc, on_step=None):
    """HF generate() (do_sample=False). Returns (sequences, sequence_scores or None, steps)."""
    nb, eos, pad = gc.get("num_beams", 1), gc["eos_token_id"], gc["pad_token_id"]
    start, max_length = gc["decoder_start_token_id"], gc["max_length"]
    bsz = enc.shape[0]
    if nb == 1:
        seqs = [[start] for _ in range(bsz)]
        done = [False] * bsz
        past, steps = None, 0
        while len(seqs[0]) < max_length:
            ids = torch.tensor([[s[-1]] for s in seqs])
            logits, past = model.decode(ids, enc, enc_mask, past)
            scores = _processors(gc, seqs, logits[:, -1].clone())
            nxt = scores.argmax(-1).tolist()
            for i in range(bsz):
                seqs[i].append(pad if done[i] else nxt[i])
                done[i] = done[i] or nxt[i] == eos
            steps += 1
            if on_step:
                on_step(steps)
            if all(done):
                break
        return seqs, None, steps

    # HF expand_inputs_for_generation: the encoder output and mask repeated for every beam
    enc = enc.repeat_interleave(nb, dim=0)
    enc_mask = enc_mask.repeat_interleave(nb, dim=0)
    lp, es = gc.get("length_penalty", 1.0), gc.get("early_stopping", False)
    seqs = [[start] for _ in range(bsz * nb)]
    beam_scores = torch.zeros(bsz, nb)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    hyps = [[] for _ in range(bsz)]  # (score, tokens)
    worst = [1e9] * bsz
    done = [False] * bsz
    past, steps = None, 0

    def add(b, tokens, sum_lp, length):
        score = sum_lp / (length ** lp)
        if len(hyps[b]) < nb or score > worst[b]:
            hyps[b].append((score, tokens))
            if len(hyps[b]) > nb:
                order = sorted((s, i) for i, (s, _) in enumerate(hyps[b]))
                del hyps[b][order[0][1]]
                worst[b] = order[1][0]
            else:
                worst[b] = min(score, worst[b])

    while True:
        ids = torch.tensor([[s[-1]] for s in seqs])
        logits, past = model.decode(ids, enc, enc_mask, past)
        logp = _processors(gc, seqs, F.log_softmax(logits[:, -1], dim=-1))
        cand = (logp + beam_scores[:, None]).view(bsz, -1)
        vocab = logp.shape[-1]
        top_s, top_i = torch.topk(cand, 2 * nb, dim=1)
        cur = len(seqs[0])
        nxt_s, nxt_t, nxt_b = torch.zeros(bsz * nb), [pad] * (bsz * nb), list(range(bsz * nb))
        for b in range(bsz):
            if done[b]:
                continue
            k = 0
            for rank in range(2 * nb):
                tok, sc, row = int(top_i[b, rank]) % vocab, float(top_s[b, rank]), b * nb + int(top_i[b, rank]) // vocab
                if tok == eos:
                    if rank < nb:
                        add(b, list(seqs[row]), sc, cur)
                else:
                    nxt_s[b * nb + k], nxt_t[b * nb + k], nxt_b[b * nb + k] = sc, tok, row
                    k += 1
                if k == nb:
                    break
            if len(hyps[b]) >= nb:
                best = float(top_s[b].max())
                bound = max_length - 1 if (es == "never" and lp > 0) else cur
                done[b] = es is True or worst[b] >= best / bound ** lp
        beam_idx = torch.tensor(nxt_b)
        past = [(k.index_select(0, beam_idx), v.index_select(0, beam_idx), ck, cv) for k, v, ck, cv in past]
        seqs = [seqs[nxt_b[i]] + [nxt_t[i]] for i in range(bsz * nb)]
        beam_scores = nxt_s
        steps += 1
        if on_step:
            on_step(steps)
        if all(done) or len(seqs[0]) >= max_length:
            break
    for b in range(bsz):
        if not done[b]:
            for j in range(nb):
                add(b, seqs[b * nb + j], float(beam_scores[b * nb + j]), len(seqs[b * nb + j]) - 1)
    best = []
    for b in range(bsz):
        top = max(range(len(hyps[b])), key=lambda i: (hyps[b][i][0], i))
        best.append(hyps[b][top])
    width = min(max(len(t) for _, t in best) + 1, max_length)
    out = []
    for _, t in best:
        row = t + ([eos] if len(t) < width else [])
        out.append(row + [pad] * (width - len(row)))
    return out, [float(torch.tensor(s, dtype=torch.float32)) for s, _ in best], steps
