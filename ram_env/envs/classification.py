"""The glimpse classification task: find and name a digit through the retina (Mnih et al., 2014).

## Description
Each episode shows one scene: a digit from MNIST or Fashion-MNIST, centred (28x28), translated onto a
larger canvas, or translated among clutter (pieces cut from other digits). The agent never sees the
scene, only glimpses: k patches of g x g pixels around a location it chooses, each twice as wide as
the last and averaged down to g x g. After ``n_glimpses`` glimpses it names the class.

## Observation space
``Dict`` with
- ``"glimpse"``: ``Box(0, 1, (k, g, g), float32)``, the retina's output at ``"location"``;
- ``"location"``: ``Box(-1, 1, (2,), float32)``, where it was taken, (x, y) with (-1, -1) the top-left;
- ``"step"``: ``Discrete(n_glimpses)``, the index of this glimpse (0 at reset; the terminal observation
  repeats the last index).
With ``obs_mode="full"``: ``"image"`` ``Box(0, 255, (1, H, W), uint8)`` (the whole scene, channel-first as
SB3's CNN policies expect) and ``"step"``.

The digit's position is never observed; it is reported in ``info`` (below) so that attention can be scored.

## Action space
See :mod:`ram_env.actions`: by default ``Box(-1, 1, (2 + n_classes,))``, the next location followed by
one score per class; ``"multidiscrete"`` and ``"discrete"`` modes put the location on a lattice. The
location is used on glimpse steps, the class (argmax of the scores) on the last step. Exact ties
between scores (SB3 clips Box actions, so a Gaussian policy often sends several +1s) are broken
uniformly at random from the env's generator, so no class is favoured.

## Rewards and termination
An episode is ``n_glimpses`` steps: the first glimpse comes with ``reset``, steps 1 .. n-1 take
glimpses 2 .. n at the chosen locations, and step n reads the class and terminates. Reward 1 for
the right class on that last step, 0 otherwise and on every earlier step. Never truncated.
``info`` on the last step: ``label``, ``prediction`` and ``is_success`` (SB3 logs it).

``info`` at reset and after every step (the target, for scoring attention; never in the observation),
float32, in location coordinates (x horizontal, (-1, -1) the top-left corner; the pixel coordinate ``c``,
pixel ``i`` spanning ``[i, i + 1)``, maps to ``l = 2 c / size - 1`` as in the retina):
- ``target_center``: ``(2,)`` ``(x, y)``, the centre of the pasted 28x28 digit frame (MNIST centres each
  digit's mass in its frame); ``(0, 0)`` on the centred 28x28 task.
- ``target_box``: ``(4,)`` ``(x_min, y_min, x_max, y_max)``, the tight box of the digit's nonzero pixels, at
  pixel edges (a one-pixel digit's box is one pixel wide); all NaN for an all-zero digit.
The vector envs batch them (``(n, 2)``, ``(n, 4)``); see :mod:`ram_env.envs.base` for the vector and SB3
conventions.

## Arguments (all keyword, all passed through ``gymnasium.make``)
- ``dataset``: ``"mnist"`` or ``"fashion-mnist"``, or a tuple ``(images uint8 (M, 28, 28), labels (M,))``.
- ``split``: TFDS-style split, e.g. ``"train"``, ``"test"``, ``"train[:55000]"``, ``"train[55000:]"``. A
  tuple dataset is one split, ``"train"``, which the slices select from (``"test"`` is an error).
- ``data_dir``: folder with the IDX files (else ``$RAM_ENV_DATA``, the cache, a download).
- ``image_size``: canvas side (28 = centred digits; larger = translated).
- ``n_clutter``, ``clutter_size``: clutter pieces per scene and their side.
- ``n_glimpses``, ``glimpse_size`` (g), ``n_scales`` (k): the retina and the episode length.
- ``shuffle``: True (default) draws digits uniformly with replacement; False walks the split in order
  (digit i in episode i, wrapping around), so an evaluation over ``len(split)`` episodes sees every
  image exactly once (as a paper's test error requires).
- ``initial_location``: ``"random"`` (uniform, the default), ``"center"`` or a fixed ``(x, y)``.
- ``scene_repeats``: show each scene to this many consecutive envs of a batch (1, the default: every env
  its own scene). For training with several glimpse paths per scene (``agents.RAM(paths_per_scene=...)``):
  the envs of a group reset together and differ in their first glimpse and in what the agent does.
- ``action_mode``, ``location_grid``, ``obs_mode``, ``render_mode``.
- ``device``, ``engine`` (``gym.make_vec`` with ``vectorization_mode="vector_entry_point"`` only): the
  episodes on a torch device, every output a tensor there (see :class:`~ram_env.envs.base.GlimpseVectorEnv`).

## Divergences from the paper
The paper does not say how clutter pieces combine where they overlap (we take the pixel-wise
maximum) nor where the first glimpse goes (we draw it uniformly, as public reproductions do).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ram_env.datasets import _parse_split_spec, _resolve_split, canonical_name, load_dataset
from ram_env.envs.base import GlimpseEnv, GlimpseTask, GlimpseVectorEnv
from ram_env.retina import check_image_side
from ram_env.scenes import SceneGenerator

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


class ClassificationTask(GlimpseTask):
    """Batched classification episodes: scenes drawn at reset, the class read on the last step."""

    is_classification = True

    def __init__(self, n_envs: int, dataset: Any = "mnist", split: str = "train", data_dir: str | None = None,
                 image_size: int = 28, n_clutter: int = 0, clutter_size: int = 8, n_glimpses: int = 6,
                 shuffle: bool = True, scene_repeats: int = 1):
        super().__init__(n_envs)
        if isinstance(dataset, str):
            name = canonical_name(dataset)
            images, labels = load_dataset(name, split, data_dir=data_dir)
            names = FASHION_CLASSES if name == "fashion-mnist" else tuple(str(i) for i in range(10))
        else:
            try:
                images, labels = (np.asarray(a) for a in dataset)
            except (TypeError, ValueError):
                raise ValueError("dataset must be 'mnist', 'fashion-mnist' or a tuple (images, labels)") from None
            if labels.size and (labels.min() < 0 or not np.issubdtype(labels.dtype, np.integer)):
                raise ValueError("dataset labels must be non-negative integers")
            names = tuple(str(i) for i in range(int(labels.max()) + 1 if labels.size else 0))
            images, labels = _tuple_split(images, labels, split)
        for name_, value in (("image_size", image_size), ("n_glimpses", n_glimpses), ("n_clutter", n_clutter),
                             ("clutter_size", clutter_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise ValueError(f"{name_} must be an integer, got {value!r}")
        if n_glimpses < 1:
            raise ValueError(f"n_glimpses must be >= 1, got {n_glimpses}")
        check_image_side("image_size", image_size)
        if not isinstance(shuffle, (bool, np.bool_)):  # bool("False") is True
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        if not isinstance(scene_repeats, (int, np.integer)) or isinstance(scene_repeats, bool) or scene_repeats < 1:
            raise ValueError(f"scene_repeats must be a positive integer, got {scene_repeats!r}")
        if self.n_envs % scene_repeats:
            raise ValueError(f"scene_repeats={scene_repeats} must divide num_envs={self.n_envs}")
        if scene_repeats > 1 and not shuffle:
            raise ValueError("scene_repeats > 1 is for training; shuffle=False walks the split once per image")
        self.scene_repeats = int(scene_repeats)
        self.scenes = SceneGenerator(images, labels, int(image_size), int(n_clutter), int(clutter_size))
        self.n_choices = len(names)
        self.choice_names = names
        self.episode_length = int(n_glimpses)
        self.image_shape = (int(image_size), int(image_size))
        self.canvas = np.zeros((self.n_envs,) + self.image_shape, np.uint8)
        self.labels = np.zeros(self.n_envs, np.int64)
        self.offsets = np.zeros((self.n_envs, 2), np.int64)  # (x, y) of each digit frame's top-left pixel
        self.boxes = np.zeros((self.n_envs, 4), np.int64)  # digit ink box (x0, y0, x1, y1), exclusive ends
        self._empty = np.zeros(self.n_envs, bool)
        self.shuffle = bool(shuffle)
        self._cursor = 0  # next digit when walking the split in order
        self._targets: dict[str, np.ndarray] | None = None  # targets() of the scenes shown, until the next apply

    @property
    def n_images(self) -> int:
        """Number of digits in the split."""
        return self.scenes.images.shape[0]

    def sample(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The random part of :meth:`reset`: ``(idx in group order, scene parameters)`` (see
        :meth:`SceneGenerator.draw`), one scene per group of ``scene_repeats`` envs."""
        indices = None
        if not self.shuffle:
            indices = self._cursor + np.arange(idx.size)
            self._cursor = (self._cursor + idx.size) % self.n_images
        m = self.scene_repeats
        if m > 1:
            groups = np.sort(idx).reshape(-1, m) if idx.size % m == 0 else None
            if groups is None or np.any(groups != groups[:, :1] + np.arange(m)) or np.any(groups[:, 0] % m):
                raise ValueError(f"with scene_repeats={m}, envs reset in whole groups of {m} (episodes in lock-step)")
            idx = groups.reshape(-1)
        return idx, self.scenes.draw(rng, idx.size // m, indices)

    def apply(self, idx: np.ndarray, params: dict[str, np.ndarray]) -> None:
        """Show the scenes ``params`` describe to the envs ``idx`` (as :meth:`sample` returned them)."""
        m = self.scene_repeats
        digit, offsets = params["digit"], params["offset"]
        boxes = self.scenes.digit_boxes[digit] + np.concatenate([offsets, offsets], axis=1)
        self.canvas[idx] = np.repeat(self.scenes.compose(params), m, axis=0)
        self.labels[idx] = np.repeat(self.scenes.labels[digit], m)
        self.offsets[idx] = np.repeat(offsets, m, axis=0)
        self.boxes[idx] = np.repeat(boxes, m, axis=0)
        self._empty[idx] = self.boxes[idx, 0] == self.boxes[idx, 2]
        self._targets = None

    def targets(self) -> dict[str, np.ndarray]:
        """``target_center`` (n, 2) and ``target_box`` (n, 4), float32 location coordinates (module docstring).

        Computed once per :meth:`apply` (scenes do not move within an episode; the env reads them every step);
        callers copy (:meth:`GlimpseCore.target_info`)."""
        if self._targets is None:
            self._targets = self._compute_targets()
        return self._targets

    def _compute_targets(self) -> dict[str, np.ndarray]:
        h, w = self.scenes.images.shape[1:]
        size = np.array(self.image_shape[::-1], np.float64)  # (W, H): x first
        centre = (self.offsets + np.array([w / 2, h / 2])) * (2.0 / size) - 1.0
        box = self.boxes * (2.0 / np.concatenate([size, size])) - 1.0
        box[self._empty] = np.nan
        return {"target_center": centre.astype(np.float32), "target_box": box.astype(np.float32)}

    def step(self, idx: np.ndarray, choices: np.ndarray, t: np.ndarray):
        terminated = t >= self.episode_length - 1
        labels = self.labels[idx]
        correct = terminated & (choices == labels)
        info = {"label": labels, "prediction": choices, "is_success": correct}
        return correct.astype(np.float32), terminated, info


def _tuple_split(images: np.ndarray, labels: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A tuple dataset is one split, "train": ``split`` may slice it ("train[:90%]"); "test" is an error."""
    base, start, stop = _parse_split_spec(split)
    if base != "train":
        raise ValueError(f"split={split!r}: a tuple dataset is a single split, 'train' (slice it with e.g. "
                         "'train[:90%]'); pass the test images as a tuple of their own")
    rows = _resolve_split(split, base, start, stop, len(labels))
    return images[rows], labels[rows]


_CORE_DEFAULTS = dict(glimpse_size=8, n_scales=1, action_mode="box", obs_mode="glimpse", location_grid=5,
                      initial_location="random")


class ClassificationEnv(GlimpseEnv):
    """Glimpse classification of MNIST-like scenes (see the module docstring for spaces and rules)."""

    task_class = ClassificationTask
    core_defaults = _CORE_DEFAULTS


class ClassificationVectorEnv(GlimpseVectorEnv):
    """``num_envs`` classification episodes in array code (same rules as :class:`ClassificationEnv`)."""

    task_class = ClassificationTask
    core_defaults = _CORE_DEFAULTS
