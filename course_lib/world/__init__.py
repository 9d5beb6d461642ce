"""The course's synthetic world: pictures of coloured shapes, sentences about them, tones, and tasks built on them.

Start with `make_task("redundant", n=2000)`; see `tasks.py` for what each task's label depends on.
"""
from .data import MODALITIES, WorldData, cell_attributes, cell_targets, collate, make_splits, make_task
from .language import COLOURS, MATERIALS, SHAPES, SIZES, SPECIALS, VOCAB, Vocabulary
from .scenes import RGB, SceneObject, object_cells, object_mask, random_objects, render_scene
from .sounds import PITCHES_HZ, SAMPLE_RATE, tone
from .tasks import TASKS

__all__ = ["MODALITIES", "WorldData", "cell_attributes", "cell_targets", "collate", "make_splits", "make_task", "COLOURS", "MATERIALS",
           "SHAPES", "SIZES", "SPECIALS", "VOCAB", "Vocabulary", "RGB", "SceneObject", "object_cells", "object_mask",
           "random_objects", "render_scene", "PITCHES_HZ", "SAMPLE_RATE", "tone", "TASKS"]
