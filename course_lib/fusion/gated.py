"""Generated from notebooks/02_gated_fusion.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import numbers

import torch
import torch.nn as nn

from course_lib.encoders import masked_mean
from course_lib.fusion.early_late import check_features


class GRUGatedFusion(nn.Module):
    """The seed notes' GRU-like gated fusion: x1 (B, D1), x2 (B, D2) -> h (B, D2).

    z = sigmoid(W_z [x1; x2] + b_z) (update gate), r = sigmoid(W_r [x1; x2] + b_r) (reset gate),
    h = z * tanh(W_h [r * x1; x2] + b_h) + (1 - z) * x2: x2 is copied through, x1 enters only the candidate.
    """

    def __init__(self, d1, d2):
        super().__init__()
        self.dims, self.out_dim = (d1, d2), d2
        self.W_z = nn.Linear(d1 + d2, d2)  # update gate: how much of h the candidate rewrites
        self.W_r = nn.Linear(d1 + d2, d1)  # reset gate: how much of x1 the candidate reads
        self.W_h = nn.Linear(d1 + d2, d2)  # the candidate

    def gate(self, x1, x2):
        """(z (B, D2), r (B, D1)), both in (0, 1)."""
        check_features((x1, x2), self.dims)
        x = torch.cat([x1, x2], dim=-1)                                   # (B, D1 + D2)
        return torch.sigmoid(self.W_z(x)), torch.sigmoid(self.W_r(x))

    def forward(self, x1, x2):
        z, r = self.gate(x1, x2)
        h_cand = torch.tanh(self.W_h(torch.cat([r * x1, x2], dim=-1)))   # (B, D2)
        return z * h_cand + (1 - z) * x2

    def gate_weight(self, x1, x2):
        """Per sample, the mean of z (B,): the share of h rewritten by the candidate, the only path of x1."""
        return self.gate(x1, x2)[0].mean(-1)


class GMU(nn.Module):
    """Gated multimodal unit (Arevalo et al. 2017): x_v (B, D_v), x_t (B, D_t) -> h (B, d).

    h_v = tanh(W_v x_v), h_t = tanh(W_t x_t), z = sigmoid(W_z [x_v; x_t]), h = z * h_v + (1 - z) * h_t.
    z_fixed: None learns the gate; a number in [0, 1] replaces it by that constant: the same model without a gate.
    """

    def __init__(self, d_v, d_t, d=64, z_fixed=None):
        super().__init__()
        if z_fixed is not None and not (isinstance(z_fixed, numbers.Real) and 0 <= z_fixed <= 1):
            raise ValueError(f"z_fixed must be a number in [0, 1] or None, got {z_fixed!r}")
        self.dims, self.out_dim, self.z_fixed = (d_v, d_t), d, z_fixed
        self.W_v = nn.Linear(d_v, d, bias=False)
        self.W_t = nn.Linear(d_t, d, bias=False)
        self.W_z = nn.Linear(d_v + d_t, d, bias=False)

    def gate(self, x_v, x_t):
        """z (B, d) in (0, 1): per sample and feature, the share of h taken from the image's candidate h_v."""
        check_features((x_v, x_t), self.dims)
        z = torch.sigmoid(self.W_z(torch.cat([x_v, x_t], dim=-1)))
        return z if self.z_fixed is None else torch.full_like(z, self.z_fixed)

    def forward(self, x_v, x_t):
        z = self.gate(x_v, x_t)                                               # (B, d)
        h_v, h_t = torch.tanh(self.W_v(x_v)), torch.tanh(self.W_t(x_t))      # (B, d) each
        return z * h_v + (1 - z) * h_t

    def gate_weight(self, x_v, x_t):
        """Per sample, the mean of z over features (B,): the weight on the image."""
        return self.gate(x_v, x_t).mean(-1)


def check_tokens(h_img, m_img, h_txt, m_txt):
    """AFF's inputs: image cells (B, N, D) with mask (B, N), text tokens (B, T, D) with mask (B, T)."""
    shapes = [tuple(t.shape) for t in (h_img, m_img, h_txt, m_txt)]
    if h_img.dim() != 3 or h_txt.dim() != 3 or m_img.shape != h_img.shape[:2] or m_txt.shape != h_txt.shape[:2]:
        raise ValueError(f"expected cells (B, N, D), mask (B, N), tokens (B, T, D), mask (B, T); got {shapes}")
    if h_img.shape[0] != h_txt.shape[0]:
        raise ValueError(f"mismatched batch sizes between modalities: {[h_img.shape[0], h_txt.shape[0]]}")
    if h_img.shape[-1] != h_txt.shape[-1]:
        raise ValueError(f"AFF mixes feature by feature: both need one size D, got {h_img.shape[-1]} and "
                         f"{h_txt.shape[-1]}")
    if not (m_img.any(1).all() and m_txt.any(1).all()):
        raise ValueError("every sample needs at least one real image cell and one real text token")


class MSCAM(nn.Module):
    """Multi-scale channel attention (Dai et al. 2021): S (B, N, D) with mask (B, N) -> gate M (B, N, D) in (0, 1).

    M = sigmoid(L(S) + G(S)): L a point-wise bottleneck D -> D/r -> D on every cell (local), G the same shape of
    bottleneck on the mean over the real cells (global), broadcast to every cell. No BatchNorm: a sample's gate
    must not depend on its batch-mates.
    """

    def __init__(self, d, r=4):
        super().__init__()
        self.local = nn.Sequential(nn.Linear(d, d // r), nn.ReLU(), nn.Linear(d // r, d))
        self.glob = nn.Sequential(nn.Linear(d, d // r), nn.ReLU(), nn.Linear(d // r, d))

    def forward(self, S, mask):
        pooled = masked_mean(S, mask).unsqueeze(1)                 # (B, 1, D)
        return torch.sigmoid(self.local(S) + self.glob(pooled))    # (B, N, D)


class AFF(nn.Module):
    """Attentional feature fusion (Dai et al. 2021) of image cells with the sentence -> h (B, D).

    X: the image's cells (B, N, D); Y: the text's mean token (B, D), broadcast to every cell.
    AFF: M = MSCAM(X + Y). iAFF (iterative=True): M = MSCAM(M0 * X + (1 - M0) * Y) with M0 = MSCAM0(X + Y).
    Z = M * X + (1 - M) * Y (B, N, D), then the max over the real cells. Inputs are those of
    FusionClassifier(..., tokens=True): (h_img (B, N, D), m_img (B, N), h_txt (B, T, D), m_txt (B, T)).
    """

    def __init__(self, d, r=4, iterative=False):
        super().__init__()
        self.out_dim = d
        self.cam = MSCAM(d, r)
        self.cam0 = MSCAM(d, r) if iterative else None

    def _xy(self, h_img, m_img, h_txt, m_txt):
        check_tokens(h_img, m_img, h_txt, m_txt)
        return h_img, masked_mean(h_txt, m_txt).unsqueeze(1).expand_as(h_img)   # X, Y: (B, N, D) each

    def _gate(self, X, Y, m_img):
        S = X + Y                                                  # the initial integration
        if self.cam0 is not None:                                  # iAFF: integrate with a first AFF instead
            M0 = self.cam0(S, m_img)
            S = M0 * X + (1 - M0) * Y
        return self.cam(S, m_img)

    def gate(self, h_img, m_img, h_txt, m_txt):
        """M (B, N, D) in (0, 1): per cell and feature, the share taken from the image."""
        X, Y = self._xy(h_img, m_img, h_txt, m_txt)
        return self._gate(X, Y, m_img)

    def forward(self, h_img, m_img, h_txt, m_txt):
        X, Y = self._xy(h_img, m_img, h_txt, m_txt)
        M = self._gate(X, Y, m_img)
        Z = M * X + (1 - M) * Y                                    # (B, N, D)
        return Z.masked_fill(~m_img.unsqueeze(-1), float("-inf")).amax(1)

    def gate_weight(self, h_img, m_img, h_txt, m_txt):
        """Per sample, the mean of M over real cells and features (B,): the weight on the image."""
        return masked_mean(self.gate(h_img, m_img, h_txt, m_txt), m_img).mean(-1)
