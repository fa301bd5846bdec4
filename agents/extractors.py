"""The paper's glimpse network as an SB3 features extractor, so PPO, A2C and RecurrentPPO can use it.

Example::

    from sb3_contrib import RecurrentPPO
    from agents import GlimpseExtractor
    model = RecurrentPPO("MultiInputLstmPolicy", env, policy_kwargs=dict(features_extractor_class=GlimpseExtractor))
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from agents.networks import GlimpseNetwork


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
        step_space = observation_space.spaces.get("step")
        self.n_steps = int(step_space.n) if isinstance(step_space, spaces.Discrete) else 0
        super().__init__(observation_space, features_dim=output_size + self.n_steps)
        self.glimpse_net = GlimpseNetwork(observation_space["glimpse"].shape, glimpse_hidden, location_hidden,
                                          output_size)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        g = self.glimpse_net(observations["glimpse"], observations["location"])
        if self.n_steps:
            # SB3 has already one-hot encoded the Discrete step index.
            return torch.cat([g, observations["step"].float().flatten(1)], dim=1)
        return g
