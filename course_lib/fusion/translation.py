"""Generated from notebooks/07_coordinated_and_sequence.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.encoders import ImageEncoder
from course_lib.world import VOCAB


class Captioner(nn.Module):
    """An encoder-decoder that translates a picture into words: images (B, 3, H, W) -> caption logits.

    The image encoder's vector v (B, D) is fed to a GRU decoder at every step, beside the previous word.
    forward(batch) reads the caption with teacher forcing: logits (B, T - 1, V) for words 1..T-1 given words
    0..T-2 ([CLS] is the start symbol, [SEP] the end). caption(images) decodes greedily -> list of sentences.
    """

    def __init__(self, d=64, d_emb=32):
        super().__init__()
        self.image = ImageEncoder(d)
        self.embed = nn.Embedding(len(VOCAB), d_emb, padding_idx=VOCAB.pad_id)
        self.decoder = nn.GRU(d_emb + d, d, batch_first=True)
        self.out = nn.Linear(d, len(VOCAB))

    def step(self, words, v, state=None):
        """words (B, T) ids, v (B, D) -> (logits (B, T, V), state): the decoder over T steps."""
        x = self.embed(words)
        out, state = self.decoder(torch.cat([x, v[:, None].expand(-1, x.shape[1], -1)], dim=-1), state)
        return self.out(out), state

    def forward(self, batch):
        return self.step(batch["text"][:, :-1], self.image(batch["image"]))[0]

    @torch.no_grad()
    def caption(self, images, max_len=12):
        v, state = self.image(images), None
        word = torch.full((len(images), 1), VOCAB.cls_id, device=images.device)
        ids = []
        for _ in range(max_len):
            logits, state = self.step(word, v, state)
            word = logits.argmax(-1)
            ids.append(word)
        ids = torch.cat(ids, 1).tolist()
        return [VOCAB.decode(row[:row.index(VOCAB.sep_id)] if VOCAB.sep_id in row else row) for row in ids]


def caption_loss(logits, batch):
    """Cross-entropy of the next word, over the caption's real tokens: logits (B, T - 1, V), batch["text"] (B, T)."""
    target = batch["text"][:, 1:].masked_fill(~batch["text_mask"][:, 1:], -100)
    return F.cross_entropy(logits.float().transpose(1, 2), target, ignore_index=-100)
