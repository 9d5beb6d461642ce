"""Architecture diagrams, drawn by code in one style, with the names each chapter's math uses.

A diagram is a list of boxes (a tensor or a layer, coloured by what it belongs to) and arrows (data flow) on a
canvas of abstract units; `draw` lays them out. Each public function returns one chapter's Figure:
`early_late_hybrid` (01), `gated_fusions` (02), `attention_fusions` (03), `tfn_and_lmf` (04), `mmbt_sequence` (05),
`pmf_layer` (06), `dual_encoder` and `mult_block` (07).
"""
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .viz import COLOURS


def _light(colour, strength: float = 0.55) -> tuple:
    """`colour` mixed with white: a box's fill, pale enough for black text on it."""
    return tuple(1 - strength * (1 - np.array(to_rgb(colour))))


KINDS = {**{m: _light(c) for m, c in COLOURS.items()},      # each modality in its colour of every other plot
         "layer": "#f0f0f0", "frozen": "#d9d9d9", "trained": "#fff3b0", "fused": "#dadaeb", "special": "#ffffff"}


@dataclass
class Box:
    """A labelled box centred at (x, y), w x h canvas units, filled by `kind` (a KINDS key)."""
    x: float
    y: float
    text: str
    kind: str = "layer"
    w: float = 2.0
    h: float = 0.6


def draw(boxes: dict, arrows=(), *, size=(10, 4), notes=()):
    """A Figure of `boxes` ({name: Box}) joined by `arrows` ((from, to) or (from, to, label)); `notes` are free texts
    (x, y, text). Canvas units: the boxes' extent, padded by 0.5."""
    fig, ax = plt.subplots(figsize=size)
    for b in boxes.values():
        if b.kind not in KINDS:
            raise ValueError(f"unknown box kind {b.kind!r}; use one of {sorted(KINDS)}")
        ax.add_patch(FancyBboxPatch((b.x - b.w / 2, b.y - b.h / 2), b.w, b.h, fc=KINDS[b.kind], ec="#555555",
                                    lw=0.8, boxstyle="round,pad=0.02,rounding_size=0.08"))
        ax.text(b.x, b.y, b.text, ha="center", va="center", fontsize=8.5)
    for arrow in arrows:
        a, b, label = (*arrow, "")[:3]
        start, end = boxes[a], boxes[b]
        dy, dx = end.y - start.y, end.x - start.x
        vertical = abs(dy) * start.w >= abs(dx) * start.h          # leave through the top/bottom or a side
        p0 = (start.x, start.y + start.h / 2 * (1 if dy > 0 else -1)) if vertical else \
            (start.x + start.w / 2 * (1 if dx > 0 else -1), start.y)
        p1 = (end.x, end.y - end.h / 2 * (1 if dy > 0 else -1)) if vertical else \
            (end.x - end.w / 2 * (1 if dx > 0 else -1), end.y)
        ax.add_patch(FancyArrowPatch(p0, p1, arrowstyle="-|>", mutation_scale=10, lw=0.9, color="#333333",
                                     shrinkA=1, shrinkB=1))
        if label:
            ax.text((p0[0] + p1[0]) / 2 + 0.08, (p0[1] + p1[1]) / 2, label, fontsize=7.5, color="#333333",
                    ha="left", va="center")
    for x, y, text in notes:
        ax.text(x, y, text, fontsize=8, ha="center", va="center", color="#333333", style="italic")
    xs = [b.x - b.w / 2 for b in boxes.values()] + [b.x + b.w / 2 for b in boxes.values()]
    ys = [b.y - b.h / 2 for b in boxes.values()] + [b.y + b.h / 2 for b in boxes.values()]
    ax.set(xlim=(min(xs) - 0.5, max(xs) + 0.5), ylim=(min(ys) - 0.5, max(ys) + 0.5), aspect="equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def early_late_hybrid():
    """Chapter 01: early fusion (one model on the concatenation), late fusion (a model per modality, decisions
    averaged) and hybrid (both, averaged)."""
    boxes = {}
    for name, x0 in (("early", 0.0), ("late", 4.6), ("hybrid", 9.2)):
        boxes[f"{name}_i"] = Box(x0, 0, "$h_{img}$", "image", 1.4)
        boxes[f"{name}_t"] = Box(x0 + 2.0, 0, "$h_{txt}$", "text", 1.4)
    boxes |= {"cat": Box(1.0, 1.3, "$[h_{img};\\ h_{txt}]$ → MLP", "fused", 2.6),
              "p_early": Box(1.0, 2.6, "$p_{early}(y \\mid x)$", "trained", 2.2),
              "f_i": Box(4.6, 1.3, "$f_{img}$ → $p_{img}$", "trained", 1.6),
              "f_t": Box(6.6, 1.3, "$f_{txt}$ → $p_{txt}$", "trained", 1.6),
              "mean": Box(5.6, 2.6, "$\\frac{1}{M} \\Sigma_m\\, p_m$ (or a vote)", "fused", 2.6),
              "h_i": Box(8.6, 1.3, "$p_{img}$", "trained", 1.3),
              "h_cat": Box(10.2, 1.3, "$p_{early}$", "trained", 1.3),
              "h_t": Box(11.8, 1.3, "$p_{txt}$", "trained", 1.3),
              "h_mean": Box(10.2, 2.6, "$\\frac{1}{M+1}(p_{early} + \\Sigma_m\\, p_m)$", "fused", 3.0)}
    arrows = [("early_i", "cat"), ("early_t", "cat"), ("cat", "p_early"), ("late_i", "f_i"), ("late_t", "f_t"),
              ("f_i", "mean"), ("f_t", "mean"), ("hybrid_i", "h_i"), ("hybrid_t", "h_t"), ("hybrid_i", "h_cat"),
              ("hybrid_t", "h_cat"), ("h_i", "h_mean"), ("h_cat", "h_mean"), ("h_t", "h_mean")]
    notes = [(1.0, 3.4, "early: fuse the features"), (5.6, 3.4, "late: fuse the decisions"),
             (10.2, 3.4, "hybrid: both")]
    return draw(boxes, arrows, size=(11, 3.4), notes=notes)


def gated_fusions():
    """Chapter 02: the seed's GRU-like gate (update z, reset r) beside the gated multimodal unit (GMU)."""
    boxes = {"x1": Box(0, 0, "$x_1$ (image)", "image", 1.8), "x2": Box(3.6, 0, "$x_2$ (text)", "text", 1.8),
             "r": Box(0, 1.3, "$r = \\sigma(W_r [x_1; x_2])$", "trained", 2.6),
             "z": Box(3.6, 1.3, "$z = \\sigma(W_z [x_1; x_2])$", "trained", 2.6),
             "cand": Box(0.6, 2.6, "$\\tilde h = \\tanh(W_h [r \\odot x_1; x_2])$", "fused", 3.4),
             "h": Box(1.8, 3.9, "$h = z \\odot \\tilde h + (1 - z) \\odot x_2$", "fused", 3.6),
             "xv": Box(7.6, 0, "$x_v$", "image", 1.2), "xt": Box(10.4, 0, "$x_t$", "text", 1.2),
             "hv": Box(7.6, 1.3, "$h_v = \\tanh(W_v x_v)$", "trained", 2.2),
             "zg": Box(9.0, 2.6, "$z = \\sigma(W_z [x_v; x_t])$", "trained", 2.6),
             "ht": Box(10.4, 1.3, "$h_t = \\tanh(W_t x_t)$", "trained", 2.2),
             "hg": Box(9.0, 3.9, "$h = z \\odot h_v + (1 - z) \\odot h_t$", "fused", 3.6)}
    arrows = [("x1", "r"), ("x2", "r"), ("x1", "z"), ("x2", "z"), ("r", "cand"), ("x2", "cand"), ("cand", "h"),
              ("z", "h"), ("x2", "h"), ("xv", "hv"), ("xt", "ht"), ("xv", "zg"), ("xt", "zg"), ("hv", "hg"),
              ("ht", "hg"), ("zg", "hg")]
    notes = [(1.8, 4.7, "GRU-like gate: $x_2$ reaches $h$ twice, $x_1$ once, through $r$"),
             (9.0, 4.7, "GMU: the gate $z$ weighs two projected modalities")]
    return draw(boxes, arrows, size=(10, 4.4), notes=notes)


def attention_fusions():
    """Chapter 03: co-attention (ViLBERT's co-TRM, two streams) beside merged attention (one stream)."""
    boxes = {
        "V": Box(0, 0, "image cells $V + P$", "image", 2.4), "T": Box(3.4, 0, "question $T$", "text", 2.4),
        "bV": Box(0, 1.6, "Block: $V + P$ attends to $T$", w=2.9),
        "bT": Box(3.4, 1.6, "Block: $T$ attends to $V + P$", w=2.9),
        "mV": Box(0, 3.0, "mean$(V')$", "image", 1.6), "mT": Box(3.4, 3.0, "mean$(T')$", "text", 1.6),
        "cat": Box(1.7, 4.2, "$[\\mathrm{mean}(V');\\ \\mathrm{mean}(T')]$ → head", "fused", 3.4),
        "X": Box(9.2, 0, "$X = [\\mathtt{CLS};\\ V + P + s_{img};\\ T + s_{txt}]$", "fused", 4.4),
        "b1": Box(9.2, 1.3, "Block (self-attention over $X$)", w=3.4),
        "b2": Box(9.2, 2.5, "Block (self-attention over $X$)", w=3.4),
        "cls": Box(9.2, 4.2, "$X'_{\\mathtt{CLS}}$ → head", "fused", 2.2),
    }
    arrows = [("V", "bV", "Q"), ("T", "bT", "Q"), ("T", "bV"), ("V", "bT"), ("bV", "mV"), ("bT", "mT"),
              ("mV", "cat"), ("mT", "cat"), ("X", "b1"), ("b1", "b2"), ("b2", "cls")]
    notes = [(1.7, 5.0, "co-attention: each stream's queries read the other's keys and values"),
             (9.2, 5.0, "merged: one sequence, every token attends to every token")]
    return draw(boxes, arrows, size=(11, 4.2), notes=notes)


def tfn_and_lmf():
    """Chapter 04: TFN's tensor (unimodal, bimodal and trimodal blocks in one product) beside LMF's factors."""
    boxes = {f"z{m}": Box(x, 0, f"$z_{m} = [h_{m};\\, 1]$", kind, 1.9)
             for m, x, kind in (("a", 0, "image"), ("b", 2.3, "text"), ("c", 4.6, "audio"))}
    boxes |= {"Z": Box(2.3, 1.5, "$\\mathcal{Z} = z_a \\otimes z_b \\otimes z_c$   $(d_a{+}1)(d_b{+}1)(d_c{+}1)$",
                       "fused", 5.6),
              "blocks": Box(2.3, 2.55, "blocks: 1 | $h_a, h_b, h_c$ | $h_a \\otimes h_b$, ... | "
                                       "$h_a \\otimes h_b \\otimes h_c$", w=5.6),
              "W": Box(2.3, 3.6, "out $= \\mathcal{W} \\cdot \\mathcal{Z} + b$", "trained", 2.8)}
    lmf = {f"l{m}": Box(x, 0, f"$z_{m}$", kind, 1.2) for m, x, kind in (("a", 8.4, "image"), ("b", 10.4, "text"),
                                                                          ("c", 12.4, "audio"))}
    lmf |= {f"f{m}": Box(x, 1.5, f"$W_{m}^{{(i)}} z_{m}$, $i = 1..r$", "trained", 1.8)
            for m, x in (("a", 8.4), ("b", 10.4), ("c", 12.4))}
    lmf |= {"prod": Box(10.4, 2.55, "$\\Pi_m$ (element-wise), for each $i$", "fused", 3.0),
            "sum": Box(10.4, 3.6, "out $= \\Sigma_{i=1}^{r}\\, \\Pi_m\\, W_m^{(i)} z_m + b$", "fused", 3.6)}
    arrows = ([(f"z{m}", "Z") for m in "abc"] + [("Z", "blocks"), ("blocks", "W")]
              + [(f"l{m}", f"f{m}") for m in "abc"] + [(f"f{m}", "prod") for m in "abc"] + [("prod", "sum")])
    notes = [(2.3, 4.4, "TFN: the whole tensor, then one linear layer"),
             (10.4, 4.4, "LMF: rank-$r$ factors, the tensor never formed")]
    return draw(boxes | lmf, arrows, size=(11, 3.9), notes=notes)


def mmbt_sequence(n_image: int = 3, n_words: int = 4):
    """Chapter 05: MMBT's input, token by token, with its segment and (restarting) position ids."""
    tokens = (["[CLS]"] + [f"$v_{k}$" for k in range(1, n_image + 1)] + ["[SEP]"]
              + [f"$w_{t}$" for t in range(1, n_words)] + ["[SEP]"])        # the sentence's last word w_T is [SEP]
    kinds = ["special"] + ["image"] * n_image + ["special"] + ["text"] * n_words
    segments = [0] * (n_image + 2) + [1] * n_words
    positions = list(range(n_image + 2)) + list(range(n_words))
    step = 1.25
    boxes = {}
    for i, (tok, kind, s, p) in enumerate(zip(tokens, kinds, segments, positions)):
        boxes[f"x{i}"] = Box(i * step, 0, tok, kind, 1.1)
        boxes[f"s{i}"] = Box(i * step, -0.9, f"$s$={s}", "image" if s == 0 else "text", 1.1, 0.45)
        boxes[f"p{i}"] = Box(i * step, -1.6, f"$p$={p}", "layer", 1.1, 0.45)
    last = len(tokens) - 1
    boxes["cnn"] = Box(2 * step, 1.5, "CNN grid $F$ → pool to $N$ regions → $W_I$", "image", 3.6)
    boxes["bert"] = Box(last * step / 2, -2.9, "$h^0 = $ LayerNorm$(x + P_p + S_s)$ for every token → "
                        "BERT ($L$ layers) → [CLS] → $\\hat y$", "trained", 10.0)
    arrows = [("cnn", f"x{k}") for k in range(1, n_image + 1)] + [(f"p{last // 2}", "bert")]
    notes = [(-1.6, 0, "token $x$"), (-1.6, -0.9, "segment"), (-1.6, -1.6, "position")]
    return draw(boxes, arrows, size=(11, 3.2), notes=notes)


def pmf_layer():
    """Chapter 06: one PMF fusion layer l >= L_f for both modalities: the query stage, then the fusion stage."""
    boxes = {}
    for m, o, x, kind, side in (("t", "v", 0.0, "text", 1), ("v", "t", 7.6, "image", -1)):
        inner, outer = x + 1.8 * side, x - 1.0 * side      # the mapping leans inward, the fusion stage outward
        boxes[f"q_in{m}"] = Box(x, 0, f"$[h^{m}_l;\\ C^{m}_l;\\ Q^{m}_l]$  (QCP, QP)", kind, 3.4)
        boxes[f"q_f{m}"] = Box(x, 1.2, f"frozen $f^{m}_l$ (query stage)", "frozen", 3.4)
        boxes[f"g{m}"] = Box(inner, 2.4, f"QP outputs → $g^{{{m}\\to {o}}}_l$", "trained", 2.8)
        boxes[f"f_in{m}"] = Box(outer, 3.6, f"$[h^{m}_l;\\ F^{m}_l;\\ z^{{{o}\\to {m}}}_l]$  (FCP)", kind, 3.2)
        boxes[f"f_f{m}"] = Box(outer, 4.8, f"frozen $f^{m}_l$ (fusion stage)", "frozen", 3.2)
        boxes[f"out{m}"] = Box(outer, 6.0, f"$h^{m}_{{l+1}}$: the first $T_{m}$ outputs", kind, 3.2)
    arrows = [(f"q_in{m}", f"q_f{m}") for m in "tv"] + [(f"q_f{m}", f"g{m}") for m in "tv"]
    arrows += [("gt", "f_inv", "$z^{t\\to v}_l$"), ("gv", "f_int", "$z^{v\\to t}_l$")]
    arrows += [(f"f_in{m}", f"f_f{m}") for m in "tv"] + [(f"f_f{m}", f"out{m}") for m in "tv"]
    notes = [(3.8, 6.9, "trained: the prompts $C, Q, F$, the mappings $g$ and the heads; frozen: every $f_l$")]
    return draw(boxes, arrows, size=(10, 6), notes=notes)


def dual_encoder():
    """Chapter 07: two encoders into one space; the B x B similarity matrix and its diagonal of true pairs."""
    boxes = {"img": Box(0, 0, "images $x^{img}_i$", "image", 2.0),
             "txt": Box(4.0, 0, "captions $x^{txt}_j$", "text", 2.2),
             "ei": Box(0, 1.2, "image encoder → $h^{img}_i$", "trained", 2.8),
             "et": Box(4.0, 1.2, "text encoder → $h^{txt}_j$", "trained", 2.8),
             "zi": Box(0, 2.4, "$z^{img}_i = W_{img} h^{img}_i / \\Vert\\cdot\\Vert$", "image", 3.0),
             "zt": Box(4.0, 2.4, "$z^{txt}_j = W_{txt} h^{txt}_j / \\Vert\\cdot\\Vert$", "text", 3.0),
             "s": Box(2.0, 3.6, "$s_{ij} = z^{img}_i \\cdot z^{txt}_j / \\tau$   "
                                "($B \\times B$, true pairs on the diagonal)", "fused", 5.6),
             "loss": Box(2.0, 4.7, "symmetric InfoNCE: rows and columns", "fused", 3.6)}
    arrows = [("img", "ei"), ("txt", "et"), ("ei", "zi"), ("et", "zt"), ("zi", "s"), ("zt", "s"), ("s", "loss")]
    return draw(boxes, arrows, size=(7, 4.4))


def mult_block():
    """Chapter 07: one MulT cross-modal block, source beta into target alpha (any two lengths)."""
    boxes = {"xa": Box(0, 0, "$X_\\alpha$  $(T_\\alpha \\times D)$", "text", 2.4),
             "xb": Box(4.2, 0, "$X_\\beta$  $(T_\\beta \\times D)$", "audio", 2.4),
             "q": Box(0, 1.2, "$Q = X_\\alpha W_Q$", "trained", 2.0),
             "kv": Box(4.2, 1.2, "$K = X_\\beta W_K,\\ V = X_\\beta W_V$", "trained", 3.2),
             "att": Box(2.1, 2.4, "softmax$(QK^\\top/\\sqrt{d})\\,V$: a $T_\\alpha \\times T_\\beta$ map", "fused",
                        4.6),
             "res": Box(2.1, 3.6, "+ $X_\\alpha$, then a feed-forward layer (+ residual)", "layer", 4.6),
             "out": Box(2.1, 4.8, "$\\mathrm{CM}_{\\beta\\to\\alpha}$  $(T_\\alpha \\times D)$", "text", 3.0)}
    arrows = [("xa", "q"), ("xb", "kv"), ("q", "att"), ("kv", "att"), ("att", "res"), ("res", "out")]
    return draw(boxes, arrows, size=(6.5, 4.6))
