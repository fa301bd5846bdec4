"""The paper's full-view baselines (Mnih et al., 2014, Tables 1 and 2), trained by supervised learning.

- :class:`FCClassifier`: "FC, 2 layers": two ReLU hidden layers of 64 or 256 units on the flattened image.
- :class:`ConvClassifier`: "Convolutional, 2 layers": one conv layer of 8 filters 10x10, stride 5 (ReLU),
  then a 256-unit ReLU layer, then a linear layer to the 10 classes (the shape a public reproduction
  used, docs/model.md).
- :func:`train_classifier` trains either by supervised learning on scenes drawn fresh for every batch by
  the same :class:`ram_env.scenes.SceneGenerator` the environments use (same translation and clutter
  distribution as the env); :func:`evaluate_classifier` walks a test split once and returns the error in %.
- :class:`~agents.extractors.SmallCNN` (the full-frame SB3 extractor) lives in :mod:`agents.extractors`; it is
  imported here too, so checkpoints saved when it lived here still load.

Example::

    from agents.baselines import ConvClassifier, train_classifier, evaluate_classifier
    model = train_classifier(ConvClassifier(60), "RAM-ClutteredMNIST-v0", steps=20_000, seed=0)
    print(evaluate_classifier(model, "mnist", image_size=60, n_clutter=4))   # test error, %
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agents.config import EVAL_SEED
from agents.extractors import SmallCNN  # noqa: F401  (its old home: older checkpoints name it here)
from ram_env.datasets import canonical_name, load_dataset
from ram_env.scenes import SceneGenerator

__all__ = ["FCClassifier", "ConvClassifier", "SmallCNN", "resolve_task", "train_classifier",
           "evaluate_classifier", "count_parameters", "conv_output_size"]

N_CLASSES = 10
SCENE_KEYS = ("dataset", "image_size", "n_clutter", "clutter_size")

Dataset = Any  # "mnist", "fashion-mnist" or a tuple (images uint8 (M, h, w), labels int (M,))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_output_size(image_size: int, kernel: int = 10, stride: int = 5) -> int:
    """Side of the conv layer's output map without padding: ``(image_size - kernel) // stride + 1``."""
    if image_size < kernel:
        raise ValueError(f"image_size={image_size} is smaller than the {kernel}x{kernel} kernel")
    return (image_size - kernel) // stride + 1


def _as_float_images(x: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` or ``(N, 1, H, W)``, uint8 (scaled to [0, 1]) or float (kept): float ``(N, 1, H, W)``."""
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected images (N, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


class FCClassifier(nn.Module):
    """The paper's "FC, 2 layers" baseline: flatten -> Linear(S*S, h) -> ReLU -> Linear(h, h) -> ReLU -> Linear(h, 10).

    Args:
        image_size: side S of the square input image.
        hidden: units per hidden layer (the paper's rows use 64 and 256).
        n_classes: output classes (10).

    ``forward`` takes ``(N, S, S)`` or ``(N, 1, S, S)`` images, uint8 (divided by 255) or float in
    [0, 1], and returns logits ``(N, n_classes)``. Parameters: ``S*S*h + h + h*h + h + h*10 + 10``.
    """

    def __init__(self, image_size: int, hidden: int = 256, n_classes: int = N_CLASSES):
        super().__init__()
        self.image_size, self.hidden = int(image_size), int(hidden)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.image_size * self.image_size, self.hidden), nn.ReLU(),
            nn.Linear(self.hidden, self.hidden), nn.ReLU(),
            nn.Linear(self.hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_as_float_images(x))

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, hidden={self.hidden}"


class ConvClassifier(nn.Module):
    """The conv baseline: Conv2d(1, 8, 10, stride=5) -> ReLU -> Linear(8*o*o, 256) -> ReLU -> Linear(256, 10).

    No padding, so the conv map is ``o x o`` with ``o = (S - 10) // 5 + 1``: 4 for 28x28, 11 for 60x60,
    19 for 100x100 (see :func:`conv_output_size`). Parameters:
    ``8*10*10 + 8`` (conv, 808) ``+ 8*o*o*256 + 256`` (hidden) ``+ 256*10 + 10`` (output): 36,402 at 28x28,
    251,442 at 60x60 and 742,962 at 100x100. This is the public reproduction's reading of the paper's
    "Convolutional, 2 layers" (docs/model.md).

    Args:
        image_size: side S of the square input image (>= 10).
        filters, kernel, stride, hidden: 8, 10, 5, 256 as in the paper.
        n_classes: output classes (10).
    """

    def __init__(self, image_size: int, filters: int = 8, kernel: int = 10, stride: int = 5, hidden: int = 256,
                 n_classes: int = N_CLASSES):
        super().__init__()
        self.image_size = int(image_size)
        self.map_size = conv_output_size(self.image_size, kernel, stride)
        self.conv = nn.Conv2d(1, filters, kernel, stride=stride)
        self.fc = nn.Linear(filters * self.map_size * self.map_size, hidden)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(_as_float_images(x)))
        return self.out(F.relu(self.fc(h.flatten(1))))

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, map={self.map_size}x{self.map_size}"


# ---------------------------------------------------------------------- tasks and scenes
def resolve_task(task: str | dict[str, Any]) -> dict[str, Any]:
    """The scene parameters of a task: ``dict(dataset, image_size, n_clutter, clutter_size)``.

    Args:
        task: a registered ram-env id (``"RAM-ClutteredMNIST-v0"``: its defaults), or a dict of env
            keyword arguments (keys other than the four scene keys, such as ``n_glimpses``, are ignored;
            missing ones default to MNIST, 28x28, no clutter, 8x8 pieces). With an id, a dict can't
            override: pass ``{**ram_env.ENVIRONMENTS[id][2], ...}`` instead.
    """
    defaults: dict[str, Any] = dict(dataset="mnist", image_size=28, n_clutter=0, clutter_size=8)
    if isinstance(task, str):
        import ram_env

        if task not in ram_env.ENVIRONMENTS or not ram_env.is_classification(task):
            raise ValueError(f"{task!r} is not a ram-env classification id; known: "
                             f"{', '.join(k for k in ram_env.ENVIRONMENTS if ram_env.is_classification(k))}")
        task = ram_env.ENVIRONMENTS[task][2]
    if not isinstance(task, dict):
        raise TypeError(f"task must be an env id or a dict of env kwargs, got {type(task).__name__}")
    return {**defaults, **{k: v for k, v in task.items() if k in SCENE_KEYS}}


def _load(dataset: Dataset, split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(dataset, str):
        return load_dataset(canonical_name(dataset), split, data_dir=data_dir)
    images, labels = (np.asarray(a) for a in dataset)
    return images, labels


def _scene_generator(spec: dict[str, Any], split: str, data_dir: str | None) -> SceneGenerator:
    images, labels = _load(spec["dataset"], split, data_dir)
    return SceneGenerator(images, labels, int(spec["image_size"]), int(spec["n_clutter"]), int(spec["clutter_size"]))


# ---------------------------------------------------------------------- training and evaluation
def train_classifier(model: nn.Module, task: str | dict[str, Any], steps: int | None = None, *,
                     epochs: float | None = None, batch_size: int = 128, lr: float = 1e-3,
                     lr_decay: str = "linear", seed: int = 0, split: str = "train", data_dir: str | None = None,
                     device: str | torch.device = "cpu", time_limit: float | None = None,
                     callback: Callable[[int, float], Any] | None = None) -> nn.Module:
    """Train a full-view classifier with Adam on scenes drawn fresh for every batch.

    The scenes come from the :class:`~ram_env.scenes.SceneGenerator` the environments use (digits drawn
    uniformly with replacement from ``split``, new translation and clutter every time), so the
    classifier sees the same distribution as an agent on the env.

    Args:
        model: e.g. :class:`FCClassifier` or :class:`ConvClassifier` of the task's image size.
        task: an env id or a dict of env kwargs (see :func:`resolve_task`).
        steps: number of Adam updates (one fresh batch each). Or give ``epochs`` instead:
            ``steps = ceil(epochs * len(split) / batch_size)``.
        batch_size, lr: minibatch size and Adam's learning rate.
        lr_decay: ``"linear"`` (to 0 at the last step) or ``"constant"``.
        seed: seeds the scene generator and torch (initialisation was done by the caller: seed
            torch before building the model for a reproducible run).
        split: training split (``"train"``: all 60k; ignored when the task's dataset is a tuple of arrays).
        data_dir: where the IDX files are (else ``$RAM_ENV_DATA``, see :func:`ram_env.datasets.load_dataset`).
        device: torch device.
        time_limit: stop early after this many seconds (the number of steps done is in ``model.train_info``).
        callback: called as ``callback(step, loss)`` after every update; returning False stops training.

    Returns:
        The trained model (in eval mode), with ``model.train_info`` = dict(steps, batch_size, lr, seconds, ...).
    """
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps and epochs")
    if lr_decay not in ("linear", "constant"):
        raise ValueError(f"lr_decay must be 'linear' or 'constant', got {lr_decay!r}")
    spec = resolve_task(task)
    scenes = _scene_generator(spec, split, data_dir)
    if steps is None:
        steps = int(math.ceil(epochs * scenes.images.shape[0] / batch_size))
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start, done = time.perf_counter(), 0
    for step in range(steps):
        if lr_decay == "linear":
            for group in optimizer.param_groups:
                group["lr"] = lr * (1.0 - step / steps)
        images, labels = scenes.sample(rng, batch_size)
        x = torch.from_numpy(images).to(device)
        y = torch.from_numpy(labels).to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if callback is not None and callback(done, float(loss)) is False:
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    model.eval()
    model.train_info = dict(steps=done, planned_steps=steps, batch_size=batch_size, scenes=done * batch_size, lr=lr,
                            lr_decay=lr_decay, seed=seed, split=split, seconds=round(time.perf_counter() - start, 1),
                            **{k: (v if isinstance(v, (str, int)) else "custom") for k, v in spec.items()})
    return model


@torch.no_grad()
def evaluate_classifier(model: nn.Module, dataset: Dataset = "mnist", split: str = "test", image_size: int = 28,
                        n_clutter: int = 0, clutter_size: int = 8, seed: int = EVAL_SEED, batch_size: int = 1000,
                        data_dir: str | None = None, device: str | torch.device = "cpu") -> float:
    """Test error in % over every image of ``split`` exactly once (10k for ``"test"``).

    Image i of the split is placed in scene i; translations and clutter come from a generator seeded
    with ``seed``, so the same arguments always give the same scenes and the same number. ``dataset``
    may be a tuple ``(images, labels)``, used whole (``split`` is then ignored).
    """
    scenes = SceneGenerator(*_load(dataset, split, data_dir), int(image_size), int(n_clutter), int(clutter_size))
    rng = np.random.default_rng(seed)
    model.to(device).eval()
    n = scenes.images.shape[0]
    wrong = 0
    for lo in range(0, n, batch_size):
        images, labels = scenes.sample(rng, min(batch_size, n - lo), indices=np.arange(lo, min(lo + batch_size, n)))
        pred = model(torch.from_numpy(images).to(device)).argmax(dim=1).cpu().numpy()
        wrong += int((pred != labels).sum())
    return 100.0 * wrong / n
