"""The batched core shared by every glimpse task, and the Gymnasium single and vector envs built on it.

Each task (classification scenes, Catch) is written once as a :class:`GlimpseTask` over N episodes.
:class:`GlimpseCore` adds what every task shares: the retina, action decoding, the step counter,
observations, input checks and rendering. :class:`GlimpseEnv` is the core with N = 1,
:class:`GlimpseVectorEnv` the core with N envs, and :class:`ram_env.sb3.RAMVecEnv` the core behind
SB3's ``VecEnv`` contract, so the three cannot drift apart.

Episode protocol (all tasks): ``reset`` returns the first observation, a glimpse at the initial
location. Each ``step`` applies the action's choice (used by the task: the class on the last step,
a paddle move every step in Catch) and takes the next glimpse at the action's location. Episodes
have a fixed length, ``episode_length`` steps; the reward comes on the last step only.

Target info (all tasks): ``info`` at ``reset`` and after every ``step`` carries where the task's target is
on the scene the observation was taken from (:meth:`GlimpseTask.targets`: the digit's centre and box,
the ball and the paddle), in location coordinates, so tools can score attention. It is never part of the
observation. Single env: arrays per key. Gymnasium vector env: batched arrays (tensors on a ``device=``
env) with Gymnasium's ``_key`` masks (at a partial reset, True for the envs reset). SB3 ``VecEnv``: per-env
dicts in ``infos`` every step and in ``reset_infos`` after ``reset()``; on a step that ends an episode,
``infos[i]`` describes the episode that ended and ``reset_infos[i]`` the one that starts.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ram_env.actions import ActionCodec
from ram_env.render import draw_glimpse_frame
from ram_env.retina import Retina

OBS_MODES = ("glimpse", "full")


class GlimpseTask(ABC):
    """A task over a batch of ``n_envs`` episodes, in array code.

    Subclasses set ``n_choices``, ``choice_names``, ``episode_length``, ``image_shape``,
    ``dynamic`` (True when the scene changes during an episode) and ``is_classification``, keep the
    current scenes in ``self.canvas`` (uint8 ``(n_envs, H, W)``), implement :meth:`sample`, :meth:`apply`
    and :meth:`step`, and may report where their target is with :meth:`targets`.

    A reset is split in two so that its rules live in one place: :meth:`sample` makes every random draw
    of new episodes (small host arrays), :meth:`apply` builds them. The torch tasks
    (:mod:`ram_env.envs.torch_tasks`) reuse :meth:`sample` and do :meth:`apply`'s array work on a device, and
    per-env seeding calls :meth:`sample` once per env with that env's generator.
    """

    n_choices: int
    choice_names: tuple[str, ...]
    episode_length: int
    image_shape: tuple[int, int]
    dynamic: bool = False
    is_classification: bool = False
    canvas: np.ndarray

    def __init__(self, n_envs: int):
        self.n_envs = int(n_envs)

    def reset(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        """Start new episodes for the envs ``idx`` (int array), drawing from ``rng``."""
        self.apply(*self.sample(idx, rng))

    @abstractmethod
    def sample(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Draw new episodes for the envs ``idx``: ``(idx, params)``, ``idx`` possibly reordered (envs that share
        a scene come together), ``params`` arrays whose first axis runs over the drawn episodes."""

    @abstractmethod
    def apply(self, idx: np.ndarray, params: dict[str, np.ndarray]) -> None:
        """Start the episodes :meth:`sample` drew in the envs ``idx``."""

    @abstractmethod
    def step(self, idx: np.ndarray, choices: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance envs ``idx`` given their ``choices`` at step index ``t`` (before the step).

        Returns ``(reward float32, terminated bool, info)`` for those envs, where ``info`` maps
        names to arrays over ``idx``; it is reported on terminated envs only.
        """

    def describe_choice(self, choice: int) -> str:
        """Text shown in renders for a choice."""
        return self.choice_names[choice]

    def targets(self) -> dict[str, np.ndarray]:
        """Where the target is in every env's current scene: name -> float32 array ``(n_envs, ...)`` in
        location coordinates (``l = 2 c / size - 1`` for the pixel coordinate ``c``, x horizontal). Reported in
        ``info`` at reset and after every step, never observed. None by default."""
        return {}


class GlimpseCore:
    """Retina, actions, step counter and observations over a batched :class:`GlimpseTask`: the env's engine
    (``env.core``), not the agent's recurrent core (docs/model.md, "Names").

    Args:
        task: the batched task.
        glimpse_size: side g of the retina's smallest patch (pixels).
        n_scales: number of patches k (widths g, 2g, 4g, ...).
        action_mode: ``"box"``, ``"multidiscrete"`` or ``"discrete"`` (see :mod:`ram_env.actions`).
        obs_mode: ``"glimpse"`` (retina observations) or ``"full"`` (the whole image each step).
        location_grid: cells per axis of the location lattice in the discrete action modes.
        initial_location: ``"random"`` (uniform on [-1, 1]^2), ``"center"``, or a fixed ``(x, y)``.
    """

    def __init__(self, task: GlimpseTask, glimpse_size: int, n_scales: int, action_mode: str = "box",
                 obs_mode: str = "glimpse", location_grid: int = 5, initial_location: Any = "random"):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        for name, value in (("glimpse_size", glimpse_size), ("n_scales", n_scales)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.task = task
        self.n_envs = task.n_envs
        self.obs_mode = obs_mode
        self.glimpse_size, self.n_scales = int(glimpse_size), int(n_scales)
        self.initial_location = _check_initial_location(initial_location)
        self.retina = Retina(self.glimpse_size, self.n_scales)
        self.codec = ActionCodec(action_mode, task.n_choices, location_grid, with_location=obs_mode == "glimpse")
        self.action_space = self.codec.space
        length = task.episode_length
        h, w = task.image_shape
        if obs_mode == "glimpse":
            self.observation_space = spaces.Dict({
                "glimpse": spaces.Box(0.0, 1.0, (self.n_scales, self.glimpse_size, self.glimpse_size), np.float32),
                "location": spaces.Box(-1.0, 1.0, (2,), np.float32),
                "step": spaces.Discrete(length),
            })
        else:
            self.observation_space = spaces.Dict({
                "image": spaces.Box(0, 255, (1, h, w), np.uint8),
                "step": spaces.Discrete(length),
            })
        n = self.n_envs
        self.t = np.zeros(n, np.int64)
        self.location = np.zeros((n, 2), np.float32)
        self.trajectory = np.zeros((n, length, 2), np.float32)
        self.last_choice = np.full(n, -1, np.int64)
        self.done = np.ones(n, bool)  # no episode has started
        self._every = np.arange(n)
        self.tables = None
        self.rng = np.random.default_rng()
        self.rngs: list[np.random.Generator] | None = None  # one stream per env, after seed([...])
        self.rng_state_at_reset: dict | list | None = None

    # ------------------------------------------------------------------ episodes
    def seed(self, seed: Any) -> None:
        """Re-seed: an int or None seeds the one batch generator that drives every env (None draws fresh
        entropy); a sequence of ``n_envs`` seeds (ints or None) gives every env a generator of its own, so
        that env ``i``'s episodes are those of a single env seeded with ``seed[i]``."""
        if isinstance(seed, (list, tuple, np.ndarray)):
            seeds = list(seed)
            if len(seeds) != self.n_envs:
                raise ValueError(f"seed must be an int, None or a list of num_envs={self.n_envs} seeds, "
                                 f"got a list of {len(seeds)}")
            for value in seeds:
                check_seed(value)
            self.rngs = [np.random.default_rng(value) for value in seeds]
            self.rng = self.rngs[0]
            return
        check_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.rngs = None

    def rng_state(self) -> dict | list:
        """The generators' state (a fresh copy): the batch generator's dict, or one dict per env."""
        if self.rngs is None:
            return self.rng.bit_generator.state
        return [r.bit_generator.state for r in self.rngs]

    def set_rng_state(self, state: dict | list) -> None:
        """Restore a :meth:`rng_state`."""
        if isinstance(state, list):
            if self.rngs is None or len(state) != self.n_envs:
                self.rngs = [np.random.default_rng() for _ in range(self.n_envs)]
            for r, value in zip(self.rngs, state):
                r.bit_generator.state = value
            self.rng = self.rngs[0]
        else:
            self.rngs = None
            self.rng.bit_generator.state = state

    def draw_episodes(self, idx: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
        """Every random draw of a reset of the envs ``idx``, in the one order the rules fix: ``(idx in the
        task's order, the task's params, first locations float32 (len(idx), 2) in the order of idx, or None
        when the initial location is not random)``. Per-env streams draw env by env (one scene group at a
        time with ``scene_repeats``, from the group's first env)."""
        random_start = isinstance(self.initial_location, str) and self.initial_location == "random"
        if self.rngs is None:
            order, params = self.task.sample(idx, self.rng)
            loc = self.rng.uniform(-1.0, 1.0, (idx.size, 2)).astype(np.float32) if random_start else None
            return order, params, loc
        m = int(getattr(self.task, "scene_repeats", 1))
        units = np.sort(idx)
        units = [units[j:j + m] for j in range(0, units.size, m)]
        parts = [self.task.sample(unit, self.rngs[int(unit[0])]) for unit in units]
        order = np.concatenate([p[0] for p in parts])
        params = {key: np.concatenate([p[1][key] for p in parts]) for key in parts[0][1]}
        loc = None
        if random_start:
            loc = np.concatenate([self.rngs[int(i)].uniform(-1.0, 1.0, (1, 2)) for i in idx]).astype(np.float32)
        return order, params, loc

    def tie_rng(self, active: np.ndarray | None = None):
        """What breaks exact ties between scores: the batch generator, or one generator per env (None for the
        inactive envs, whose actions are ignored, so they draw nothing)."""
        if self.rngs is None:
            return self.rng
        if active is None:
            return list(self.rngs)
        return [r if a else None for r, a in zip(self.rngs, active)]

    def reset(self, idx: np.ndarray | None = None) -> None:
        """Start new episodes for ``idx`` (all envs by default)."""
        idx = np.arange(self.n_envs) if idx is None else np.asarray(idx)
        if idx.size == 0:
            return
        if idx.size == self.n_envs:
            # Lets a trainer checkpoint mid-batch and replay the batch exactly on resume.
            self.rng_state_at_reset = self.rng_state()
        order, params, loc = self.draw_episodes(idx)
        self.task.apply(order, params)
        self.t[idx] = 0
        self.done[idx] = False
        self._start_episodes(idx, loc)

    def _start_episodes(self, idx: np.ndarray, loc: np.ndarray | None) -> None:
        """Reset's per-engine part: the envs ``idx`` get their first location (``loc`` when drawn, else the
        fixed start) and their observation tables."""
        self.last_choice[idx] = -1
        if loc is not None:
            self.location[idx] = loc
        elif isinstance(self.initial_location, str):
            self.location[idx] = 0.0
        else:
            self.location[idx] = self.initial_location
        self.trajectory[idx, 0] = self.location[idx]
        self._update_tables(idx)

    def step(self, actions, active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Step the envs where ``active`` is True (all by default); the others' actions are ignored.

        Returns ``(reward, terminated, info)`` over all envs (zeros/False where inactive); ``info``
        holds arrays over all envs, meaningful where ``terminated``.
        """
        # Ties at random (see actions).
        loc, choices = self.codec.decode(actions, self.n_envs, rng=self.tie_rng(active))
        if active is None:  # every env (the common case): no mask to build or search
            if self.done.any():
                raise RuntimeError("step() called on an episode that has terminated: call reset() first")
            idx = self._every
        else:
            if (self.done & active).any():
                raise RuntimeError("step() called on an episode that has terminated: call reset() first")
            idx = np.flatnonzero(active)
        reward = np.zeros(self.n_envs, np.float32)
        terminated = np.zeros(self.n_envs, bool)
        info: dict[str, np.ndarray] = {}
        if idx.size == 0:
            return reward, terminated, info
        t = self.t[idx]
        r, term, task_info = self.task.step(idx, choices[idx], t)
        if not np.array_equal(term, t == self.task.episode_length - 1):
            raise RuntimeError(f"{type(self.task).__name__} ended episodes at other steps than episode_length="
                               f"{self.task.episode_length}: the task and its declared length disagree")
        reward[idx], terminated[idx] = r, term
        for key, value in task_info.items():
            if idx.size == self.n_envs:  # rows already in env order: a copy, no scatter
                info[key] = np.array(value, copy=True)
                continue
            full = np.zeros((self.n_envs,) + value.shape[1:], value.dtype)
            full[idx] = value
            info[key] = full
        self.last_choice[idx] = choices[idx]
        self.t[idx] = np.minimum(t + 1, self.task.episode_length - 1)
        if loc is not None:
            self.location[idx] = loc[idx]
            self.trajectory[idx, self.t[idx]] = loc[idx]
        self.done[idx] = term
        if self.task.dynamic:
            self._update_tables(idx)
        return reward, terminated, info

    def target_info(self) -> dict[str, np.ndarray]:
        """The task's :meth:`GlimpseTask.targets` for every env, as fresh arrays."""
        return {key: np.array(value, copy=True) for key, value in self.task.targets().items()}

    def refresh(self, idx: np.ndarray | None = None) -> None:
        """Rebuild the retina's tables after the task's scenes were edited by hand (tests, scripted setups)."""
        self._update_tables(np.arange(self.n_envs) if idx is None else np.asarray(idx))

    def _update_tables(self, idx: np.ndarray) -> None:
        if self.obs_mode != "glimpse":
            return
        if self.tables is None or idx.size == self.n_envs:
            self.tables = self.retina.table(self.task.canvas)
        else:
            self.tables[idx] = self.retina.table(self.task.canvas[idx])

    # ------------------------------------------------------------------ observations
    def observe(self) -> dict[str, np.ndarray]:
        """The batched observation of every env."""
        if self.obs_mode == "glimpse":
            return {
                # The env's own table and clipped, finite locations: the retina's checked entry is not needed.
                "glimpse": self.retina.read(self.tables, self.location),
                "location": self.location.copy(),
                "step": self.t.copy(),
            }
        return {"image": self.task.canvas[:, None].copy(), "step": self.t.copy()}

    def render(self, env: int = 0) -> np.ndarray:
        """An RGB frame of env ``env``: the scene, the k glimpse squares and the path so far."""
        t = int(self.t[env])
        choice = int(self.last_choice[env])
        text = f"t={t}"
        if choice >= 0:
            text += f"  {self.task.describe_choice(choice)}"
        return draw_glimpse_frame(
            self.task.canvas[env],
            self.location[env] if self.obs_mode == "glimpse" else None,
            self.glimpse_size, self.n_scales,
            trajectory=self.trajectory[env, : t + 1] if self.obs_mode == "glimpse" else None,
            text=text,
        )


def check_seed(seed: Any) -> None:
    """Raise ``ValueError`` unless ``seed`` is None or an int >= 0 (numpy's rule, said in one line)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or an integer >= 0, got {seed!r}")


def _check_initial_location(value: Any):
    if isinstance(value, str):
        if value not in ("random", "center"):
            raise ValueError(f"initial_location must be 'random', 'center' or (x, y) in [-1, 1], got {value!r}")
        return value
    loc = np.asarray(value, dtype=np.float32)
    if loc.shape != (2,) or not np.isfinite(loc).all() or np.abs(loc).max() > 1:
        raise ValueError(f"initial_location must be 'random', 'center' or (x, y) in [-1, 1], got {value!r}")
    return loc


class TaskAttributes:
    """Read-only facts about the task that agents need, so no caller reaches into ``core.task``."""

    core: GlimpseCore

    @property
    def episode_length(self) -> int:
        """Steps per episode (fixed): ``n_glimpses`` on classification tasks, ``screen_size - 1`` in Catch."""
        return int(self.core.task.episode_length)

    @property
    def is_classification(self) -> bool:
        """True on the classification tasks (the choice is a class read on the last step)."""
        return bool(self.core.task.is_classification)

    @property
    def n_choices(self) -> int:
        """Number of classes (classification) or game actions (Catch)."""
        return int(self.core.task.n_choices)

    @property
    def choice_names(self) -> tuple[str, ...]:
        """The name of each choice (class names, or ``("left", "stay", "right")``)."""
        return tuple(self.core.task.choice_names)

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(H, W)`` of the scene in pixels (what location coordinates map onto)."""
        return tuple(int(v) for v in self.core.task.image_shape)

    @property
    def n_images(self) -> int | None:
        """Images in the split a classification task draws from (what an evaluation that scores each image
        once walks through); None in Catch, whose games are generated."""
        n = getattr(self.core.task, "n_images", None)
        return None if n is None else int(n)

    @property
    def scene_repeats(self) -> int:
        """Consecutive envs that share each scene (the classification tasks' ``scene_repeats``; else 1)."""
        return int(getattr(self.core.task, "scene_repeats", 1))

    @property
    def glimpse_size(self) -> int:
        """Side g of the retina's finest patch in pixels."""
        return self.core.glimpse_size

    @property
    def n_scales(self) -> int:
        """Number of retina patches k."""
        return self.core.n_scales


def _info_at(info: dict[str, np.ndarray], env: int) -> dict[str, Any]:
    return {key: value[env].item() if value[env].ndim == 0 else value[env] for key, value in info.items()}


def split_kwargs(kwargs: dict, task_cls: type, core_defaults: dict) -> tuple[dict, dict]:
    """Split env kwargs into ``task_cls`` kwargs and core kwargs (filled from ``core_defaults``).

    Raises:
        TypeError: a kwarg that neither the task nor the core takes, listing the valid ones.
    """
    kwargs = dict(kwargs)
    core = {key: kwargs.pop(key, default) for key, default in core_defaults.items()}
    known = set(inspect.signature(task_cls.__init__).parameters) - {"self", "n_envs"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"unknown keyword argument(s) {unknown}; valid: {sorted(known | set(core_defaults))}")
    return kwargs, core


class GlimpseEnv(TaskAttributes, gym.Env):
    """A single glimpse environment: the batched core with one episode.

    Subclasses name their ``task_class`` and the ``core_defaults`` (retina, action and observation
    modes) of their task; every other keyword goes to the task.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    task_class: type[GlimpseTask]
    core_defaults: dict[str, Any]

    def __init__(self, render_mode: str | None = None, **kwargs):
        task_kwargs, core_kwargs = split_kwargs(kwargs, self.task_class, self.core_defaults)
        self._setup(self.task_class(1, **task_kwargs), render_mode, **core_kwargs)

    def _setup(self, task: GlimpseTask, render_mode: str | None, **core_kwargs) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.core = GlimpseCore(task, **core_kwargs)
        self.observation_space = self.core.observation_space
        self.action_space = self.core.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or not hasattr(self, "_seeded"):
            self.core.seed(seed)
            self._seeded = True
        self.core.reset()
        return self._obs(), _info_at(self.core.target_info(), 0)

    def step(self, action):
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action has shape {action.shape}, expected {self.action_space.shape} for {self.action_space}")
        reward, terminated, info = self.core.step(action[None])
        term = bool(terminated[0])
        out = _info_at(info, 0) if term else {}
        out.update(_info_at(self.core.target_info(), 0))
        return self._obs(), float(reward[0]), term, False, out

    def _obs(self) -> dict[str, Any]:
        obs = self.core.observe()
        out = {key: value[0] for key, value in obs.items()}
        out["step"] = int(out["step"])
        return out

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='rgb_array' to make()")
            return None
        return self.core.render(0)


class GlimpseVectorEnv(TaskAttributes, VectorEnv):
    """N glimpse episodes in array code: Gymnasium's vector API over the batched core.

    Args:
        autoreset_mode: ``"NextStep"`` (Gymnasium's default: a terminated env resets on the next
            ``step`` call, which ignores its action) or ``"SameStep"`` (it resets within the same
            call; its last observation is in ``info["final_obs"]`` and its info in ``info["final_info"]``).
        device: None (the default: numpy arrays in and out, the batched numpy engine) or a torch device
            (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``): the episodes then live on that device
            (:class:`~ram_env.envs.torch_core.TorchGlimpseCore`) and every output is a torch tensor there,
            as on GPU-simulated Gymnasium envs (ManiSkill3, Isaac Lab): observations, rewards,
            terminations, truncations, the info values and their ``_key`` masks. Actions may be tensors on
            any device or arrays. The spaces stay Gymnasium's (numpy) spaces. Same rules and same episodes for
            a seed as without ``device``.
        engine: which code runs the episodes of a device env: ``"auto"`` (the default: the numpy engine on
            CPU, whose tensors are zero-copy views of its arrays, since it was the faster on CPU at every
            batch size measured, see ``benchmarks/results/env_throughput.md``; the torch engine on other
            devices), ``"torch"`` (:class:`~ram_env.envs.torch_core.TorchGlimpseCore`, also on CPU) or
            ``"numpy"`` (CPU only). Only with ``device``.

    Seeding: ``reset(seed=s)`` with an int seeds one generator that drives the whole batch (the fast
    default; Gymnasium's ``SyncVectorEnv`` would seed env ``i`` with ``s + i`` instead); ``reset(seed=[s_0, ...,
    s_{n-1}])`` gives env ``i`` a generator of its own seeded ``s_i`` (None: fresh entropy), as ``SyncVectorEnv``
    does: env ``i`` then plays exactly the episodes of ``gym.make(id).reset(seed=s_i)`` given the same actions,
    whatever the other envs do. Per-env streams draw env by env (a Python loop per reset); they last until the
    next seeded reset.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}
    task_class: type[GlimpseTask]
    core_defaults: dict[str, Any]

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, autoreset_mode="NextStep",
                 device: Any = None, engine: str = "auto", **kwargs):
        if not isinstance(num_envs, (int, np.integer)) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        task_kwargs, core_kwargs = split_kwargs(kwargs, self.task_class, self.core_defaults)
        self._setup(self.task_class(int(num_envs), **task_kwargs), render_mode, autoreset_mode, device=device,
                    engine=engine, **core_kwargs)

    def _setup(self, task: GlimpseTask, render_mode: str | None, autoreset_mode="NextStep", device: Any = None,
               engine: str = "auto", **core_kwargs) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        mode = AutoresetMode(autoreset_mode) if not isinstance(autoreset_mode, AutoresetMode) else autoreset_mode
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode must be 'NextStep' or 'SameStep'")
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.render_mode = render_mode
        if engine not in ("auto", "numpy", "torch"):
            raise ValueError(f"engine must be 'auto', 'numpy' or 'torch', got {engine!r}")
        self.device = None if device is None else _torch_device(device)
        if self.device is None and engine != "auto":
            raise ValueError(f"engine={engine!r} needs a device (device='cpu', 'cuda', ...)")
        if self.device is not None and engine == "numpy" and self.device.type != "cpu":
            raise ValueError(f"engine='numpy' runs on the CPU only, got device={str(self.device)!r}")
        if self.device is not None and (engine == "torch" or (engine == "auto" and self.device.type != "cpu")):
            from ram_env.envs.torch_core import TorchGlimpseCore

            self.core = TorchGlimpseCore(task, self.device, **core_kwargs)
        else:
            self.core = GlimpseCore(task, **core_kwargs)
        self.engine = "torch" if type(self.core).__name__ == "TorchGlimpseCore" else "numpy"
        self.num_envs = task.n_envs
        self.single_observation_space = self.core.observation_space
        self.single_action_space = self.core.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, bool)
        self._seeded = False

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        # An int seeds the one batch generator (fast); a list gives every env its own stream (see the class doc).
        mask = None if options is None else options.get("reset_mask")
        if seed is not None or not self._seeded:
            self.core.seed(seed)
            self._seeded = True
        if mask is not None:
            mask = mask.cpu().numpy() if hasattr(mask, "cpu") else np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            idx = np.flatnonzero(mask)
        else:
            idx = np.arange(self.num_envs)
        self.core.reset(idx)
        self._needs_reset[idx] = False
        reset = np.zeros(self.num_envs, bool)
        reset[idx] = True
        return self._out(self.core.observe()), self._out(_vector_info(self.core.target_info(), reset))

    def step(self, actions):
        if self.core.done.all() and not self._needs_reset.any():
            raise RuntimeError("step() called before reset()")
        resetting = self._needs_reset.copy()
        if self.engine == "numpy" and hasattr(actions, "detach"):
            actions = actions.detach().cpu().numpy()  # a device env on the numpy engine takes tensors too
        reward, terminated, info = self.core.step(actions, active=~resetting)
        everyone = np.ones(self.num_envs, bool)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            if resetting.any():
                self.core.reset(np.flatnonzero(resetting))
            self._needs_reset = terminated.copy()
            obs = self.core.observe()
            # An env reset in this call reports its new episode's targets, as a reset would.
            infos = {**_vector_info(info, terminated), **_vector_info(self.core.target_info(), everyone)}
        else:
            infos = {}
            if terminated.any():
                final_obs = self.core.observe()
                final_info = {**_vector_info(info, terminated), **_vector_info(self.core.target_info(), terminated)}
                infos = {"final_obs": final_obs, "_final_obs": terminated.copy(),
                         "final_info": final_info, "_final_info": terminated.copy()}
                self.core.reset(np.flatnonzero(terminated))
            obs = self.core.observe()
            infos.update(_vector_info(self.core.target_info(), everyone))
        truncated = np.zeros(self.num_envs, bool)
        return self._out(obs), self._out(reward), self._out(terminated), self._out(truncated), self._out(infos)

    def _out(self, value: Any) -> Any:
        """On a device env, the host's arrays (in nested dicts too) as tensors on the device: zero-copy views on
        CPU; tensors pass through."""
        if self.device is None:
            return value
        if isinstance(value, dict):
            return {key: self._out(item) for key, item in value.items()}
        if isinstance(value, np.ndarray):
            import torch

            return torch.as_tensor(value, device=self.device)
        return value

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='rgb_array'")
            return None
        return tuple(self.core.render(i) for i in range(self.num_envs))


def _torch_device(device: Any):
    """``device`` as a ``torch.device``, or a one-line ``ValueError`` (torch is imported only here)."""
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be None or a torch device ('cpu', 'cuda', 'cuda:0', ...), got {device!r}") \
            from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but CUDA is not available (torch.cuda.is_available() is False)")
    return device


def _vector_info(info: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    if not mask.any():
        return {}
    out: dict[str, np.ndarray] = {}
    for key, value in info.items():
        out[key] = value
        out["_" + key] = mask.copy()
    return out
