"""Generated from notebooks/07_coordinated_and_sequence.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.encoders import inputs, make_encoders
from course_lib.measure import recall_at_k
from course_lib.models import mlp


MAX_SCALE = 100.0  # CLIP's clamp on the learned 1 / tau: without it a temperature can run to zero


class DualEncoder(nn.Module):
    """Two encoders into one coordinated space: images (B, 3, H, W) -> z_img (B, E), captions (B, T) -> z_txt (B, E).

    Both embeddings have unit length. forward(batch) -> logits (B, B), s_ij = cos(z_img_i, z_txt_j) / tau for every
    image i and caption j of the batch, with 1 / tau = exp(log_scale), learned unless learn_temperature=False.
    """

    def __init__(self, d=64, d_embed=32, temperature=0.07, learn_temperature=True):
        super().__init__()
        self.encoders = make_encoders(d, ("image", "text"))
        self.proj_img, self.proj_txt = nn.Linear(d, d_embed), nn.Linear(d, d_embed)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / temperature)), requires_grad=learn_temperature)

    @property
    def scale(self):
        return self.log_scale.exp().clamp(max=MAX_SCALE)

    def embed_images(self, x_img):
        return F.normalize(self.proj_img(self.encoders["image"](x_img)), dim=-1)

    def embed_texts(self, x_txt, mask):
        return F.normalize(self.proj_txt(self.encoders["text"](x_txt, mask)), dim=-1)

    def embed(self, batch):
        """(z_img (B, E), z_txt (B, E)) of a batch's pictures and captions."""
        return self.embed_images(*inputs(batch, "image")), self.embed_texts(*inputs(batch, "text"))

    def forward(self, batch):
        z_img, z_txt = self.embed(batch)
        return self.scale * z_img @ z_txt.T


def check_logits(logits):
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1] or len(logits) < 2:
        raise ValueError(f"contrastive logits must be a square (B, B) matrix with B >= 2, row i's partner on the "
                         f"diagonal; got shape {tuple(logits.shape)}")


def clip_loss(logits, batch=None):
    """CLIP's symmetric InfoNCE on logits (B, B): cross-entropy over each row (image -> captions) and each column
    (caption -> images), the partner on the diagonal, averaged. `batch` is unused (the `fit` loss signature)."""
    check_logits(logits)
    logits, target = logits.float(), torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def seed_loss(logits, batch=None):
    """The seed notes' contrastive loss on logits (B, B): images are the only anchors, and the positive is left out
    of the denominator: mean_i [log sum_{j != i} exp(s_ij) - s_ii]. Not a cross-entropy: it has no lower bound."""
    check_logits(logits)
    logits = logits.float()
    diagonal = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    return (logits.masked_fill(diagonal, float("-inf")).logsumexp(1) - logits.diagonal()).mean()


def retrieval(z_img, z_txt, captions, ks=(1, 5, 10)):
    """Recall@k both ways for N (picture, caption) rows: z_img (N, E), z_txt (N, E), captions (N, T) token ids.

    Many pictures share a caption (one-object pairs have 32 captions in all), so each distinct caption is one text
    query and every picture it describes is right; image -> text ranks the distinct captions. Returns
    {"text -> image": {k: recall}, "image -> text": {k: recall}}, k up to the gallery's size.
    """
    if not len(z_img) == len(z_txt) == len(captions) or z_img.shape[1:] != z_txt.shape[1:]:
        raise ValueError(f"need z_img (N, E), z_txt (N, E) and captions (N, T) for the same N rows; got "
                         f"{tuple(z_img.shape)}, {tuple(z_txt.shape)}, {tuple(captions.shape)}")
    distinct, caption_of = torch.unique(captions, dim=0, return_inverse=True)          # (C, T), (N,)
    first = torch.full((len(distinct),), len(captions)).scatter_reduce(0, caption_of, torch.arange(len(captions)),
                                                                       "amin")          # one row per caption
    z_cap = z_txt[first]                                                                 # (C, E)
    describes = caption_of[None, :] == torch.arange(len(distinct))[:, None]              # (C, N)
    return {"text -> image": {k: recall_at_k(z_cap @ z_img.T, describes, k) for k in ks if k <= len(captions)},
            "image -> text": {k: recall_at_k(z_img @ z_cap.T, caption_of, k) for k in ks if k <= len(distinct)}}


@dataclass
class CCA:
    """Linear CCA of two views: x (N, p) -> (x - mean_x) @ A (N, k), y (N, q) -> (y - mean_y) @ B (N, k).

    rho (k,): the canonical correlations, largest first; the projections have unit variance on the fitted data.
    """
    A: torch.Tensor
    B: torch.Tensor
    rho: torch.Tensor
    mean_x: torch.Tensor
    mean_y: torch.Tensor

    def project_x(self, x):
        return (x - self.mean_x) @ self.A

    def project_y(self, y):
        return (y - self.mean_y) @ self.B


def inverse_sqrt(S):
    """S^(-1/2) of a symmetric positive definite matrix (p, p), by its eigendecomposition."""
    w, V = torch.linalg.eigh(S)
    return V @ torch.diag(w.rsqrt()) @ V.T


def fit_cca(X, Y, k, reg=1e-3):
    """Closed-form CCA: whiten each view (S_xx^-1/2, S_yy^-1/2), then the SVD of the whitened cross-covariance
    S_xx^-1/2 S_xy S_yy^-1/2 = U diag(rho) V^T gives A = S_xx^-1/2 U_k and B = S_yy^-1/2 V_k.

    X (N, p), Y (N, q) in float64 is best; reg is added to the diagonals of S_xx and S_yy (features that never
    vary, like unused words, would make them singular).
    """
    if X.dim() != 2 or Y.dim() != 2 or len(X) != len(Y) or len(X) < 2:
        raise ValueError(f"CCA needs two views X (N, p) and Y (N, q) of the same N >= 2 rows; got "
                         f"{tuple(X.shape)} and {tuple(Y.shape)}")
    if not 1 <= k <= min(X.shape[1], Y.shape[1]):
        raise ValueError(f"k must be in 1..{min(X.shape[1], Y.shape[1])} (the smaller view's size), got {k}")
    mean_x, mean_y = X.mean(0), Y.mean(0)
    X, Y = X - mean_x, Y - mean_y
    n = len(X) - 1
    W_x = inverse_sqrt(X.T @ X / n + reg * torch.eye(X.shape[1], dtype=X.dtype))
    W_y = inverse_sqrt(Y.T @ Y / n + reg * torch.eye(Y.shape[1], dtype=Y.dtype))
    U, rho, Vh = torch.linalg.svd(W_x @ (X.T @ Y / n) @ W_y)
    return CCA(W_x @ U[:, :k], W_y @ Vh.T[:, :k], rho[:k], mean_x, mean_y)


class Matcher(nn.Module):
    """Image-text matching (ITM) on a DualEncoder: [z_img; z_txt; z_img * z_txt] -> MLP -> logits (B, 2),
    (mismatch, match). The encoders are the contrastive model's, fine-tuned with the head."""

    def __init__(self, dual: DualEncoder, hidden=64):
        super().__init__()
        self.dual = dual
        self.head = mlp(3 * dual.proj_img.out_features, hidden, 2)

    def forward(self, batch):
        z_img, z_txt = self.dual.embed(batch)
        return self.head(torch.cat([z_img, z_txt, z_img * z_txt], dim=-1))
