"""Generated from notebooks/04_bilinear_tensor_lowrank.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import math
import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.fusion.early_late import check_features


def signed_sqrt_l2(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The power and L2 normalisation of bilinear features (B, K) -> (B, K), unit norm per row."""
    return F.normalize(torch.sign(z) * torch.sqrt(z.abs() + eps), dim=-1)


class BilinearPool(nn.Module):
    """Bilinear pooling (Lin et al. 2015): x (B, T, Dx), y (B, T, Dy) -> vec(sum_t x_t y_t^T) (B, Dx * Dy).

    Pooled features (B, D) count as one position. The result goes through `signed_sqrt_l2`.
    """

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)
        if len(self.dims) != 2:
            raise ValueError(f"bilinear pooling fuses exactly 2 modalities, got dims {self.dims}")
        self.out_dim = self.dims[0] * self.dims[1]

    def forward(self, x, y):
        x, y = (h.unsqueeze(1) if h.dim() == 2 else h for h in (x, y))
        if x.dim() != 3 or y.dim() != 3 or x.shape[:2] != y.shape[:2]:
            raise ValueError(f"expected x (B, T, Dx) and y (B, T, Dy) with the same B and T, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        if (x.shape[-1], y.shape[-1]) != self.dims:
            raise ValueError(f"expected feature sizes {self.dims}, got {(x.shape[-1], y.shape[-1])}")
        return signed_sqrt_l2(torch.einsum("btx,bty->bxy", x, y).flatten(1))


class MFB(nn.Module):
    """Factorised bilinear pooling (Yu et al. 2017): x (B, Dx), y (B, Dy) -> (B, d_out).

    z = SumPool_k(U^T x * V^T y): each output is a bilinear form x^T W_o y with W_o of rank k; then `signed_sqrt_l2`.
    """

    def __init__(self, dims, d_out: int = 64, k: int = 5):
        super().__init__()
        self.dims, self.out_dim, self.k = tuple(dims), d_out, k
        if len(self.dims) != 2:
            raise ValueError(f"MFB fuses exactly 2 modalities, got dims {self.dims}")
        self.U = nn.Linear(self.dims[0], k * d_out)
        self.V = nn.Linear(self.dims[1], k * d_out)

    def forward(self, x, y):
        check_features((x, y), self.dims)
        joint = self.U(x) * self.V(y)                                       # (B, k * d_out)
        return signed_sqrt_l2(joint.view(-1, self.out_dim, self.k).sum(-1))  # sum-pool each group of k


class MCB(nn.Module):
    """Multimodal compact bilinear pooling (Fukui et al. 2016): x (B, Dx), y (B, Dy) -> (B, d_out).

    The count sketch of the outer product x y^T (buckets (b_x(j) + b_y(k)) mod d_out, signs s_x(j) s_y(k)), computed as
    the circular convolution of the two modalities' count sketches, by FFT; then `signed_sqrt_l2`. Buckets and signs
    are drawn once from `seed` and never trained: MCB has no parameters.
    """

    def __init__(self, dims, d_out: int = 1024, seed: int = 0):
        super().__init__()
        self.dims, self.out_dim = tuple(dims), d_out
        if len(self.dims) != 2:
            raise ValueError(f"MCB fuses exactly 2 modalities, got dims {self.dims}")
        g = torch.Generator().manual_seed(seed)
        for name, d in zip(("x", "y"), self.dims):
            self.register_buffer(f"bucket_{name}", torch.randint(d_out, (d,), generator=g))
            self.register_buffer(f"sign_{name}", torch.randint(2, (d,), generator=g).float() * 2 - 1)

    @staticmethod
    def count_sketch(h, bucket, sign, d):
        """h (B, D) -> (B, d): each feature, times its sign, added into its bucket."""
        return h.new_zeros(len(h), d).index_add_(1, bucket, h * sign)

    def compact(self, x, y):
        """The sketch of x y^T before normalisation (B, d_out)."""
        check_features((x, y), self.dims)
        with torch.autocast(x.device.type, enabled=False):                  # the FFT in float32, whatever AMP does
            sx = self.count_sketch(x.float(), self.bucket_x, self.sign_x, self.out_dim)
            sy = self.count_sketch(y.float(), self.bucket_y, self.sign_y, self.out_dim)
            return torch.fft.irfft(torch.fft.rfft(sx) * torch.fft.rfft(sy), n=self.out_dim)   # circular convolution

    def forward(self, x, y):
        return signed_sqrt_l2(self.compact(x, y))


def append_one(h: torch.Tensor) -> torch.Tensor:
    """[h; 1]: (B, D) -> (B, D + 1). The constant 1 is what keeps the lower-order terms in an outer product."""
    return torch.cat([h, h.new_ones(h.shape[0], 1)], dim=-1)


def outer(*zs: torch.Tensor) -> torch.Tensor:
    """Batched outer product of M vectors (B, D_m) -> (B, D_1, ..., D_M), entry [b, j_1.. j_M] = prod_m z_m[b, j_m]."""
    out = zs[0]
    for z in zs[1:]:
        out = out.unsqueeze(-1) * z.view(z.shape[0], *[1] * (out.dim() - 1), z.shape[1])
    return out


class TFN(nn.Module):
    """Tensor Fusion Network's fusion (Zadeh et al. 2017): M features (B, d_m) -> (B, d_out).

    out = W vec([h_1; 1] ⊗ ... ⊗ [h_M; 1]) + b. W has d_out * prod(d_m + 1) weights: keep the d_m small
    (wrap in `Projected` to map encoder features down first).
    """

    def __init__(self, dims, d_out: int):
        super().__init__()
        self.dims, self.out_dim = tuple(dims), d_out
        if len(self.dims) < 2:
            raise ValueError(f"tensor fusion needs at least 2 modalities, got dims {self.dims}")
        self.linear = nn.Linear(math.prod(d + 1 for d in self.dims), d_out)

    def tensor(self, *hs):
        """The fused tensor (B, d_1 + 1, ..., d_M + 1)."""
        check_features(hs, self.dims)
        return outer(*[append_one(h) for h in hs])

    def forward(self, *hs):
        return self.linear(self.tensor(*hs).flatten(1))


class LMF(nn.Module):
    """Low-rank Multimodal Fusion (Liu et al. 2018): M features (B, d_m) -> (B, d_out).

    out = sum_{i=1..r} prod_m (W_m^(i) [h_m; 1]) + b, with `factors[m]` (r, d_m + 1, d_out): TFN with its weight
    tensor held as a rank-r CP decomposition, r * d_out * sum(d_m + 1) + d_out parameters.
    """

    def __init__(self, dims, d_out: int, rank: int):
        super().__init__()
        self.dims, self.out_dim, self.rank = tuple(dims), d_out, rank
        if len(self.dims) < 2:
            raise ValueError(f"LMF needs at least 2 modalities, got dims {self.dims}")
        if not isinstance(rank, numbers.Integral) or rank < 1:
            raise ValueError(f"LMF: rank must be a positive integer, got {rank!r}")
        # a ParameterList, not a Python list: plain-list factors never reach .parameters() or the optimizer
        self.factors = nn.ParameterList(nn.Parameter(torch.randn(rank, d + 1, d_out) / math.sqrt(d + 1))
                                        for d in self.dims)
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, *hs):
        check_features(hs, self.dims)
        per_modality = [torch.einsum("bj,rjo->rbo", append_one(h), W) for h, W in zip(hs, self.factors)]
        return math.prod(per_modality).sum(0) + self.bias          # (r, B, d_out) -> (B, d_out)


class Projected(nn.Module):
    """Map each modality's features (B, D_m) to the fusion's small size d_m with its own Linear, then fuse."""

    def __init__(self, in_dims, fusion: nn.Module):
        super().__init__()
        self.in_dims = tuple(in_dims)
        if len(self.in_dims) != len(fusion.dims):
            raise ValueError(f"{len(self.in_dims)} input sizes for a fusion of {len(fusion.dims)} modalities")
        self.project = nn.ModuleList(nn.Linear(a, b) for a, b in zip(self.in_dims, fusion.dims))
        self.fusion, self.out_dim = fusion, fusion.out_dim

    def forward(self, *xs):
        check_features(xs, self.in_dims)
        return self.fusion(*[p(x) for p, x in zip(self.project, xs)])


def tfn_params(dims, d_out: int) -> int:
    """Parameters of TFN(dims, d_out): the weight tensor and the bias."""
    return d_out * math.prod(d + 1 for d in dims) + d_out


def lmf_params(dims, d_out: int, rank: int) -> int:
    """Parameters of LMF(dims, d_out, rank): r factors per modality and the bias."""
    return rank * d_out * sum(d + 1 for d in dims) + d_out


@torch.no_grad()
def lmf_from_tfn(tfn: TFN) -> LMF:
    """The LMF that computes exactly what `tfn` computes: an exact CP decomposition of its weight tensor.

    One rank-one term per index (j_1, .., j_{M-1}) of the first M - 1 modalities: factor m < M is the one-hot
    e_{j_m}, the last factor is the weight slice W[:, j_1, .., j_{M-1}, :]. Rank prod_{m<M} (d_m + 1).
    """
    *first, last = (d + 1 for d in tfn.dims)
    rank = math.prod(first)
    lmf = LMF(tfn.dims, tfn.out_dim, rank).to(tfn.linear.weight)
    index = torch.unravel_index(torch.arange(rank), tuple(first))         # rank term -> (j_1, .., j_{M-1})
    for factor, j, size in zip(lmf.factors, index, first):
        factor.copy_(F.one_hot(j, size).to(factor)[:, :, None].expand(-1, -1, tfn.out_dim))
    lmf.factors[-1].copy_(tfn.linear.weight.view(tfn.out_dim, rank, last).permute(1, 2, 0))
    lmf.bias.copy_(tfn.linear.bias)
    return lmf
