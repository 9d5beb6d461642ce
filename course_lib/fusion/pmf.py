"""Generated from notebooks/06_pmf.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import torch
import torch.nn as nn

from course_lib.measure import count_parameters

STREAMS = ("text", "image")


def _hidden(out):
    """A transformers layer's output: a tensor in transformers 5, a tuple (tensor, ...) in 4.x."""
    return out[0] if isinstance(out, tuple) else out


def _layers(model: nn.Module) -> nn.ModuleList:
    """The layers of a BertModel (`encoder.layer`) or a ViTModel (`encoder.layer` in 4.x, `layers` in 5.x)."""
    return model.encoder.layer if hasattr(model, "encoder") else model.layers


def additive_mask(keep: torch.Tensor, n_extra: int, dtype: torch.dtype) -> torch.Tensor:
    """keep (B, T) bool, True on real tokens -> (B, 1, 1, T + n_extra): 0 where a key is visible, a huge negative
    number on padding; the n_extra prompts appended after the tokens are always visible. This additive
    (B, 1, 1, keys) form is what BertLayer adds to its attention scores in transformers 4.x and 5.x alike."""
    keep = torch.cat([keep, keep.new_ones(len(keep), n_extra)], dim=1)
    return (~keep)[:, None, None, :].to(dtype) * torch.finfo(dtype).min


def mapping(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """The non-linear map that carries one modality's query-prompt outputs (B, M, d_in) into the other's space. It
    ends in a LayerNorm, so the message arrives as loud as the tokens it joins (section 3 measures why)."""
    return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out), nn.LayerNorm(d_out))


def check_batch(batch: dict, text: nn.Module, image: nn.Module) -> None:
    """Raise a ValueError naming the problem unless the batch fits both backbones."""
    if not {"image", "text", "text_mask"} <= batch.keys():
        raise ValueError(f"a batch needs 'image', 'text' and 'text_mask', got {sorted(batch)}")
    img, ids, mask = batch["image"], batch["text"], batch["text_mask"]
    c, s = image.config.num_channels, image.config.image_size
    if img.dim() != 4 or tuple(img.shape[1:]) != (c, s, s):
        raise ValueError(f"image must be (B, {c}, {s}, {s}), got {tuple(img.shape)}")
    if ids.dim() != 2 or mask.shape != ids.shape or mask.dtype != torch.bool:
        raise ValueError(f"text must be (B, T) ids with a bool text_mask of the same shape, got {tuple(ids.shape)} "
                         f"and {tuple(mask.shape)} {mask.dtype}")
    if len(img) != len(ids):
        raise ValueError(f"mismatched batch sizes: {len(img)} images, {len(ids)} texts")
    if ids.shape[1] > text.config.max_position_embeddings:
        raise ValueError(f"text has {ids.shape[1]} tokens, more than the BERT's max_position_embeddings = "
                         f"{text.config.max_position_embeddings}")


class PMF(nn.Module):
    """Prompt-based fusion of a frozen BertModel and a frozen ViTModel: batch -> logits (B, n_classes).

    fusion_layer: L_f in 0..L (L = the backbones' common depth); layers L_f..L-1 fuse, L_f = L fuses nothing
    (two frozen encoders with linear heads). qp, qcp, fcp: prompt lengths per fusion layer and modality (0 allowed;
    qp = 0 sends no message). mapping_hidden: the mappings' width (default: half the wider backbone).
    The backbones are frozen in place and kept in eval mode (no dropout), whatever `.train()` says.
    """

    def __init__(self, text: nn.Module, image: nn.Module, n_classes: int, fusion_layer: int, qp: int = 4,
                 qcp: int = 4, fcp: int = 4, mapping_hidden: int | None = None):
        super().__init__()
        L = len(_layers(text))
        if len(_layers(image)) != L:
            raise ValueError(f"the backbones need the same depth, got {L} text and {len(_layers(image))} image layers")
        if not 0 <= fusion_layer <= L:
            raise ValueError(f"fusion_layer must be in 0..{L}, got {fusion_layer}")
        if min(qp, qcp, fcp) < 0:
            raise ValueError(f"prompt lengths must be >= 0, got qp={qp}, qcp={qcp}, fcp={fcp}")
        self.backbones = nn.ModuleDict({"text": text, "image": image}).requires_grad_(False).eval()
        self.fusion_layer, self.n_layers, self.length = fusion_layer, L, {"qp": qp, "qcp": qcp, "fcp": fcp}
        d = {m: self.backbones[m].config.hidden_size for m in STREAMS}
        n_fusion, hidden = L - fusion_layer, mapping_hidden or max(d.values()) // 2
        # one (n_fusion, M, D) tensor per modality and prompt kind; row i holds fusion layer L_f + i's prompts
        self.prompts = nn.ParameterDict({f"{m}_{k}": nn.Parameter(0.02 * torch.randn(n_fusion, n, d[m]))
                                         for m in STREAMS for k, n in self.length.items()})
        self.maps = nn.ModuleList(nn.ModuleDict({"text": mapping(d["text"], hidden, d["image"]),     # text -> image
                                                 "image": mapping(d["image"], hidden, d["text"])})   # image -> text
                                  for _ in range(n_fusion))
        self.heads = nn.ModuleDict({m: nn.Linear(d[m], n_classes) for m in STREAMS})

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbones.eval()               # frozen layers stay deterministic: no dropout
        return self

    def trainable_share(self) -> float:
        """Trainable parameters (prompts, mappings, heads) / all parameters, backbones included."""
        return count_parameters(self) / count_parameters(self, trainable_only=False)

    def _layer(self, m: str, l: int, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """Frozen layer l of modality m on x (B, T + extra, D), where keep (B, T) marks the real tokens among the
        first T (None: all real, no mask) and the extra tokens are prompts, always visible."""
        mask = None if keep is None else additive_mask(keep, x.shape[1] - keep.shape[1], x.dtype)
        return _hidden(_layers(self.backbones[m])[l](x, mask))

    def _prompt(self, m: str, kind: str, i: int, B: int) -> torch.Tensor:
        """Fusion layer L_f + i's prompts of one kind for modality m: (B, M, D)."""
        return self.prompts[f"{m}_{kind}"][i].expand(B, -1, -1)

    def forward(self, batch: dict) -> torch.Tensor:
        text, image = self.backbones["text"], self.backbones["image"]
        check_batch(batch, text, image)
        keep = {"text": batch["text_mask"], "image": None}             # every patch is real
        with torch.no_grad():                                          # below L_f: no graph, nothing saved
            h = {"text": text.embeddings(input_ids=batch["text"]), "image": image.embeddings(batch["image"])}
            for l in range(self.fusion_layer):
                h = {m: self._layer(m, l, h[m], keep[m]) for m in STREAMS}
        B, qcp = len(batch["text"]), self.length["qcp"]
        for i, l in enumerate(range(self.fusion_layer, self.n_layers)):
            message = {}
            for m, o in (("text", "image"), ("image", "text")):      # query stage: m's QP outputs -> o's space
                x = torch.cat([h[m], self._prompt(m, "qcp", i, B), self._prompt(m, "qp", i, B)], dim=1)
                message[o] = self.maps[i][m](self._layer(m, l, x, keep[m])[:, h[m].shape[1] + qcp:])
            for m in STREAMS:                                          # fusion stage: same frozen layer, o's message
                x = torch.cat([h[m], self._prompt(m, "fcp", i, B), message[m]], dim=1)
                h[m] = self._layer(m, l, x, keep[m])[:, :h[m].shape[1]]
        cls = {"text": h["text"][:, 0], "image": image.layernorm(h["image"])[:, 0]}   # ViT ends with a LayerNorm
        return (self.heads["text"](cls["text"]) + self.heads["image"](cls["image"])) / 2


class FullFineTune(nn.Module):
    """The memory baseline (the paper's late concatenation): both backbones trainable end to end, their final
    [CLS] concatenated and read by an MLP head: batch -> logits (B, n_classes). The non-linear head lets the two
    [CLS] interact, so it can solve tasks (like synergy) that averaged per-modality heads cannot."""

    def __init__(self, text: nn.Module, image: nn.Module, n_classes: int, hidden: int = 128):
        super().__init__()
        self.backbones = nn.ModuleDict({"text": text, "image": image}).requires_grad_(True)
        d = text.config.hidden_size + image.config.hidden_size
        self.head = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, n_classes))

    def forward(self, batch: dict) -> torch.Tensor:
        text, image = self.backbones["text"], self.backbones["image"]
        check_batch(batch, text, image)
        t = text(input_ids=batch["text"], attention_mask=batch["text_mask"].long()).last_hidden_state[:, 0]
        v = image(pixel_values=batch["image"]).last_hidden_state[:, 0]
        return self.head(torch.cat([t, v], dim=-1))
