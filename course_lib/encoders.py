"""The unimodal encoders every chapter shares, all ending in the same feature size D.

- `ImageEncoder`: a small CNN; `tokens` gives a grid of cells (B, N, D), `forward` the pooled (B, D).
- `TextEncoder`: word embeddings + a bidirectional GRU; `tokens` (B, T, D), `forward` masked mean (B, D).
- `AudioEncoder`: a strided 1-D CNN over the waveform; `tokens` frames (B, T', D) with their mask.
`encode(encoders, batch)` routes a batch dict to them. Chapters compare fusions on top of identical encoders.
"""
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .world import VOCAB

MODALITIES = ("image", "text", "audio")


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of x (B, T, D) counting only positions where mask (B, T) is True -> (B, D)."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class ImageEncoder(nn.Module):
    """(..., 3, H, W) images -> (..., N, D) grid cells (N = (H/8)*(W/8)) or pooled (..., D)."""

    def __init__(self, d: int = 64, width: int = 32):
        super().__init__()
        self.d = d
        self.net = nn.Sequential(  # 4x4 patches (32 -> 8 cells a side), then a 3x3 conv with stride 2 (8 -> 4)
            nn.Conv2d(3, width, 4, stride=4), nn.ReLU(),
            nn.Conv2d(width, d, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.proj = nn.Linear(d, d)

    def tokens(self, x_img: torch.Tensor) -> torch.Tensor:
        if x_img.dim() < 4 or x_img.shape[-3] != 3:
            raise ValueError(f"image must be (..., 3, H, W), got shape {tuple(x_img.shape)}")
        lead = x_img.shape[:-3]
        f = self.net(x_img.reshape(-1, *x_img.shape[-3:]))       # (B', D, h, w)
        cells = f.flatten(2).transpose(1, 2)                       # (B', N, D)
        return cells.reshape(*lead, *cells.shape[1:])

    def forward(self, x_img: torch.Tensor) -> torch.Tensor:
        # max over cells: a small object lights up a few cells, a mean would dilute it
        return self.proj(self.tokens(x_img).amax(-2))


class TextEncoder(nn.Module):
    """(B, T) token ids + (B, T) mask -> (B, T, D) contextual tokens or pooled (B, D); each row needs a real token."""

    def __init__(self, d: int = 64, vocab_size: int = len(VOCAB), d_emb: int = 32):
        super().__init__()
        if d % 2:
            raise ValueError(f"d must be even (two GRU directions of d/2), got {d}")
        self.d = d
        self.embed = nn.Embedding(vocab_size, d_emb, padding_idx=VOCAB.pad_id)
        self.gru = nn.GRU(d_emb, d // 2, batch_first=True, bidirectional=True)

    def tokens(self, x_txt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if x_txt.dim() != 2 or x_txt.shape != mask.shape:
            raise ValueError(f"text must be (B, T) with a mask of the same shape, got {tuple(x_txt.shape)} "
                             f"and {tuple(mask.shape)}")
        lengths = mask.sum(1).cpu()                                # packing wants them on the CPU
        if not lengths.all():  # an empty row would silently pool to a zero vector
            rows = (lengths == 0).nonzero().flatten().tolist()
            raise ValueError(f"text rows {rows[:10]}{' ...' if len(rows) > 10 else ''} are all padding (mask all "
                             "False): a sample without text still holds '[CLS] [SEP]' with those two mask entries "
                             "True, as make_task's p_missing writes it")
        packed = pack_padded_sequence(self.embed(x_txt), lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x_txt.shape[1])
        return out                                                 # (B, T, D), zeros at padding

    def forward(self, x_txt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(self.tokens(x_txt, mask), mask)


class AudioEncoder(nn.Module):
    """(B, A) waveform + (B, A) mask -> frames (B, T', D) with mask (B, T'), T' = ceil(A / 16), or pooled (B, D)."""

    STRIDE = 16

    def __init__(self, d: int = 64, width: int = 16):
        super().__init__()
        self.d = d
        self.net = nn.Sequential(
            nn.Conv1d(1, width, 9, stride=4, padding=4), nn.ReLU(),
            nn.Conv1d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv1d(2 * width, d, 5, stride=2, padding=2), nn.ReLU(),
        )

    def tokens(self, x_aud: torch.Tensor, mask: torch.Tensor):
        if x_aud.dim() != 2 or x_aud.shape != mask.shape:
            raise ValueError(f"audio must be (B, A) with a mask of the same shape, got {tuple(x_aud.shape)} "
                             f"and {tuple(mask.shape)}")
        frames = self.net(x_aud.unsqueeze(1)).transpose(1, 2)     # (B, T', D)
        n_frames = (mask.sum(1) + self.STRIDE - 1) // self.STRIDE
        frame_mask = torch.arange(frames.shape[1], device=x_aud.device) < n_frames.unsqueeze(1)
        return frames, frame_mask

    def forward(self, x_aud: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(*self.tokens(x_aud, mask))


def make_encoders(d: int = 64, modalities=MODALITIES) -> nn.ModuleDict:
    """Fresh encoders for the given modalities, all with output size d."""
    classes = {"image": ImageEncoder, "text": TextEncoder, "audio": AudioEncoder}
    unknown = set(modalities) - set(classes)
    if unknown:
        raise ValueError(f"unknown modalities {sorted(unknown)}; choose from {list(classes)}")
    return nn.ModuleDict({m: classes[m](d) for m in modalities})


def inputs(batch: dict, modality: str) -> tuple:
    """The tensors of `batch` that the encoder of `modality` reads, with a clear error when they are missing."""
    keys = {"image": ("image",), "text": ("text", "text_mask"), "audio": ("audio", "audio_mask")}
    if modality not in keys:
        raise ValueError(f"unknown modality {modality!r}; choose from {list(keys)}")
    missing = [k for k in keys[modality] if k not in batch]
    if missing:
        raise KeyError(f"the model needs the {modality} modality but the batch has no {missing} "
                       f"(batch keys: {sorted(batch)})")
    return tuple(batch[k] for k in keys[modality])


def _check_batch_sizes(sizes: dict) -> None:
    if len(set(sizes.values())) > 1:
        raise ValueError(f"modalities disagree on the batch size: {sizes}")


def encode_bag(encoder: nn.Module, images: torch.Tensor, bag_mask: torch.Tensor) -> torch.Tensor:
    """Bag of images (B, K, 3, H, W) with mask (B, K) -> (B, K, D); only real items are encoded, padding is 0."""
    feats = encoder(images[bag_mask])                              # (n_items, D)
    out = feats.new_zeros(*bag_mask.shape, feats.shape[-1])
    out[bag_mask] = feats
    return out


def encode(encoders: nn.ModuleDict, batch: dict) -> dict:
    """{modality: pooled features} for every encoder in `encoders`: (B, D), or (B, K, D) for a bag of images."""
    feats = {m: encode_bag(enc, batch["image"], batch["bag_mask"]) if m == "image" and "bag_mask" in batch
             else enc(*inputs(batch, m)) for m, enc in encoders.items()}
    _check_batch_sizes({m: h.shape[0] for m, h in feats.items()})
    return feats


def encode_tokens(encoders: nn.ModuleDict, batch: dict) -> dict:
    """{modality: (tokens (B, T, D), mask (B, T))}: image grid cells (all real), text tokens, audio frames."""
    out = {}
    for m, enc in encoders.items():
        x = inputs(batch, m)
        if m == "image":
            cells = enc.tokens(*x)
            out[m] = (cells, torch.ones(cells.shape[:2], dtype=torch.bool, device=cells.device))
        elif m == "text":
            out[m] = (enc.tokens(*x), x[1])
        else:
            out[m] = enc.tokens(*x)
    _check_batch_sizes({m: t.shape[0] for m, (t, _) in out.items()})
    return out


class UnimodalClassifier(nn.Module):
    """One encoder and a small MLP head: the unimodal baseline that every fusion must beat."""

    def __init__(self, modality: str, n_classes: int, d: int = 64, hidden: int = 64):
        super().__init__()
        self.modality = modality
        self.encoders = make_encoders(d, (modality,))
        self.head = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(encode(self.encoders, batch)[self.modality])
