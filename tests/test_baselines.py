"""Full-view baselines (FC, conv) and their supervised training on env scenes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.baselines import (ConvClassifier, FCClassifier, conv_output_size, count_parameters,
                              evaluate_classifier, resolve_task, train_classifier)
from tests.conftest import requires_mnist


def template_dataset(n: int = 600, seed: int = 0, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like 28x28 uint8 'digits': one random binary template per class, with pixel noise."""
    rng = np.random.default_rng(seed)
    templates = rng.random((10, 28, 28)) > 0.8
    labels = np.arange(n) % 10
    flips = rng.random((n, 28, 28)) < noise
    images = (templates[labels] ^ flips).astype(np.uint8) * 255
    return images, labels


@pytest.mark.parametrize("size", [28, 60, 100])
@pytest.mark.parametrize("make", [lambda s: FCClassifier(s, 64), lambda s: FCClassifier(s, 256), ConvClassifier])
def test_logits_shape_for_uint8_and_float_images(make, size):
    model = make(size)
    x = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    out = model(x)
    assert out.shape == (3, 10)
    torch.testing.assert_close(model(x.float()[:, None] / 255.0), out)  # (N, 1, H, W) float in [0, 1] too


@pytest.mark.parametrize("size,map_size,params", [(28, 4, 36_402), (60, 11, 251_442), (100, 19, 742_962)])
def test_conv_shape_is_the_documented_one(size, map_size, params):
    model = ConvClassifier(size)
    assert conv_output_size(size) == model.map_size == map_size
    assert (model.conv.in_channels, model.conv.out_channels, model.conv.kernel_size, model.conv.stride) == \
        (1, 8, (10, 10), (5, 5))
    assert model.fc.out_features == 256 and model.out.out_features == 10
    assert count_parameters(model) == 808 + 8 * map_size**2 * 256 + 256 + 2570 == params


def test_fc_parameter_count():
    assert count_parameters(FCClassifier(60, 64)) == 3600 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10


def test_resolve_task_reads_env_defaults():
    assert resolve_task("RAM-ClutteredMNIST100-v0") == dict(dataset="mnist", image_size=100, n_clutter=8,
                                                            clutter_size=8)
    assert resolve_task({"image_size": 60, "n_glimpses": 4}) == dict(dataset="mnist", image_size=60, n_clutter=0,
                                                                     clutter_size=8)
    with pytest.raises(ValueError, match="classification"):
        resolve_task("RAM-Catch-v0")


def test_train_classifier_learns_mnist_like_data_and_evaluation_is_deterministic():
    data = template_dataset()
    torch.manual_seed(0)
    model = train_classifier(ConvClassifier(28), dict(dataset=data, image_size=28), steps=60, batch_size=32, lr=3e-3)
    assert model.train_info["steps"] == 60 and model.train_info["scenes"] == 60 * 32
    test = template_dataset(300, seed=0)  # same templates, fresh noise
    error = evaluate_classifier(model, test, split="test", image_size=28)
    assert error < 30.0  # chance is 90%
    assert evaluate_classifier(model, test, image_size=28) == error


def test_train_classifier_on_translated_cluttered_scenes_runs():
    data = template_dataset(100)
    model = train_classifier(FCClassifier(40, 64), dict(dataset=data, image_size=40, n_clutter=3), steps=5,
                             batch_size=8)
    assert 0.0 <= evaluate_classifier(model, data, image_size=40, n_clutter=3, seed=1) <= 100.0
    with pytest.raises(ValueError, match="exactly one"):
        train_classifier(model, dict(dataset=data), steps=5, epochs=1.0)


@requires_mnist
def test_conv_on_real_mnist_beats_chance_quickly():
    torch.manual_seed(0)
    model = train_classifier(ConvClassifier(28), "RAM-MNIST-v0", steps=150, batch_size=64, lr=2e-3)
    assert evaluate_classifier(model, "mnist", split="test[:2000]", image_size=28) < 25.0
