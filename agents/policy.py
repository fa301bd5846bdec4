"""RAMPolicy: glimpse network -> recurrent core -> location, action and baseline heads.

The policy acts on ram-env's glimpse observations (``"glimpse"``, ``"location"``) with the default
``"box"`` action mode: it returns ``(x, y, score_0, ..., score_{n-1})`` with the next location and a
one-hot score vector of its choice (+1 for the choice, -1 elsewhere), so SB3's clipping to [-1, 1]
never changes what it meant.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from agents.networks import GlimpseNetwork, LocationNetwork, State, make_core
from ram_env.actions import box_actions


class PolicyStep(NamedTuple):
    """What one step of the policy computes for a batch."""

    hidden: torch.Tensor      # h_t (batch, hidden)
    state: State              # the core's state after this step
    location_mean: torch.Tensor  # mu_t (batch, 2)
    logits: torch.Tensor      # action-network logits (batch, n_choices)
    baseline: torch.Tensor    # b_t (batch,)
    outcome_logits: torch.Tensor | None = None  # the outcome head's logits (batch, outcome_classes), where it has one


class PolicyAction(NamedTuple):
    """The action :meth:`RAMPolicy.act` takes from a :class:`PolicyStep`, with what REINFORCE scores it by."""

    location: torch.Tensor    # l_{t+1} (batch, 2): sampled from the location policy, or its mean; not yet clipped
    choice: torch.Tensor      # the class or game action (batch,)
    location_dist: torch.distributions.Normal  # N(mu_t, location_std^2), the law ``location`` was drawn from
    choice_dist: torch.distributions.Categorical | None  # the softmax, where the choice was sampled from it


def check_ram_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> int:
    """Raise a clear error unless the spaces are ram-env's glimpse observations and box actions.

    Returns the number of choices (classes or game actions).
    """
    if not isinstance(observation_space, spaces.Dict) or not {"glimpse", "location"} <= set(observation_space.spaces):
        raise ValueError("RAM needs ram-env glimpse observations (a Dict with 'glimpse' and 'location'); "
                         f"got {observation_space}. Full-frame mode (obs_mode='full') is for the baselines.")
    if not isinstance(action_space, spaces.Box) or action_space.shape[0] < 4:
        raise ValueError(f"RAM needs the env's action_mode='box' (location + scores), got {action_space}")
    return int(action_space.shape[0]) - 2


class RAMPolicy(BasePolicy):
    """The Recurrent Attention Model as an SB3 policy.

    Args:
        observation_space, action_space: the env's spaces (glimpse observations, box actions).
        lr_schedule: learning-rate schedule (SB3 convention), used to build the optimizer.
        core: ``"rnn"`` (the paper's ReLU recurrence), ``"lstm"`` (the paper's choice for Catch) or ``"gru"``:
            the core's kind, kept as ``core_kind``; ``self.core`` is the module it builds (docs/model.md, "Names").
        glimpse_hidden, location_hidden, glimpse_output, hidden_size: 128/128/256/256 as in the paper.
        scale_gain: the i-th retina scale is multiplied by ``scale_gain ** i`` (see
            :class:`~agents.networks.GlimpseNetwork`; 1.0 = the paper, 4.0 = sums instead of averages).
        location_std: the fixed standard deviation of the Gaussian location policy (in [-1, 1] units).
        detach_location: feed the location network ``h_t.detach()`` so REINFORCE trains the location
            network alone and the core learns from the other terms (as the strongest public
            reproduction does); False lets the location gradient reach the core as well.
        detach_baseline: feed the baseline ``h_t.detach()`` (True, the default, the paper's: the baseline does not
            shape the representation the policy uses); False lets its squared error train the core and glimpse
            network too, as a shared actor-critic trunk does. Beyond the paper: with ``RAM``'s
            ``location_reward="prediction"`` the baseline must read what the glimpses carry, which a core
            trained only by the policy's terms need not hold.
        location_squash: ``"tanh"`` (default) or ``"none"``, the paper's linear location mean
            (see :class:`~agents.networks.LocationNetwork`).
        location_mean: ``"absolute"`` (default, the paper's: mu_t is the next location) or ``"relative"`` (mu_t
            moves from the current glimpse's location, so a zero output stays put; beyond the paper, see
            :class:`~agents.networks.LocationNetwork`).
        location_input_norm: bound the location network's input ``h_t``: ``"layer"`` (or True: layer
            normalisation), ``"unit"`` (unit L2 norm) or ``"unit_gain"`` (unit norm times a learned gain); see
            :class:`~agents.networks.LocationNetwork`. False, the default, is the paper's.
        init_scale: initialise every parameter uniformly in [-init_scale, init_scale] (the Torch
            reproductions use 0.1); None keeps PyTorch's default initialisation.
        stochastic_choice: sample the class/game action from the softmax when not deterministic
            (REINFORCE on the choice, as in Catch); False always takes the argmax (hybrid training).
        location_lr_scale: the location network's learning rate as a multiple of the others' (its own
            optimizer parameter group; 1.0, the default, keeps one group as before). Beyond the paper,
            which uses one learning rate: a smaller one keeps the location policy from drifting while
            the reward still says little about where to look (see :class:`agents.ram.RAM`).
        outcome_classes: the size of an outcome head, a linear softmax on ``h_t`` that predicts at every step how the
            episode will end (on Catch: the column where the ball lands; ``RAM``'s ``location_reward="landing"``
            sets it to the screen's width). 0, the default, the paper's: no such head. Beyond the paper: its
            cross-entropy trains the core as the hybrid loss's does on classification (see :class:`agents.ram.RAM`).
        optimizer_class, optimizer_kwargs: the optimizer: Adam by default, as :class:`agents.ram.RAM`'s; with
            ``torch.optim.SGD`` and no ``optimizer_kwargs``, momentum 0.9 (the paper's).
    """

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Box, lr_schedule: Schedule,
                 core: str = "rnn", glimpse_hidden: int = 128, location_hidden: int = 128, glimpse_output: int = 256,
                 hidden_size: int = 256, scale_gain: float = 1.0, location_std: float = 0.1, detach_location: bool = True,
                 detach_baseline: bool = True,
                 location_squash: str = "tanh", location_input_norm: bool | str = False,
                 location_mean: str = "absolute", stochastic_choice: bool = False, init_scale: float | None = None,
                 location_lr_scale: float = 1.0, outcome_classes: int = 0,
                 optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
                 optimizer_kwargs: dict[str, Any] | None = None):
        if optimizer_kwargs is None:
            optimizer_kwargs = {"momentum": 0.9} if optimizer_class is torch.optim.SGD else {}
        super().__init__(observation_space, action_space, optimizer_class=optimizer_class,
                         optimizer_kwargs=optimizer_kwargs, normalize_images=False)
        self.n_choices = check_ram_spaces(observation_space, action_space)
        if not location_std > 0:
            raise ValueError(f"location_std must be > 0, got {location_std}")
        self.core_kind = core
        self.arch = dict(core=core, glimpse_hidden=glimpse_hidden, location_hidden=location_hidden,
                         glimpse_output=glimpse_output, hidden_size=hidden_size, scale_gain=scale_gain)
        self.location_std = float(location_std)
        self.detach_location = bool(detach_location)
        self.detach_baseline = bool(detach_baseline)
        self.stochastic_choice = bool(stochastic_choice)
        glimpse_shape = observation_space["glimpse"].shape
        self.glimpse_net = GlimpseNetwork(glimpse_shape, glimpse_hidden, location_hidden, glimpse_output, scale_gain)
        self.core = make_core(core, glimpse_output, hidden_size)
        self.location_net = LocationNetwork(hidden_size, location_squash, location_input_norm, location_mean)
        self.action_net = nn.Linear(hidden_size, self.n_choices)
        self.baseline_net = nn.Linear(hidden_size, 1)
        if not isinstance(outcome_classes, int) or outcome_classes < 0:
            raise ValueError(f"outcome_classes must be a non-negative integer, got {outcome_classes!r}")
        self.outcome_classes = outcome_classes
        self.outcome_net = nn.Linear(hidden_size, outcome_classes) if outcome_classes else None
        self.init_scale = init_scale
        if init_scale is not None:
            # Uniform in [-s, s], as the paper's Torch implementation initialised every parameter.
            for p in self.parameters():
                nn.init.uniform_(p, -init_scale, init_scale)
        self.location_lr_scale = float(location_lr_scale)
        lr = lr_schedule(1)
        if self.location_lr_scale == 1.0:
            params: Any = self.parameters()
        else:
            # Two groups; RAM._update_learning_rate multiplies each group's lr by its "lr_scale".
            loc = set(self.location_net.parameters())
            params = [{"params": [p for p in self.parameters() if p not in loc], "lr_scale": 1.0},
                      {"params": list(self.location_net.parameters()), "lr_scale": self.location_lr_scale,
                       "lr": lr * self.location_lr_scale}]
        self.optimizer = self.optimizer_class(params, lr=lr, **self.optimizer_kwargs)

    @property
    def location_input_norm(self) -> bool | str:
        """What the location network's input becomes (``LocationNetwork``'s ``input_norm``; False: the paper's)."""
        return self.location_net.input_norm

    @property
    def location_mean(self) -> str:
        """``"absolute"`` (the paper's) or ``"relative"``: what the location head's output is (``LocationNetwork``'s ``mean``)."""
        return self.location_net.mean

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(self.arch, location_std=self.location_std, detach_location=self.detach_location,
                    detach_baseline=self.detach_baseline,
                    location_squash=self.location_net.squash, location_input_norm=self.location_net.input_norm,
                    location_mean=self.location_net.mean, stochastic_choice=self.stochastic_choice,
                    init_scale=self.init_scale,
                    location_lr_scale=self.location_lr_scale, outcome_classes=self.outcome_classes,
                    optimizer_class=self.optimizer_class,
                    optimizer_kwargs=self.optimizer_kwargs)
        return data

    # ------------------------------------------------------------------ the model
    @torch.no_grad()
    def constrain_weight_norms(self, max_norm: float) -> None:
        """Rescale every linear (and LSTM/GRU cell) weight row whose L2 norm exceeds ``max_norm`` down to it."""
        for name, p in self.named_parameters():
            if p.dim() == 2 and name.rsplit(".", 1)[-1].startswith("weight"):
                p.copy_(torch.renorm(p, 2, 0, max_norm))

    def initial_state(self, batch: int) -> State:
        """The core's zero state for ``batch`` episodes."""
        return self.core.initial_state(batch, self.device)

    def forward(self, glimpse: torch.Tensor, location: torch.Tensor, state: State) -> PolicyStep:
        """One step for a batch: glimpse network, core, then the heads."""
        g = self.glimpse_net(glimpse, location)
        h, state = self.core(g, state)
        # By default the baseline must not shape the representation the policy uses: its input is detached.
        baseline = self.baseline_net(h.detach() if self.detach_baseline else h).squeeze(-1)
        mu = self.location_net(h.detach() if self.detach_location else h, location)
        outcome = self.outcome_net(h) if self.outcome_net is not None else None
        return PolicyStep(h, state, mu, self.action_net(h), baseline, outcome)

    def location_distribution(self, mu: torch.Tensor) -> torch.distributions.Normal:
        """The Gaussian location policy N(mu, location_std^2) (independent x and y)."""
        # No argument validation: it would re-check mu with several small ops at every glimpse step; a NaN
        # mean still fails loudly in the env's retina.
        return torch.distributions.Normal(mu, self.location_std, validate_args=False)

    def act(self, step: PolicyStep, deterministic: bool = False,
            generator: torch.Generator | None = None) -> PolicyAction:
        """The one rule that turns the policy's output into an action (training, ``predict``, path evaluation).

        The location is sampled from N(mu_t, location_std^2) (``generator``: from that torch generator instead
        of the global one), or mu_t when ``deterministic``. The choice is sampled from the softmax only where
        ``stochastic_choice`` (REINFORCE on the choice, Catch) and not ``deterministic``; otherwise the argmax.
        """
        mu = step.location_mean
        location_dist = self.location_distribution(mu)
        if deterministic:
            location = mu
        elif generator is None:
            location = location_dist.sample()
        else:
            location = mu + self.location_std * torch.randn(mu.shape, generator=generator, device=mu.device)
        choice_dist = None
        if self.stochastic_choice and not deterministic:
            choice_dist = torch.distributions.Categorical(logits=step.logits, validate_args=False)
            choice = choice_dist.sample()
        else:
            choice = step.logits.argmax(dim=1)
        return PolicyAction(location, choice, location_dist, choice_dist)

    def encode_action(self, location: torch.Tensor, choice: torch.Tensor) -> np.ndarray:
        """The env's box action (:func:`ram_env.actions.box_actions`), the location clipped to [-1, 1]."""
        return box_actions(location.clamp(-1.0, 1.0).cpu().numpy(), choice.cpu().numpy(), self.n_choices)

    def encode_action_tensor(self, location: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """:meth:`encode_action` as a tensor on the policy's device (the device path: no host copy)."""
        scores = torch.full((choice.shape[0], self.n_choices), -1.0, dtype=torch.float32, device=choice.device)
        scores.scatter_(1, choice[:, None], 1.0)
        return torch.cat([location.detach().clamp(-1.0, 1.0).to(torch.float32), scores], dim=1)

    # ------------------------------------------------------------------ SB3 prediction
    def _predict(self, observation, deterministic: bool = False) -> torch.Tensor:
        raise NotImplementedError("RAMPolicy is recurrent: use predict(obs, state, episode_start, deterministic)")

    def predict(self, observation: dict[str, np.ndarray], state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False
                ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Act like SB3's recurrent policies: returns ``(action, state)``.

        Args:
            observation: a glimpse observation Dict, single or batched.
            state: the core state returned by the previous call (None at the start).
            episode_start: True where a new episode starts (its state is reset).
            deterministic: take mu and the argmax instead of sampling.
        """
        self.set_training_mode(False)
        obs_tensor, vectorized = self.obs_to_tensor(observation)
        glimpse, location = obs_tensor["glimpse"].float(), obs_tensor["location"].float()
        batch = glimpse.shape[0]
        with torch.no_grad():
            if state is None:
                core_state = self.initial_state(batch)
            else:
                core_state = tuple(torch.as_tensor(s, device=self.device).float() for s in state)
                if episode_start is not None:
                    keep = 1.0 - torch.as_tensor(np.asarray(episode_start, np.float32).reshape(-1),
                                                 device=self.device)[:, None]
                    core_state = tuple(s * keep for s in core_state)
            out = self(glimpse, location, core_state)
            act = self.act(out, deterministic)
            action = self.encode_action(act.location, act.choice)
        new_state = tuple(s.cpu().numpy() for s in out.state)
        if not vectorized:
            action = action[0]
        return action, new_state
