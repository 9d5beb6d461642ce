"""Generated from notebooks/05_mmbt.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import torch
import torch.nn as nn

from course_lib.encoders import ImageEncoder
from course_lib.fusion.early_late import LateFusion
from course_lib.world import VOCAB


POOL_GRID = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2), 6: (3, 2), 8: (4, 2), 9: (3, 3), 16: (4, 4)}


class ImageTokens(nn.Module):
    """A CNN's 4x4 grid of cells, average-pooled to N regions (rows x columns in POOL_GRID) and projected to BERT's
    width: images (B, 3, H, W) -> image tokens (B, N, H_bert), regions in row-major order."""

    def __init__(self, encoder: ImageEncoder, n_tokens: int, hidden: int):
        super().__init__()
        if n_tokens not in POOL_GRID:
            raise ValueError(f"n_tokens must be one of {sorted(POOL_GRID)} (a grid the 4x4 cells pool to), "
                             f"got {n_tokens}")
        self.encoder, self.n_tokens = encoder, n_tokens
        self.pool = nn.AdaptiveAvgPool2d(POOL_GRID[n_tokens])
        self.proj = nn.Linear(encoder.d, hidden)

    def forward(self, images):
        cells = self.encoder.net(images)                                   # (B, D, 4, 4)
        return self.proj(self.pool(cells).flatten(2).transpose(1, 2))     # (B, N, H_bert)


class MMBT(nn.Module):
    """A BertModel whose input is [CLS] img_1..img_N [SEP] w_1..w_T [SEP]; the prediction is read from [CLS].

    Image block: segment 0, positions 0..N+1; text block (the sentence without its own [CLS]): segment 1, positions
    restarting at 0. All tokens pass through BERT's own position, segment and LayerNorm embeddings (`inputs_embeds`).
    batch: "image" (B, 3, H, W), "text" (B, 1 + T) ids starting with [CLS], "text_mask" (B, 1 + T) -> logits (B, C).
    cls_id, sep_id: [CLS] and [SEP] in BERT's vocabulary; the world's by default, a real tokenizer's otherwise
    (`cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id`).
    """

    def __init__(self, bert, image_encoder: ImageEncoder, n_classes: int, n_tokens: int = 3,
                 cls_id: int = VOCAB.cls_id, sep_id: int = VOCAB.sep_id):
        super().__init__()
        vocab_size = bert.config.vocab_size
        if not (0 <= cls_id < vocab_size and 0 <= sep_id < vocab_size):
            raise ValueError(f"cls_id = {cls_id} and sep_id = {sep_id} must be ids in BERT's vocabulary of "
                             f"{vocab_size}")
        self.bert, self.cls_id, self.sep_id = bert, cls_id, sep_id
        self.image = ImageTokens(image_encoder, n_tokens, bert.config.hidden_size)
        self.head = nn.Linear(bert.config.hidden_size, n_classes)

    def inputs(self, batch):
        """BERT's keyword arguments for a batch: inputs_embeds (B, N + 2 + T, H), its segments, positions and mask."""
        not_cls = (batch["text"][:, 0] != self.cls_id).nonzero()            # rows whose first token is not [CLS]
        if len(not_cls):
            row = not_cls[0].item()
            raise ValueError(f"text row {row} of the batch starts with id {batch['text'][row, 0].item()}, not [CLS] "
                             f"(id {self.cls_id}): tokenize with special tokens, and give MMBT the tokenizer's "
                             f"cls_id and sep_id")
        text, text_mask = batch["text"][:, 1:], batch["text_mask"][:, 1:].long()    # drop the text's own [CLS]
        images = self.image(batch["image"])                                       # (B, N, H)
        if len(images) != len(text):
            raise ValueError(f"mismatched batch sizes: {len(images)} images, {len(text)} sentences")
        B, N, T = len(text), self.image.n_tokens, text.shape[1]
        limit = self.bert.config.max_position_embeddings
        if max(N + 2, T) > limit:
            raise ValueError(f"a block of {max(N + 2, T)} tokens exceeds BERT's {limit} positions (image block "
                             f"N + 2 = {N + 2}, text block T = {T}): shorten the text or use fewer image tokens")
        words = self.bert.embeddings.word_embeddings
        special = lambda token: words(text.new_full((B, 1), token))
        embeds = torch.cat([special(self.cls_id), images, special(self.sep_id), words(text)], dim=1)
        segments = torch.cat([text.new_zeros(B, N + 2), text.new_ones(B, T)], dim=1)
        positions = torch.cat([torch.arange(N + 2), torch.arange(T)]).to(text.device).expand(B, -1)
        mask = torch.cat([text_mask.new_ones(B, N + 2), text_mask], dim=1)
        return dict(inputs_embeds=embeds, token_type_ids=segments, position_ids=positions, attention_mask=mask)

    def forward(self, batch):
        return self.head(self.bert(**self.inputs(batch)).last_hidden_state[:, 0])

    def attentions(self, batch):
        """Every layer's attention weights (L, B, heads, S, S) over the sequence; needs BERT with eager attention."""
        out = self.bert(**self.inputs(batch), output_attentions=True)
        if not out.attentions or out.attentions[0] is None:
            raise RuntimeError("this BERT returns no attention weights: load it with attn_implementation='eager'")
        return torch.stack(out.attentions)


class LateBaseline(nn.Module):
    """Late fusion of the same two encoders: BERT on the sentence alone -> head on its [CLS]; the N image tokens
    averaged -> head; the two decisions (B, C) averaged as probabilities (`LateFusion("mean")`)."""

    def __init__(self, bert, image_encoder: ImageEncoder, n_classes: int, n_tokens: int = 3):
        super().__init__()
        self.bert = bert
        self.image = ImageTokens(image_encoder, n_tokens, bert.config.hidden_size)
        self.text_head = nn.Linear(bert.config.hidden_size, n_classes)
        self.image_head = nn.Linear(bert.config.hidden_size, n_classes)
        self.late = LateFusion("mean")

    def forward(self, batch):
        text = self.bert(input_ids=batch["text"], attention_mask=batch["text_mask"].long()).last_hidden_state[:, 0]
        return self.late(self.image_head(self.image(batch["image"]).mean(1)), self.text_head(text))
