"""SB3 features extractors for ram-env observations, so PPO, A2C, DQN and RecurrentPPO can play every task.

- :class:`GlimpseExtractor`: the paper's glimpse network on glimpse observations (``obs_mode="glimpse"``).
- :class:`SmallCNN`: a compact CNN on full-frame observations (``obs_mode="full"``) that fits Catch's 24x24
  screen (SB3's ``NatureCNN`` needs at least 36x36).
- :func:`extractor_for`: which of the two an observation space takes (what ``ram train`` and
  :func:`agents.models.build_model` use unless ``policy_kwargs`` name another).

Example::

    from sb3_contrib import RecurrentPPO
    from agents import GlimpseExtractor
    model = RecurrentPPO("MultiInputLstmPolicy", env, policy_kwargs=dict(features_extractor_class=GlimpseExtractor))
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.networks import GlimpseNetwork

__all__ = ["GlimpseExtractor", "SmallCNN", "extractor_for"]


def _step_count(observation_space: spaces.Dict) -> int:
    step_space = observation_space.spaces.get("step")
    return int(step_space.n) if isinstance(step_space, spaces.Discrete) else 0


def _with_step(features: torch.Tensor, observations: dict[str, torch.Tensor], n_steps: int) -> torch.Tensor:
    if not n_steps:
        return features
    # SB3 one-hot encodes the Discrete step: (N, T) when acting, (N, 1, T) from its rollout/replay buffers
    # (which store a Discrete observation with shape (1,)); flatten both to (N, T).
    step = observations["step"].float().reshape(features.shape[0], -1)
    return torch.cat([features, step], dim=1)


class GlimpseExtractor(BaseFeaturesExtractor):
    """g_t from the glimpse and its location, concatenated with the one-hot step index.

    The step index lets a memoryless policy (PPO, A2C) know when its answer counts; a recurrent one
    can ignore it.

    Args:
        observation_space: ram-env's glimpse observation Dict.
        glimpse_hidden, location_hidden, output_size: 128/128/256 as in the paper.
    """

    def __init__(self, observation_space: spaces.Dict, glimpse_hidden: int = 128, location_hidden: int = 128,
                 output_size: int = 256):
        if not isinstance(observation_space, spaces.Dict) or "glimpse" not in observation_space.spaces:
            raise ValueError(f"GlimpseExtractor needs ram-env glimpse observations, got {observation_space}")
        self.n_steps = _step_count(observation_space)
        super().__init__(observation_space, features_dim=output_size + self.n_steps)
        self.glimpse_net = GlimpseNetwork(observation_space["glimpse"].shape, glimpse_hidden, location_hidden,
                                          output_size)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        g = self.glimpse_net(observations["glimpse"], observations["location"])
        return _with_step(g, observations, self.n_steps)


class SmallCNN(BaseFeaturesExtractor):
    """A CNN features extractor for ram-env's full-frame observations (``obs_mode="full"``), any size >= 8x8.

    Three conv layers, all padded so a small screen keeps a map: 32 filters 5x5 stride 2 (padding 2), 64 3x3
    stride 2 (padding 1), 64 3x3 stride 2 (padding 1), each with ReLU; flatten; Linear to ``features_dim`` with
    ReLU; then the one-hot step index appended (as :class:`GlimpseExtractor` does, so a memoryless policy knows
    when its answer counts). Map sides: 24 -> 12 -> 6 -> 3 (Catch), 28 -> 14 -> 7 -> 4, 48 -> 24 -> 12 -> 6,
    60 -> 30 -> 15 -> 8, 100 -> 50 -> 25 -> 13. Parameters: 56,256 in the convs (1 channel) plus
    ``64 * s * s * features_dim + features_dim`` in the linear layer (``s`` the last map side): 203,968 in all
    on 24x24 with ``features_dim=256``. SB3's ``NatureCNN`` (8x8 stride 4, 4x4 stride 2, 3x3 stride 1,
    unpadded) needs at least 36x36.

    The image arrives already divided by 255 (SB3's ``preprocess_obs`` normalises uint8 image spaces).

    Args:
        observation_space: ``Dict(image=Box(0, 255, (C, H, W), uint8), step=Discrete(T))``.
        features_dim: size of the image features (the output is ``features_dim + T``).
    """

    def __init__(self, observation_space: spaces.Dict, features_dim: int = 256):
        if not isinstance(observation_space, spaces.Dict) or "image" not in observation_space.spaces:
            raise ValueError("SmallCNN needs ram-env full-frame observations (obs_mode='full'), "
                             f"got {observation_space}")
        image_space = observation_space["image"]
        if len(image_space.shape) != 3 or min(image_space.shape[1:]) < 8:
            raise ValueError(f"SmallCNN needs (C, H, W) images of at least 8x8, got {image_space.shape}")
        self.n_steps = _step_count(observation_space)
        super().__init__(observation_space, features_dim=features_dim + self.n_steps)
        c = image_space.shape[0]
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 32, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.cnn(torch.zeros((1,) + tuple(image_space.shape))).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return _with_step(self.linear(self.cnn(observations["image"].float())), observations, self.n_steps)


def extractor_for(observation_space: spaces.Space) -> type[BaseFeaturesExtractor]:
    """The extractor a ram-env observation space takes: :class:`GlimpseExtractor` for glimpse observations,
    :class:`SmallCNN` for full-frame ones; ValueError (one line) for anything else."""
    keys = set(observation_space.spaces) if isinstance(observation_space, spaces.Dict) else set()
    if "glimpse" in keys:
        return GlimpseExtractor
    if "image" in keys:
        return SmallCNN
    raise ValueError(f"no extractor for {observation_space}: expected ram-env glimpse observations "
                     "(obs_mode='glimpse') or full frames (obs_mode='full')")
