"""Real image-text data and real encoders (Appendix B), with a small offline fixture in the same formats.

- loaders.py: Flickr8k (the Hub's parquet) and the Hateful Memes layout (jsonl + img/), where each lives, the
  download flag; missing or unreadable meme images are counted, not fatal.
- features.py: preprocessing, the BERT tokenizer, ResNet-18 / BERT / ViT (real checkpoints or the same
  architectures randomly initialised), frozen features in batches on the device.
- models.py: heads on frozen features, retrieval, the token-level inputs of chapter 05's MMBT and chapter 06's PMF,
  accuracy and AUROC.
- fixtures.py: the offline fixture in data/fixtures/, written from the course's world
  (`python -m course_lib.real_data --make-fixtures`).

Nothing is downloaded unless `COURSE_DOWNLOAD=1` (and never in quick mode, which CI uses). Every name is importable
from `course_lib.real_data` itself (`from course_lib import real_data as rd`).
"""
from .features import (CELLS, CHECKPOINTS, NORMS, SMALL_BERT, SMALL_VIT, image_features, image_transform,
                       make_encoders, make_tokenizer, pixels, text_features, tokenize)
from .fixtures import make_fixtures
from .loaders import (CAPTIONS, FIXTURES, FLICKR, MEME_KEYS, MEME_SPLITS, MEMES, REAL, ROOT, MemesSplit,
                      download_requested, flickr_file, load_flickr_parquet, load_memes, memes_root)
from .models import (FeatureClassifier, PrecomputedCells, Projections, binary_scores, recall_both_ways,
                     token_tensors)
