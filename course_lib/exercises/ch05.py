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
def check_mmbt_mask(mmbt_mask):
    """mmbt_mask(n_image, text_mask (B, T) of 0/1) -> (B, n_image + 2 + T): BERT's attention mask for
    [CLS] img_1..img_N [SEP] followed by the text."""
    text_mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]])
    T = text_mask.shape[1]
    for n in (1, 3):
        got = mmbt_mask(n, text_mask)
        assert torch.is_tensor(got), f"return a tensor, got {type(got).__name__}"
        want = torch.cat([torch.ones(3, n + 2, dtype=torch.long), text_mask], dim=1)
        if got.shape == want.shape and torch.equal(got.long()[:, n + 2:], text_mask) and not got[:, :n + 2].any():
            raise AssertionError("that is the port's mask: F.pad fills with 0, so the image block is masked out and "
                                 "BERT never looks at the picture")
        if got.shape == (3, n + T):
            raise AssertionError(f"N = {n}: the image block is N + 2 tokens long: [CLS], the N image tokens, [SEP]")
        assert got.shape == want.shape, f"N = {n}: expected (B, N + 2 + T) = {tuple(want.shape)}, got {tuple(got.shape)}"
        if torch.equal(got.long(), torch.ones_like(want)):
            raise AssertionError("every position is visible: the text's padding must stay masked (0)")
        assert torch.equal(got.long(), want), f"N = {n}: 1 on [CLS], the image tokens and [SEP], then the text's mask"


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
