"""Pictures: `SceneObject`, its pixel mask, and rendering a list of objects into a small RGB image.

An image is float32 in [0, 1] with shape (3, H, W), H = W = `size` (32 by default), on a dark background.
Every pixel test is vectorised over the whole grid, so drawing one object costs a handful of numpy ops.
"""
from dataclasses import dataclass

import numpy as np

from .language import COLOURS, SHAPES, SIZES

RGB = np.array([(0.9, 0.1, 0.1), (0.1, 0.8, 0.2), (0.15, 0.3, 0.95), (0.95, 0.85, 0.1)], dtype=np.float32)  # COLOURS
BACKGROUND = 0.05
RADIUS = (4.5, 7.5)  # pixels, indexed by the size attribute: small, large


@dataclass(frozen=True)
class SceneObject:
    """One object: attribute indices into SHAPES / COLOURS / SIZES, and its centre (x, y) in pixels."""
    shape: int
    colour: int
    size: int
    x: int
    y: int

    def to_dict(self) -> dict:
        """Names under `shape`/`colour`/`size`, indices under `*_id`, and the centre: what `WorldData.meta` stores."""
        return {"shape": SHAPES[self.shape], "colour": COLOURS[self.colour], "size": SIZES[self.size],
                "shape_id": self.shape, "colour_id": self.colour, "size_id": self.size, "x": self.x, "y": self.y}


def _index(value, names: tuple, what: str) -> int:
    """An attribute given as an index or as a name -> its index."""
    if isinstance(value, str):
        if value not in names:
            raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(names)}")
        return names.index(value)
    if not 0 <= int(value) < len(names):
        raise ValueError(f"{what} index {value} out of range 0..{len(names) - 1} ({', '.join(names)})")
    return int(value)


def as_object(obj) -> SceneObject:
    """Accept a `SceneObject` or a dict like `meta['objects'][j]` (names or indices both work)."""
    if isinstance(obj, SceneObject):
        return obj
    def field(name, names):
        return _index(obj[f"{name}_id"] if f"{name}_id" in obj else obj[name], names, name)

    return SceneObject(shape=field("shape", SHAPES), colour=field("colour", COLOURS), size=field("size", SIZES),
                       x=int(obj["x"]), y=int(obj["y"]))


_GRIDS = {}


def _grid(size: int):
    """Pixel-centre coordinates (yy, xx), each (size, size), cached per image size."""
    if size not in _GRIDS:
        _GRIDS[size] = np.mgrid[0:size, 0:size].astype(np.float32)
    return _GRIDS[size]


def object_mask(obj, size: int = 32) -> np.ndarray:
    """The pixels an object covers: bool (H, W). Chapters use it as ground truth for where attention should go."""
    o = as_object(obj)
    yy, xx = _grid(size)
    dx, dy, r = xx - o.x, yy - o.y, RADIUS[o.size]
    name = SHAPES[o.shape]
    if name == "circle":
        return dx * dx + dy * dy <= r * r
    if name == "square":  # a little smaller than the circle's bounding box so areas are comparable
        return (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    if name == "triangle":  # apex up at y - r, base at y + 0.75 r, widening linearly to +-r
        t = (dy + r) / (1.75 * r)
        return (t >= 0) & (t <= 1) & (np.abs(dx) <= t * r)
    half = max(1.0, 0.3 * r)  # cross: a horizontal and a vertical bar
    return ((np.abs(dx) <= r) & (np.abs(dy) <= half)) | ((np.abs(dy) <= r) & (np.abs(dx) <= half))


def object_cells(obj, grid: int = 4, size: int = 32) -> np.ndarray:
    """The cells of a grid x grid partition of the image that the object's pixel mask touches: bool (grid, grid).

    An image encoder with 8-pixel patches sees a 32-pixel image as a 4 x 4 grid of tokens; `.flatten()` of this
    (row-major) lines up with `feature_map.flatten(2)` of its (B, C, 4, 4) map. With 8-pixel cells a small object
    touches at most 2 x 2 cells, a large one at most 3 x 3.
    """
    if not isinstance(grid, (int, np.integer)) or grid < 1 or size % grid:
        raise ValueError(f"grid must be a positive divisor of the image size {size}, got {grid!r}")
    cell = size // grid
    return object_mask(obj, size).reshape(grid, cell, grid, cell).any(axis=(1, 3))


def render_scene(objects, size: int = 32) -> np.ndarray:
    """Objects (later ones drawn on top) -> float32 image (3, H, W) in [0, 1]."""
    image = np.full((3, size, size), BACKGROUND, dtype=np.float32)
    for obj in objects:
        o = as_object(obj)
        m = object_mask(o, size)
        image[:, m] = RGB[o.colour][:, None]
    return image


def _apart(x: int, y: int, radius: float, other: SceneObject) -> bool:
    """The placement rule: centres at least 0.8 x (sum of radii) apart (rims may overlap; no shape hides much)."""
    return (x - other.x) ** 2 + (y - other.y) ** 2 >= (0.8 * (radius + RADIUS[other.size])) ** 2


def well_separated(objects) -> bool:
    """Whether every pair of objects obeys `random_objects`' placement rule (its rejection sampling never gave up)."""
    objs = [as_object(o) for o in objects]
    return all(_apart(a.x, a.y, RADIUS[a.size], b) for j, a in enumerate(objs) for b in objs[j + 1:])


def random_objects(rng: np.random.Generator, k: int, size: int = 32, shapes=None, colours=None, sizes=None,
                   max_tries: int = 50) -> list[SceneObject]:
    """k objects at random positions inside the frame, avoiding heavy overlap.

    `shapes`, `colours`, `sizes`: None (each object draws uniformly) or a length-k sequence of indices.
    Placement is rejection sampling: centres closer than 0.8 x (sum of radii) are redrawn, up to `max_tries`
    times, after which the last draw is kept (a crowded scene beats an infinite loop; `well_separated` tells).
    """
    def attr(given, n_values):
        if given is None:
            return rng.integers(n_values, size=k)
        if len(given) != k:
            raise ValueError(f"expected {k} attribute values, got {len(given)}")
        return given

    shapes, colours, sizes = attr(shapes, len(SHAPES)), attr(colours, len(COLOURS)), attr(sizes, len(SIZES))
    placed = []
    for s, c, z in zip(shapes, colours, sizes):
        r = RADIUS[int(z)]
        lo, hi = int(np.ceil(r)), size - 1 - int(np.ceil(r))
        for _ in range(max_tries):
            x, y = (int(v) for v in rng.integers(lo, hi + 1, size=2))
            if all(_apart(x, y, r, p) for p in placed):
                break
        placed.append(SceneObject(shape=int(s), colour=int(c), size=int(z), x=x, y=y))
    return placed
