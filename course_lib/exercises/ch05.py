"""Checks for the exercises of notebooks/05_mmbt.ipynb."""
import torch
import torch.nn as nn

from . import exercise


@exercise
def check_layout(segments_and_positions):
    """segments_and_positions(N, T) -> (segment ids, position ids) of [CLS] img_1..img_N [SEP] + T text tokens."""
    for N, T in [(1, 4), (3, 7), (8, 2)]:
        got = segments_and_positions(N, T)
        assert len(got) == 2, f"return two lists (segments, positions), got {got!r}"
        segments, positions = (list(map(int, x)) for x in got)
        assert len(segments) == len(positions) == N + 2 + T, (
            f"N={N}, T={T}: the sequence has N + 2 + T = {N + 2 + T} tokens ([CLS], N images, [SEP], T text), "
            f"you gave {len(segments)} segment ids and {len(positions)} positions")
        assert segments == [0] * (N + 2) + [1] * T, (
            f"N={N}, T={T}: [CLS], the image tokens and the first [SEP] are segment 0, the text segment 1; "
            f"you gave {segments}")
        assert positions == list(range(N + 2)) + list(range(T)), (
            f"N={N}, T={T}: positions count the image block from 0 and restart at 0 for the text; you gave {positions}")


@exercise
def check_pool_cells(pool_cells):
    """pool_cells(cells (B, D, 4, 4), rows, cols) -> (B, rows * cols, D), the regions' means in row-major order."""
    cells = torch.randn(2, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    for rows, cols in [(1, 1), (2, 2), (4, 2), (3, 1), (3, 3)]:
        want = nn.AdaptiveAvgPool2d((rows, cols))(cells).flatten(2).transpose(1, 2)
        got = pool_cells(cells, rows, cols)
        assert tuple(got.shape) == tuple(want.shape), (
            f"({rows}, {cols}) regions: expected shape {tuple(want.shape)} (B, N, D), got {tuple(got.shape)}")
        assert torch.allclose(got, want, atol=1e-5), (
            f"({rows}, {cols}) regions: the means differ from AdaptiveAvgPool2d" + (
                "; when 4 cells do not split evenly the regions overlap: region i starts at floor(4 i / n) and "
                "ends at ceil(4 (i + 1) / n)" if 4 % rows or 4 % cols else "; check the order (row-major)"))


@exercise
def check_image_share(image_share):
    """image_share(attn (L, B, heads, S, S), n_tokens) -> the share of [CLS]'s last-layer attention on image tokens."""
    L, B, H, N, T = 2, 3, 2, 4, 5
    S = N + 2 + T
    g = torch.Generator().manual_seed(0)
    attn = torch.rand(L, B, H, S, S, generator=g).softmax(-1)
    want = attn[-1, :, :, 0, 1:N + 1].sum(-1).mean().item()
    got = float(image_share(attn, N))
    assert abs(got - want) < 1e-5, (
        f"expected {want:.4f}, got {got:.4f}: take the last layer, row 0 ([CLS] as the query), columns 1..N (the "
        f"image tokens, not [CLS] at 0 nor [SEP] at N + 1), sum over those columns, then average heads and batch")
