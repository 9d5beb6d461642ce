"""Multimodal Fusion from Scratch: the small library the course's chapters stand on.

Data flows one way: world -> encoders -> fusion -> head -> train/measure -> viz. The world knows no model, a
fusion module knows no dataset, and the training loop knows no particular fusion.
"""
from .claims import claim, points, seed_table
from .config import is_quick, mode, pick_device, seed_everything, seeds, setup, sizes
from .encoders import UnimodalClassifier, encode, make_encoders
from .glossary import show_terms
from .measure import auroc, count_flops, count_parameters, latency, peak_memory, recall_at_k
from .train import History, evaluate, fit, predict, progress
from .world import VOCAB, make_splits, make_task
