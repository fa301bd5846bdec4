"""Shared test set-up: tests find data the way users do, through RAM_ENV_DATA (default ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

if "RAM_ENV_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["RAM_ENV_DATA"] = str(SHARED_DATA)

import torch  # noqa: E402

torch.set_num_threads(1)  # two cores: tests run in parallel, one thread each


def _mnist_available() -> bool:
    root = os.environ.get("RAM_ENV_DATA")
    return bool(root) and (Path(root) / "mnist").is_dir()


requires_mnist = pytest.mark.skipif(
    not _mnist_available(), reason="MNIST not found: set RAM_ENV_DATA to a folder holding mnist/ (e.g. ../shared/data)"
)


def toy_dataset(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 28x28 'digits' with labels 0..9 (a dataset tuple for the classification envs): fast, no files."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 28, 28)) > 0.7).astype(np.uint8) * 255
    return images, np.arange(n) % 10
