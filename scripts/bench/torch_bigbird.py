"""PyTorch reference of the BigBird-RoBERTa encoder (bigbird-spec §2, §3, §4.1, §5), written from the spec.

Post-LN encoder with token-type embeddings, pooler, MLM / sequence-classification / QA heads, and both
attention types: original_full and block_sparse computed the HuggingFace way (blockify, index_select of
the random key blocks, shifted-blocks window, batched matmuls over all middle blocks, one softmax per part,
the same 5 parts). Module and parameter names equal HF's, so HF checkpoints load by name.
Dependencies: torch + numpy (+ safetensors_np.py / random_blocks.py next to this file).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_blocks  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402

MASK_PENALTY = -10000.0  # block_sparse additive penalty (HF attn_mask_penalty)

DEFAULTS = dict(
    vocab_size=50358, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
    hidden_act="gelu_new", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    max_position_embeddings=4096, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0, sep_token_id=66,
    attention_type="block_sparse", use_bias=True, rescale_embeddings=False, block_size=64, num_random_blocks=3,
    classifier_dropout=None, tie_word_embeddings=True, architectures=["BigBirdModel"],
)


class Config:
    def __init__(self, **kw):
        for k, v in DEFAULTS.items():
            setattr(self, k, kw.get(k, v))
        self.num_labels = len(kw["id2label"]) if "id2label" in kw else kw.get("num_labels", 2)
        self.model_type = kw.get("model_type", "big_bird")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"config: hidden_size {self.hidden_size} not divisible by heads {self.num_attention_heads}")

    @staticmethod
    def from_file(path):
        with open(path) as f:
            return Config(**json.load(f))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_fast(x):
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


ACTIVATIONS = {"gelu_new": gelu_new, "gelu_fast": gelu_fast, "gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh}


def activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"config: hidden_act '{name}' is not supported ({', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]


# ----------------------------------------------------------------------------------------------- attention

def full_attention(q, k, v, key_mask, dropout_p, training):
    """q,k,v [B,H,L,d]; key_mask [B,L] float 0/1. HF dense path: masked with finfo.min."""
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores + (1.0 - key_mask[:, None, None, :]) * torch.finfo(scores.dtype).min
    probs = F.softmax(scores, dim=-1)
    return torch.matmul(F.dropout(probs, dropout_p, training), v), probs


def block_sparse_masks(mask, b):
    """mask [B,L] float -> (blocked [B,nb,b], band [B,1,nb-4,b,3b], from [B,1,L,1], to [B,1,1,L])."""
    bsz, seq = mask.shape
    blocked = mask.view(bsz, seq // b, b)
    window = torch.cat([blocked[:, 1:-3], blocked[:, 2:-2], blocked[:, 3:-1]], dim=2)
    band = (blocked[:, 2:-2, :, None] * window[:, :, None, :]).unsqueeze(1)
    return blocked, band, mask.view(bsz, 1, seq, 1), mask.view(bsz, 1, 1, seq)


def gather_blocks(blocked, rand_attn):
    """blocked [B,H,nb,b,d], rand_attn [H,nb-2,r] -> [B,H,nb-2,r*b,d] (random blocks of each row, t order)."""
    bsz, heads, nb, b, d = blocked.shape
    rows, r = rand_attn.shape[1], rand_attn.shape[2]
    flat = (rand_attn + torch.arange(heads, device=rand_attn.device).view(heads, 1, 1) * nb).reshape(-1)
    picked = blocked.reshape(bsz, heads * nb, b, d).index_select(1, flat)
    return picked.view(bsz, heads, rows, r * b, d)


def block_sparse_attention(q, k, v, rand_attn, masks, b):
    """The five parts of BigBird ITC attention (spec §3.4). q,k,v [B,H,L,d]; rand_attn LongTensor [H,nb-2,r]."""
    blocked_mask, band_mask, from_mask, to_mask = masks
    bsz, heads, seq, d = q.shape
    nb, r = seq // b, rand_attn.shape[-1]
    s = 1.0 / math.sqrt(d)
    P = MASK_PENALTY

    qb, kb, vb = (t.view(bsz, heads, nb, b, d) for t in (q, k, v))
    gk, gv = gather_blocks(kb, rand_attn), gather_blocks(vb, rand_attn)

    # rand_mask [B,H,nb-2,b,r*b]: query-block mask x mask of its random key blocks
    rand_keys_mask = blocked_mask.index_select(1, rand_attn.reshape(-1)).view(bsz, heads, nb - 2, r * b)
    rand_mask = blocked_mask[:, None, 1:-1, :, None] * rand_keys_mask[:, :, :, None, :]

    # Part 1: query block 0 attends to everything.
    sc = torch.matmul(qb[:, :, 0], k.transpose(-1, -2)) * s
    sc += (1.0 - to_mask) * P
    ctx_first = torch.matmul(F.softmax(sc, dim=-1), v)

    # Part 2: query block 1 -> [first, 1, 2, last, random(row 0)].
    keys = torch.cat([kb[:, :, 0], kb[:, :, 1], kb[:, :, 2], kb[:, :, -1], gk[:, :, 0]], dim=2)
    vals = torch.cat([vb[:, :, 0], vb[:, :, 1], vb[:, :, 2], vb[:, :, -1], gv[:, :, 0]], dim=2)
    seq_pad = torch.cat([to_mask[..., :3 * b], to_mask[..., -b:], to_mask.new_ones(bsz, 1, 1, r * b)], dim=3)
    rnd_pad = torch.cat([rand_mask.new_ones(bsz, heads, b, 4 * b), rand_mask[:, :, 0]], dim=3)
    sc = torch.matmul(qb[:, :, 1], keys.transpose(-1, -2)) * s
    sc += (1.0 - torch.minimum(seq_pad, rnd_pad)) * P
    ctx_second = torch.matmul(F.softmax(sc, dim=-1), vals)

    # Part 3: query blocks 2..nb-3 at once -> [first | window (shifted blocks) | random | last].
    mid_q = qb[:, :, 2:-2]
    win_k = torch.cat([kb[:, :, 1:-3], kb[:, :, 2:-2], kb[:, :, 3:-1]], dim=3)
    win_v = torch.cat([vb[:, :, 1:-3], vb[:, :, 2:-2], vb[:, :, 3:-1]], dim=3)
    band = torch.matmul(mid_q, win_k.transpose(-1, -2)) * s
    band += (1.0 - band_mask) * P
    rand = torch.matmul(mid_q, gk[:, :, 1:-1].transpose(-1, -2)) * s
    rand += (1.0 - rand_mask[:, :, 1:-1]) * P
    first = torch.einsum("bhlqd,bhkd->bhlqk", mid_q, kb[:, :, 0]) * s
    first += (1.0 - to_mask[..., :b].unsqueeze(3)) * P
    last = torch.einsum("bhlqd,bhkd->bhlqk", mid_q, kb[:, :, -1]) * s
    last += (1.0 - to_mask[..., -b:].unsqueeze(3)) * P
    probs = F.softmax(torch.cat([first, band, rand, last], dim=-1), dim=-1)
    ctx_mid = torch.matmul(probs[..., b:4 * b], win_v)
    ctx_mid += torch.matmul(probs[..., 4 * b:-b], gv[:, :, 1:-1])
    ctx_mid += torch.einsum("bhlqk,bhkd->bhlqd", probs[..., :b], vb[:, :, 0])
    ctx_mid += torch.einsum("bhlqk,bhkd->bhlqd", probs[..., -b:], vb[:, :, -1])

    # Part 4: query block nb-2 -> [first, nb-3, nb-2, last, random(last row)].
    keys = torch.cat([kb[:, :, 0], kb[:, :, -3], kb[:, :, -2], kb[:, :, -1], gk[:, :, -1]], dim=2)
    vals = torch.cat([vb[:, :, 0], vb[:, :, -3], vb[:, :, -2], vb[:, :, -1], gv[:, :, -1]], dim=2)
    seq_pad = torch.cat([to_mask[..., :b], to_mask[..., -3 * b:], to_mask.new_ones(bsz, 1, 1, r * b)], dim=3)
    rnd_pad = torch.cat([rand_mask.new_ones(bsz, heads, b, 4 * b), rand_mask[:, :, -1]], dim=3)
    sc = torch.matmul(qb[:, :, -2], keys.transpose(-1, -2)) * s
    sc += (1.0 - torch.minimum(seq_pad, rnd_pad)) * P
    ctx_penult = torch.matmul(F.softmax(sc, dim=-1), vals)

    # Part 5: query block nb-1 attends to everything.
    sc = torch.matmul(qb[:, :, -1], k.transpose(-1, -2)) * s
    sc += (1.0 - to_mask) * P
    ctx_last = torch.matmul(F.softmax(sc, dim=-1), v)

    ctx = torch.cat([ctx_first[:, :, None], ctx_second[:, :, None], ctx_mid,
                     ctx_penult[:, :, None], ctx_last[:, :, None]], dim=2).view(bsz, heads, seq, d)
    return ctx * from_mask


class SelfAttention(nn.Module):
    def __init__(self, cfg, layer_idx, device=None):
        super().__init__()
        h = cfg.hidden_size
        self.query = nn.Linear(h, h, bias=cfg.use_bias, device=device)
        self.key = nn.Linear(h, h, bias=cfg.use_bias, device=device)
        self.value = nn.Linear(h, h, bias=cfg.use_bias, device=device)
        self.heads, self.layer_idx, self.cfg = cfg.num_attention_heads, layer_idx, cfg

    def split(self, x):
        bsz, seq, _ = x.shape
        return x.view(bsz, seq, self.heads, -1).transpose(1, 2)

    def forward(self, x, ctx):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        probs = None
        if ctx["attention_type"] == "original_full":
            out, probs = full_attention(q, k, v, ctx["mask"], self.cfg.attention_probs_dropout_prob, self.training)
            probs = probs if ctx["output_attentions"] else None
        else:
            out = block_sparse_attention(q, k, v, ctx["rand_attn"][self.layer_idx], ctx["sparse_masks"],
                                         self.cfg.block_size)
        bsz, _, seq, _ = out.shape
        return out.transpose(1, 2).reshape(bsz, seq, -1), probs


class DenseLayerNorm(nn.Module):
    """dense -> dropout -> LayerNorm(. + residual); HF BigBirdSelfOutput / BigBirdOutput."""

    def __init__(self, cfg, n_in, bias=True, device=None):
        super().__init__()
        self.dense = nn.Linear(n_in, cfg.hidden_size, bias=bias, device=device)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, device=device)
        self.p = cfg.hidden_dropout_prob

    def forward(self, x, residual):
        return self.LayerNorm(F.dropout(self.dense(x), self.p, self.training) + residual)


class Attention(nn.Module):
    def __init__(self, cfg, layer_idx, device=None):
        super().__init__()
        self.self = SelfAttention(cfg, layer_idx, device)
        self.output = DenseLayerNorm(cfg, cfg.hidden_size, bias=True, device=device)


class Intermediate(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size, device=device)
        self.act = activation(cfg.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class Layer(nn.Module):
    """Post-LN encoder layer (spec §4.1)."""

    def __init__(self, cfg, layer_idx, device=None):
        super().__init__()
        self.attention = Attention(cfg, layer_idx, device)
        self.intermediate = Intermediate(cfg, device)
        self.output = DenseLayerNorm(cfg, cfg.intermediate_size, device=device)

    def forward(self, x, ctx):
        a, probs = self.attention.self(x, ctx)
        x1 = self.attention.output(a, x)
        return self.output(self.intermediate(x1), x1), probs


class Embeddings(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        h = cfg.hidden_size
        self.word_embeddings = nn.Embedding(cfg.vocab_size, h, device=device)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, h, device=device)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, h, device=device)
        self.LayerNorm = nn.LayerNorm(h, eps=cfg.layer_norm_eps, device=device)
        self.cfg = cfg

    def forward(self, ids, token_types):
        e = self.word_embeddings(ids)
        if self.cfg.rescale_embeddings:
            e = e * (self.cfg.hidden_size ** 0.5)
        e = e + self.token_type_embeddings(token_types)
        e = e + self.position_embeddings(torch.arange(ids.shape[1], device=ids.device))[None]
        return self.LayerNorm(F.dropout(e, self.cfg.hidden_dropout_prob, self.training))


class Encoder(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg, i, device) for i in range(cfg.num_hidden_layers))


class BigBirdModel(nn.Module):
    """Embeddings + encoder + optional tanh pooler. forward() handles HF's fallback and block padding."""

    def __init__(self, cfg, add_pooling_layer=True, device=None):
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg, device)
        self.encoder = Encoder(cfg, device)
        self.pooler = nn.Linear(cfg.hidden_size, cfg.hidden_size, device=device) if add_pooling_layer else None
        self.attention_type = cfg.attention_type
        self.rand_mode = "hf_train"  # or "hf_eval" (all-zero tables)

    def attention_used(self, seq_len):
        """HF switches to original_full when the unpadded length is <= (5+2r)*b (per call here, not sticky)."""
        cfg = self.cfg
        if self.attention_type == "block_sparse" and seq_len <= (5 + 2 * cfg.num_random_blocks) * cfg.block_size:
            return "original_full"
        return self.attention_type

    def random_tables(self, seq_len, device):
        cfg = self.cfg
        return [torch.from_numpy(random_blocks.table(i, seq_len, cfg.block_size, cfg.num_random_blocks,
                                                     cfg.num_attention_heads, cfg.max_position_embeddings,
                                                     self.rand_mode)).long().to(device)
                for i in range(cfg.num_hidden_layers)]

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, rand_attn=None,
                output_hidden_states=False, output_attentions=False):
        cfg = self.cfg
        bsz, seq = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        kind = self.attention_used(seq)
        pad = (cfg.block_size - seq % cfg.block_size) % cfg.block_size if kind == "block_sparse" else 0
        if pad:
            input_ids = F.pad(input_ids, (0, pad), value=cfg.pad_token_id)
            attention_mask = F.pad(attention_mask, (0, pad), value=0)
            token_type_ids = F.pad(token_type_ids, (0, pad), value=0)
        mask = attention_mask.to(torch.float32)
        ctx = {"attention_type": kind, "mask": mask, "output_attentions": output_attentions}
        if kind == "block_sparse":
            padded = seq + pad
            ctx["sparse_masks"] = block_sparse_masks(mask, cfg.block_size)
            if rand_attn is None:
                rand_attn = self.random_tables(padded, input_ids.device)
            nb = padded // cfg.block_size
            want = (cfg.num_attention_heads, nb - 2, cfg.num_random_blocks)
            if len(rand_attn) != cfg.num_hidden_layers:
                raise ValueError(f"rand_attn has {len(rand_attn)} tables, expected {cfg.num_hidden_layers}")
            for i, t in enumerate(rand_attn):
                if tuple(t.shape) != want:
                    raise ValueError(f"rand_attn[{i}] has shape {tuple(t.shape)}, expected {want}")
                if t.numel() and (int(t.min()) < 0 or int(t.max()) >= nb):
                    raise ValueError(f"rand_attn[{i}] holds block indices outside [0, {nb})")
            ctx["rand_attn"] = [t.long() for t in rand_attn]

        x = self.embeddings(input_ids, token_type_ids)
        hidden = [x] if output_hidden_states else []  # kept only on request: they hold memory per layer
        attentions = []
        for layer in self.encoder.layer:
            x, probs = layer(x, ctx)
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                attentions.append(probs)
        out = {"attention_type_used": kind}
        if self.pooler is not None:
            out["pooler_output"] = torch.tanh(self.pooler(x[:, 0]))
        out["last_hidden_state"] = x[:, :seq]
        if output_hidden_states:
            out["hidden_states"] = [h[:, :seq] for h in hidden]
        if output_attentions and kind == "original_full":
            out["attentions"] = attentions
        return out


# --------------------------------------------------------------------------------------------------- heads

class PredictionTransform(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size, device=device)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, device=device)
        self.act = activation(cfg.hidden_act)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class Predictions(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.transform = PredictionTransform(cfg, device)
        self.decoder = nn.Linear(cfg.hidden_size, cfg.vocab_size, device=device)  # weight/bias tied at load
        self.bias = nn.Parameter(torch.empty(cfg.vocab_size, device=device))

    def forward(self, x):
        return self.decoder(self.transform(x))


class MLMHead(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.predictions = Predictions(cfg, device)


class BigBirdForMaskedLM(nn.Module):
    prefix = "bert."

    def __init__(self, cfg, device=None):
        super().__init__()
        self.bert = BigBirdModel(cfg, True, device)
        self.cls = MLMHead(cfg, device)

    def forward(self, input_ids, attention_mask=None, labels=None, **kw):
        out = self.bert(input_ids, attention_mask, **kw)
        out["logits"] = self.cls.predictions(out["last_hidden_state"])
        if labels is not None:
            out["loss"] = F.cross_entropy(out["logits"].reshape(-1, out["logits"].shape[-1]), labels.reshape(-1),
                                          ignore_index=-100)
        return out


class ClassificationHead(nn.Module):
    """HF BigBirdClassificationHead: gelu_new dense on h[:,0] (the tanh pooler is not used)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size, device=device)
        self.out_proj = nn.Linear(cfg.hidden_size, cfg.num_labels, device=device)
        self.act = activation(cfg.hidden_act)
        self.p = cfg.classifier_dropout if cfg.classifier_dropout is not None else cfg.hidden_dropout_prob

    def forward(self, h):
        x = F.dropout(h[:, 0], self.p, self.training)
        x = F.dropout(self.act(self.dense(x)), self.p, self.training)
        return self.out_proj(x)


class BigBirdForSequenceClassification(nn.Module):
    prefix = "bert."

    def __init__(self, cfg, device=None):
        super().__init__()
        self.bert = BigBirdModel(cfg, True, device)
        self.classifier = ClassificationHead(cfg, device)

    def forward(self, input_ids, attention_mask=None, **kw):
        out = self.bert(input_ids, attention_mask, **kw)
        out["logits"] = self.classifier(out["last_hidden_state"])
        return out


class QAClassifier(nn.Module):
    """HF BigBirdForQuestionAnsweringHead (spec §5.4): dropout, intermediate, output(+LN residual), qa_outputs."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.intermediate = Intermediate(cfg, device)
        self.output = DenseLayerNorm(cfg, cfg.intermediate_size, device=device)
        self.qa_outputs = nn.Linear(cfg.hidden_size, 2, device=device)
        self.p = cfg.hidden_dropout_prob

    def forward(self, h):
        x = self.intermediate(F.dropout(h, self.p, self.training))
        return self.qa_outputs(self.output(x, h))


class BigBirdForQuestionAnswering(nn.Module):
    prefix = "bert."

    def __init__(self, cfg, device=None):
        super().__init__()
        self.bert = BigBirdModel(cfg, False, device)
        self.qa_classifier = QAClassifier(cfg, device)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, question_lengths=None, **kw):
        seq = input_ids.shape[1]
        if question_lengths is None:  # <cls> question <sep> context <sep>
            question_lengths = torch.argmax(input_ids.eq(self.bert.cfg.sep_token_id).int(), dim=-1) + 1
        qmask = (torch.arange(seq, device=input_ids.device)[None] < question_lengths.view(-1, 1)).long()
        if token_type_ids is None:
            token_type_ids = 1 - qmask
        qmask[:, 0] = 0  # keep [CLS] for "no answer" (HF PR #13143)
        out = self.bert(input_ids, attention_mask, token_type_ids=token_type_ids, **kw)
        logits = self.qa_classifier(out["last_hidden_state"]) - qmask[:, :, None] * 1e6
        out["start_logits"], out["end_logits"] = (t.squeeze(-1) for t in logits.split(1, dim=-1))
        out["token_type_ids"] = token_type_ids
        return out


class BareModel(nn.Module):
    """HF BigBirdModel checkpoint layout: no 'bert.' prefix."""
    prefix = ""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.bert = BigBirdModel(cfg, True, device)

    def forward(self, *a, **kw):
        return self.bert(*a, **kw)


ARCHITECTURES = {
    "BigBirdModel": BareModel,
    "BigBirdForMaskedLM": BigBirdForMaskedLM,
    "BigBirdForPreTraining": BigBirdForMaskedLM,  # same encoder + MLM weights; NSP head ignored
    "BigBirdForSequenceClassification": BigBirdForSequenceClassification,
    "BigBirdForQuestionAnswering": BigBirdForQuestionAnswering,
}


# ---------------------------------------------------------------------------------------------- weights

def checkpoint_name(model, name):
    """Our parameter name -> HF checkpoint name (BigBirdModel checkpoints have no 'bert.' prefix)."""
    if model.prefix == "" and name.startswith("bert."):
        return name[len("bert."):]
    return name


def parameter_slots(model):
    """[(our name, owning module, attribute)] for every parameter, tied ones included."""
    slots = []
    for mod_name, mod in model.named_modules():
        for attr, p in mod._parameters.items():
            if p is not None:
                slots.append((f"{mod_name}.{attr}" if mod_name else attr, mod, attr))
    return slots


TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias"}


def assign_weights(model, tensors, source="weights"):
    """Make every parameter of `model` (built on the meta device) a view of the loaded tensors (no copy)."""
    slots = parameter_slots(model)
    by_name = {}
    for name, mod, attr in slots:
        if name in TIED and (model.bert.cfg.tie_word_embeddings or checkpoint_name(model, name) not in tensors):
            continue
        key = checkpoint_name(model, name)
        if key not in tensors:
            raise ValueError(f"{source}: tensor '{key}' is missing")
        t = tensors[key]
        want = tuple(getattr(mod, attr).shape)
        if tuple(t.shape) != want:
            raise ValueError(f"{source}: tensor '{key}' has shape {tuple(t.shape)}, expected {want}")
        if t.dtype != torch.float32:
            t = t.float()
        param = nn.Parameter(t, requires_grad=True)
        mod._parameters[attr] = param
        by_name[name] = param
    for name, mod, attr in slots:
        if name in TIED and name not in by_name:
            mod._parameters[attr] = by_name[TIED[name]]


def load_model(model_dir, architecture=None):
    """config.json + model.safetensors (HF names) -> (model in eval mode, config)."""
    cfg = Config.from_file(os.path.join(model_dir, "config.json"))
    if cfg.model_type != "big_bird":
        raise ValueError(f"{model_dir}/config.json: model_type '{cfg.model_type}' is not big_bird")
    arch = architecture or (cfg.architectures or ["BigBirdModel"])[0]
    if arch not in ARCHITECTURES:
        raise ValueError(f"{model_dir}/config.json: architecture '{arch}' is not supported ({', '.join(ARCHITECTURES)})")
    path = os.path.join(model_dir, "model.safetensors")
    arrays = read_safetensors(path)
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    cls = ARCHITECTURES[arch]
    if cls is BareModel and "bert.embeddings.word_embeddings.weight" in tensors:
        cls = type("BertPrefixedModel", (BareModel,), {"prefix": "bert."})  # encoder of a head checkpoint
    if cls.prefix == "bert." and "embeddings.word_embeddings.weight" in tensors:
        raise ValueError(f"{path}: holds a bare BigBirdModel (no 'bert.' names, no head weights); "
                         f"architecture {arch} needs its head")
    model = cls(cfg, device="meta")
    assign_weights(model, tensors, path)
    return model.eval(), cfg


def load_inputs(path):
    return {k: torch.from_numpy(np.array(v)) for k, v in read_safetensors(path).items()}
