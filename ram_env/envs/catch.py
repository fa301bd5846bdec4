"""The Catch game seen through the retina (Mnih et al., 2014).

## Description
A ``screen_size`` x ``screen_size`` binary screen (24 x 24 by default) holds a 1-pixel ball and a
``paddle_width``-pixel paddle (2 by default) on the bottom row. The ball starts on the top row (row 0)
at a uniformly random column, moving sideways by ``ball_speed`` columns per step (1 by default) in a
uniformly random direction. Every step it falls exactly one row and moves sideways, bouncing off the
side walls. The paddle starts at a uniformly random position among the ``screen_size - paddle_width + 1``
positions that keep it on the screen, and moves one column left, right or stays each step. The agent
never sees the whole screen (unless ``obs_mode="full"``): each step it chooses a game action and where
its next glimpse goes.

Order within a step: the paddle moves (clamped to the screen), then the ball moves, then the screen is
redrawn and the glimpse is taken at the action's location.

Bounces are exact reflections, whatever the speed: a ball at column ``x`` moving by ``v`` lands at the
triangle wave of ``x + v`` with period ``2 * (screen_size - 1)``; e.g. on a 24-pixel screen, a ball at
column 0 moving left (speed 1) goes to column 1, a ball at column 1 moving left at speed 3 goes to
column 2 (1 -> 0 -> -1 -> -2, reflected to 2), a ball at column 22 moving right at speed 3 goes to
column 21. A ball that reaches a wall keeps the direction it arrived with (``ball_dir``) and turns on the
next step.

## Observation space
``Dict`` with
- ``"glimpse"``: ``Box(0, 1, (k, g, g), float32)``, the retina's output at ``"location"`` (k = ``n_scales``,
  g = ``glimpse_size``; 3 and 6 by default, the paper's Catch retina);
- ``"location"``: ``Box(-1, 1, (2,), float32)``, where it was taken, (x, y) with (-1, -1) the top-left;
- ``"step"``: ``Discrete(screen_size - 1)``, the step index (0 at reset; the terminal observation repeats
  the last index).
With ``obs_mode="full"``: ``"image"`` ``Box(0, 255, (1, H, W), uint8)`` (the whole screen, channel-first)
and ``"step"``.

## Action space
See :mod:`ram_env.actions`. By default ``Box(-1, 1, (5,))``: the next glimpse location (x, y) followed by
one score per game action; the game action is the argmax of the three scores: ``0 = left``,
``1 = stay``, ``2 = right`` (``choice_names``), exact ties broken uniformly at random from the env's
generator. ``"multidiscrete"`` and ``"discrete"`` put the location on
a ``location_grid`` lattice. In full-frame mode the action is the game action only.

## Rewards and termination
The ball needs ``screen_size - 1`` steps to fall from the top row to the bottom row; the step on which
it reaches the bottom row terminates the episode, so every episode is exactly ``screen_size - 1`` steps
(``episode_length``). Reward 1 on that step if the ball's column is covered by the paddle
(``paddle_x <= ball_x < paddle_x + paddle_width``), else 0; 0 on every earlier step. Never truncated.
``info`` on the last step: ``is_success`` (caught), ``ball_x`` and ``paddle_x`` (the paddle's leftmost
column).

``info`` at reset and after every step (for scoring attention; never in the observation), float32 ``(2,)``
``(x, y)`` in location coordinates (the pixel coordinate ``c``, pixel ``i`` spanning ``[i, i + 1)``, maps to
``l = 2 c / screen_size - 1``, as in the retina), describing the screen the observation's glimpse was taken from:
- ``ball_position``: the centre of the ball's pixel;
- ``paddle_position``: the centre of the paddle (of its ``paddle_width`` pixels, on the bottom row).
The vector envs batch them (``(n, 2)``); see :mod:`ram_env.envs.base` for the vector and SB3 conventions.

A uniformly random policy catches a fraction ``paddle_width / screen_size`` of the balls at speed 1 (the
landing column and the paddle's lazy, clamped random walk are both uniform); :func:`scripted_policy`,
which predicts the bounces, catches all of them.

## Arguments (all keyword, all passed through ``gymnasium.make``)
- ``screen_size``: side of the screen (>= 4; default 24).
- ``paddle_width``: paddle width in pixels (1 .. ``screen_size``; default 2).
- ``ball_speed``: sideways columns per step (integer >= 0; default 1; 0 drops the ball straight down).
- ``glimpse_size`` (g, default 6), ``n_scales`` (k, default 3): the retina.
- ``initial_location``: ``"center"`` (the default: the first glimpse, given by ``reset``, looks at the
  middle of the screen, where the coarsest scale sees the whole screen), ``"random"`` or a fixed ``(x, y)``.
- ``action_mode``, ``location_grid``, ``obs_mode``, ``render_mode`` (see :class:`~ram_env.envs.base.GlimpseCore`).
- ``device``, ``engine`` (``gym.make_vec`` with ``vectorization_mode="vector_entry_point"`` only): the
  episodes on a torch device, every output a tensor there (see :class:`~ram_env.envs.base.GlimpseVectorEnv`).

## Helpers
:func:`move_ball` and :func:`landing_column` are the physics as pure array functions;
:meth:`CatchTask.expert_choices` gives the game action toward each ball's landing column and
:func:`scripted_policy` turns it into actions for any action mode, glimpsing where the ball will be
(:func:`pixel_location`). They read the game state, so they are a reference, not an agent.

## Divergences from the paper
The paper gives no ball speed, paddle start or bounce rule; the choices above are ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ram_env.envs.base import GlimpseEnv, GlimpseTask, GlimpseVectorEnv
from ram_env.retina import MAX_IMAGE_SIDE

CHOICE_NAMES = ("left", "stay", "right")
LEFT, STAY, RIGHT = 0, 1, 2


# ---------------------------------------------------------------------- physics (pure, vectorised)
def move_ball(x: np.ndarray, direction: np.ndarray, speed: int, screen_size: int, steps: Any = 1
              ) -> tuple[np.ndarray, np.ndarray]:
    """Move balls sideways by ``steps * speed`` columns with exact reflection off the side walls.

    Args:
        x: int columns in ``[0, screen_size - 1]``.
        direction: ``+1`` (right) or ``-1`` (left), same shape as ``x``.
        speed: columns per step (>= 0).
        screen_size: screen width.
        steps: number of steps (scalar or array broadcastable to ``x``).

    Returns:
        ``(x', direction')``. A ball that lands on a wall keeps the direction it arrived with; with no
        movement (speed 0 or 0 steps) the direction is unchanged.
    """
    x = np.asarray(x, np.int64)
    direction = np.asarray(direction, np.int64)
    last = screen_size - 1
    period = 2 * last
    # Unfold the bounded motion onto a circle of length `period`: going right means u = x, going
    # left means u = period - x; then moving is adding, and folding back is a triangle wave.
    u = np.where(direction > 0, x, (period - x) % period)
    shift = np.asarray(steps, np.int64) * int(speed)
    u = (u + shift) % period
    new_x = np.where(u <= last, u, period - u)
    # At u == last the ball has just reached the right wall moving right; at u == 0 the left wall moving left.
    new_dir = np.where((u > 0) & (u <= last), 1, -1)
    new_dir = np.where(shift == 0, direction, new_dir)
    return new_x.astype(np.int64), new_dir.astype(np.int64)


def landing_column(ball_x: np.ndarray, ball_y: np.ndarray, ball_dir: np.ndarray, speed: int,
                   screen_size: int) -> np.ndarray:
    """The column where balls at ``(ball_x, ball_y)`` moving ``ball_dir`` will reach the bottom row."""
    remaining = np.maximum(screen_size - 1 - np.asarray(ball_y, np.int64), 0)
    return move_ball(ball_x, ball_dir, speed, screen_size, remaining)[0]


def pixel_location(col: np.ndarray, row: np.ndarray, screen_size: int, offset: float = 0.75) -> np.ndarray:
    """Retina location ``(x, y)`` in [-1, 1] of the point ``(col + offset, row + offset)`` of pixel ``(row, col)``.

    ``offset=0.5`` is the pixel's centre. The default, 0.75, aims a quarter pixel below and right of it:
    a patch of even width centred on a pixel centre sits on a rounding tie (its top-left,
    :func:`ram_env.retina.patch_corner`, rounds ``centre - width / 2`` half up), which float32 rounding of the
    location can tip either way;
    a quarter-pixel offset never ties, for any patch width. The pixel then appears at index
    ``width // 2 - 1`` of an even patch (just up-left of its middle) and in the middle of an odd one.

    Returns:
        float32 ``(..., 2)``.
    """
    col = np.asarray(col, np.float64)
    row = np.asarray(row, np.float64)
    loc = np.stack([(col + offset) / screen_size * 2 - 1, (row + offset) / screen_size * 2 - 1], axis=-1)
    return loc.astype(np.float32)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------- the batched task
class CatchTask(GlimpseTask):
    """Batched Catch episodes (see the module docstring for the rules).

    State (int64 arrays over the ``n_envs`` episodes, public so tests and scripted agents can read
    and set them): ``ball_x``, ``ball_y`` (row, 0 = top), ``ball_dir`` (+1 right, -1 left) and
    ``paddle_x`` (the paddle's leftmost column). ``canvas`` holds the screens, uint8 0/255.
    """

    n_choices = 3
    choice_names = CHOICE_NAMES
    dynamic = True

    def __init__(self, n_envs: int, screen_size: int = 24, paddle_width: int = 2, ball_speed: int = 1):
        super().__init__(n_envs)
        self.screen_size = _check_int("screen_size", screen_size, 4, MAX_IMAGE_SIDE)
        self.paddle_width = _check_int("paddle_width", paddle_width, 1, self.screen_size)
        self.ball_speed = _check_int("ball_speed", ball_speed, 0)
        s = self.screen_size
        self.episode_length = s - 1
        self.image_shape = (s, s)
        n = self.n_envs
        self.canvas = np.zeros((n, s, s), np.uint8)
        self.ball_x = np.zeros(n, np.int64)
        self.ball_y = np.zeros(n, np.int64)
        self.ball_dir = np.ones(n, np.int64)
        self.paddle_x = np.zeros(n, np.int64)

    def sample(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The random part of a reset (the rules of a new game): ``(idx, {ball_x, ball_dir, paddle_x})``."""
        n, s = idx.size, self.screen_size
        ball_x = rng.integers(0, s, n)
        ball_dir = 2 * rng.integers(0, 2, n) - 1
        paddle_x = rng.integers(0, s - self.paddle_width + 1, n)
        return idx, {"ball_x": ball_x, "ball_dir": ball_dir, "paddle_x": paddle_x}

    def apply(self, idx: np.ndarray, params: dict[str, np.ndarray]) -> None:
        """Start the games ``params`` describe in the envs ``idx``: ball on the top row, screens drawn."""
        self.ball_x[idx], self.ball_dir[idx] = params["ball_x"], params["ball_dir"]
        self.paddle_x[idx] = params["paddle_x"]
        self.ball_y[idx] = 0
        self.draw(idx)

    def step(self, idx: np.ndarray, choices: np.ndarray, t: np.ndarray):
        s = self.screen_size
        # (np.minimum/np.maximum rather than np.clip: the same integers, a third of the call overhead)
        self.paddle_x[idx] = np.minimum(np.maximum(self.paddle_x[idx] + (np.asarray(choices, np.int64) - 1), 0),
                                        s - self.paddle_width)
        self.ball_x[idx], self.ball_dir[idx] = move_ball(self.ball_x[idx], self.ball_dir[idx], self.ball_speed, s)
        self.ball_y[idx] = np.minimum(self.ball_y[idx] + 1, s - 1)
        self.draw(idx)
        terminated = self.ball_y[idx] >= s - 1
        ball_x, paddle_x = self.ball_x[idx].copy(), self.paddle_x[idx].copy()
        caught = terminated & (paddle_x <= ball_x) & (ball_x < paddle_x + self.paddle_width)
        info = {"is_success": caught, "ball_x": ball_x, "paddle_x": paddle_x}
        return caught.astype(np.float32), terminated, info

    def targets(self) -> dict[str, np.ndarray]:
        """``ball_position`` and ``paddle_position``, float32 ``(n, 2)`` location coordinates (module docstring)."""
        s = self.screen_size
        ball = np.stack([self.ball_x + 0.5, self.ball_y + 0.5], axis=1)
        paddle = np.stack([self.paddle_x + self.paddle_width / 2, np.full(self.n_envs, s - 0.5)], axis=1)
        return {"ball_position": (ball * (2.0 / s) - 1.0).astype(np.float32),
                "paddle_position": (paddle * (2.0 / s) - 1.0).astype(np.float32)}

    def draw(self, idx: np.ndarray) -> None:
        """Redraw the screens of envs ``idx`` from the state arrays."""
        idx = np.asarray(idx)
        self.canvas[idx] = 0
        self.canvas[idx, self.ball_y[idx], self.ball_x[idx]] = 255
        cols = self.paddle_x[idx, None] + np.arange(self.paddle_width)
        self.canvas[idx[:, None], self.screen_size - 1, cols] = 255

    # ------------------------------------------------------------------ scripted agent
    def landing_columns(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Where each ball will reach the bottom row (predicting the bounces)."""
        idx = np.arange(self.n_envs) if idx is None else np.asarray(idx)
        return landing_column(self.ball_x[idx], self.ball_y[idx], self.ball_dir[idx], self.ball_speed,
                              self.screen_size)

    def expert_choices(self, idx: np.ndarray | None = None) -> np.ndarray:
        """The game action that moves each paddle toward its ball's landing column (stay once covered).

        Always catches: the paddle needs at most ``screen_size - paddle_width`` moves and has
        ``screen_size - 1`` of them.
        """
        idx = np.arange(self.n_envs) if idx is None else np.asarray(idx)
        target = self.landing_columns(idx)
        px = self.paddle_x[idx]
        return np.where(target < px, LEFT, np.where(target >= px + self.paddle_width, RIGHT, STAY)).astype(np.int64)

    def next_ball_location(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Retina location (:func:`pixel_location`) of each ball after the next step: float32 ``(n, 2)``."""
        idx = np.arange(self.n_envs) if idx is None else np.asarray(idx)
        x, _ = move_ball(self.ball_x[idx], self.ball_dir[idx], self.ball_speed, self.screen_size)
        y = np.minimum(self.ball_y[idx] + 1, self.screen_size - 1)
        return pixel_location(x, y, self.screen_size)


def _find_core(env: Any):
    seen = 0
    while not hasattr(env, "core") and seen < 32:
        seen += 1
        if hasattr(env, "venv"):  # SB3 VecEnvWrapper (VecMonitor, ...)
            env = env.venv
        elif hasattr(env, "unwrapped") and env.unwrapped is not env:
            env = env.unwrapped
        elif hasattr(env, "env"):
            env = env.env
        else:
            break
    core = getattr(env, "core", None)
    if core is None or not isinstance(core.task, CatchTask):
        raise TypeError(f"scripted_policy needs a Catch env, got {type(env).__name__}")
    return env, core


def scripted_policy(env: Any, look: str = "ball") -> np.ndarray:
    """Actions of a perfect scripted player for ``env``'s current state, encoded for its action mode.

    The game action moves the paddle toward the ball's predicted landing column
    (:meth:`CatchTask.expert_choices`); the next glimpse goes where the ball will be after the step
    (``look="ball"``) or to the centre (``look="center"``). It reads the game state, not the
    observation, so it serves as a reference (100% catches), not as a legitimate agent.

    Args:
        env: a :class:`CatchEnv` or :class:`CatchVectorEnv`, possibly wrapped (Gymnasium wrappers,
            :class:`ram_env.sb3.RAMVecEnv`, SB3 ``VecEnvWrapper``).
        look: ``"ball"`` or ``"center"``.

    Returns:
        One action for a single env, else a batch of ``num_envs`` actions.
    """
    if look not in ("ball", "center"):
        raise ValueError(f"look must be 'ball' or 'center', got {look!r}")
    base, core = _find_core(env)
    task: CatchTask = core.task
    choices = task.expert_choices()
    loc = task.next_ball_location() if look == "ball" else np.zeros((task.n_envs, 2), np.float32)
    actions = core.codec.encode(loc, choices)
    return actions[0] if isinstance(base, GlimpseEnv) else actions


# ---------------------------------------------------------------------- the Gymnasium envs
_CORE_DEFAULTS = dict(glimpse_size=6, n_scales=3, action_mode="box", obs_mode="glimpse", location_grid=5,
                      initial_location="center")


class CatchEnv(GlimpseEnv):
    """Catch through the retina (see the module docstring for spaces, rules and kwargs)."""

    task_class = CatchTask
    core_defaults = _CORE_DEFAULTS


class CatchVectorEnv(GlimpseVectorEnv):
    """``num_envs`` Catch games in array code (same rules as :class:`CatchEnv`)."""

    task_class = CatchTask
    core_defaults = _CORE_DEFAULTS
