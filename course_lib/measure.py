"""What a fusion costs: parameters, FLOPs, latency and memory; how well a retrieval model ranks (recall@k); and how
well a binary classifier ranks (AUROC, Hateful Memes' metric).

`count_flops` uses `torch.utils.flop_counter`; `peak_memory` reports peak CUDA memory on a GPU and, on any
device, the bytes autograd saves for backward (the part of training memory that fusion design changes).
"""
import time

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; a shared parameter counts once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(fn, *args, **kwargs) -> int:
    """FLOPs of one call `fn(*args, **kwargs)` (a multiply-add counts as 2), as torch's flop counter sees them."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn(*args, **kwargs)
    return counter.get_total_flops()


def latency(fn, *args, repeats: int = 20, warmup: int = 3, grad: bool = False, **kwargs) -> float:
    """Median seconds of one call `fn(*args, **kwargs)` (synchronising CUDA so GPU time is counted).

    grad=False times inference (no autograd graph); grad=True lets `fn` run a backward pass too.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = []
    with torch.set_grad_enabled(grad):
        for i in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            fn(*args, **kwargs)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def saved_tensor_bytes(fn, *args, **kwargs) -> int:
    """Bytes of the tensors autograd saves for backward during `fn(*args, **kwargs)` (each storage once)."""
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = (t.untyped_storage().data_ptr(), t.device)
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*args, **kwargs)
    return total


def peak_memory(fn, *args, **kwargs) -> dict:
    """Memory of one training-style call: {"saved_bytes": ..., "cuda_peak_bytes": ... or None}."""
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    saved = saved_tensor_bytes(fn, *args, **kwargs)
    return {"saved_bytes": saved, "cuda_peak_bytes": torch.cuda.max_memory_allocated() if cuda else None}


def recall_at_k(similarity: torch.Tensor, relevant: torch.Tensor, k: int) -> float:
    """Share of queries with at least one relevant item among their k most similar: similarity (Q, G) scores.

    relevant: (Q,) long, the one right gallery index per query, or (Q, G) bool, every right item (an image has
    several captions). Ties are broken by gallery order.
    """
    if similarity.dim() != 2:
        raise ValueError(f"similarity must be (queries, gallery), got shape {tuple(similarity.shape)}")
    n_queries, n_gallery = similarity.shape
    if not 1 <= k <= n_gallery:
        raise ValueError(f"k must be in 1..{n_gallery} (the gallery size), got {k}")
    if relevant.dim() == 1:
        if len(relevant) != n_queries or relevant.min() < 0 or relevant.max() >= n_gallery:
            raise ValueError(f"relevant must hold one gallery index in 0..{n_gallery - 1} per query "
                             f"({n_queries}), got shape {tuple(relevant.shape)}")
        relevant = torch.nn.functional.one_hot(relevant, n_gallery).bool()
    if relevant.shape != similarity.shape:
        raise ValueError(f"relevant must be (Q,) indices or a (Q, G) mask like similarity {tuple(similarity.shape)}, "
                         f"got {tuple(relevant.shape)}")
    if not relevant.any(1).all():
        raise ValueError("every query needs at least one relevant gallery item")
    top = similarity.topk(k, dim=1, sorted=True).indices                    # (Q, k)
    return relevant.gather(1, top).any(1).float().mean().item()


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve of scores (N,) for binary labels (N,): the chance that a random positive scores above
    a random negative, a tie counting half. Rank form (Mann-Whitney U): with R+ the sum of the positives' ranks among
    all N scores (1 = lowest, tied scores sharing their average rank), AUROC = (R+ - n+(n+ + 1)/2) / (n+ n-)."""
    scores, labels = scores.detach().flatten().double().cpu(), labels.detach().flatten().cpu()
    if scores.shape != labels.shape or not ((labels == 0) | (labels == 1)).all() or scores.isnan().any():
        raise ValueError(f"need N scores (no NaN) and N labels in {{0, 1}}, got shapes {tuple(scores.shape)} and "
                         f"{tuple(labels.shape)}")
    positive = labels.bool()
    n_pos, n_neg = positive.sum().item(), (~positive).sum().item()
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUROC needs both classes, got {n_pos} positives and {n_neg} negatives")
    _, group, counts = scores.unique(return_inverse=True, return_counts=True)   # tie groups, lowest score first
    last = counts.cumsum(0).double()                                           # rank of each group's last member
    ranks = (last - (counts - 1) / 2)[group]                                    # its members' average rank
    return ((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()
