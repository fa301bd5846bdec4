"""The glimpse tasks' array work as batched torch code on any device (CPU or CUDA).

Each torch task wraps the numpy task it mirrors (:class:`~ram_env.envs.classification.ClassificationTask`,
:class:`~ram_env.envs.catch.CatchTask`): the numpy task checks the arguments, loads the data and makes every
random draw of a reset (its ``sample``, on the host, small arrays); the torch task builds the episodes from
those draws on its device (scene composition, Catch's physics and screens) and keeps their state as tensors.
The rules of an episode therefore live in one place, and a seed gives the same episodes on both paths
(``tests/test_torch_core.py`` proves it).

State tensors have the numpy tasks' names and meanings (``canvas``, ``labels``, ``offsets``, ``boxes``;
``ball_x``, ``ball_y``, ``ball_dir``, ``paddle_x``). ``ii`` arguments index the envs on the device: an int64
tensor, or ``slice(None)`` for all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ram_env.envs.base import GlimpseTask
from ram_env.envs.catch import CatchTask
from ram_env.envs.classification import ClassificationTask


class TorchTask:
    """A task's episodes as tensors on ``device``; ``base`` (the numpy task) keeps the rules and the draws."""

    def __init__(self, base: GlimpseTask, device: torch.device):
        self.base = base
        self.device = torch.device(device)
        self.n_envs = base.n_envs
        self.n_choices, self.choice_names = base.n_choices, base.choice_names
        self.episode_length, self.image_shape = base.episode_length, base.image_shape
        self.dynamic, self.is_classification = base.dynamic, base.is_classification
        base.canvas = np.zeros((0,) + tuple(base.image_shape), np.uint8)  # the tensor below replaces it
        self.canvas = torch.zeros((self.n_envs,) + tuple(base.image_shape), dtype=torch.uint8, device=self.device)

    def sample(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The numpy task's draws (the rules): host arrays."""
        return self.base.sample(idx, rng)

    def describe_choice(self, env: int, choice: int) -> str:
        return self.base.describe_choice(env, choice)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # A copy: the host array may be read-only (or be written again while the tensor lives).
        return torch.as_tensor(np.array(array, copy=True), device=self.device)


class TorchClassificationTask(TorchTask):
    """:class:`~ram_env.envs.classification.ClassificationTask` on a torch device."""

    def __init__(self, base: ClassificationTask, device: torch.device):
        super().__init__(base, device)
        scenes = base.scenes
        self.scenes = scenes
        self.scene_repeats = base.scene_repeats
        self.images = self._tensor(scenes.images)
        self.all_labels = self._tensor(scenes.labels)
        self.digit_boxes = self._tensor(scenes.digit_boxes)
        n, dev = self.n_envs, self.device
        self.labels = torch.zeros(n, dtype=torch.int64, device=dev)
        self.offsets = torch.zeros((n, 2), dtype=torch.int64, device=dev)
        self.boxes = torch.zeros((n, 4), dtype=torch.int64, device=dev)
        h, w = scenes.images.shape[1:]
        self._rows_h = torch.arange(h, device=dev)
        self._cols_w = torch.arange(w, device=dev)
        self._piece = torch.arange(scenes.clutter_size, device=dev)
        size = torch.tensor(self.image_shape[::-1], dtype=torch.float64, device=dev)  # (W, H): x first
        self._half_digit = torch.tensor([w / 2, h / 2], dtype=torch.float64, device=dev)
        self._scale2 = 2.0 / size
        self._scale4 = 2.0 / torch.cat([size, size])
        self._targets: dict[str, torch.Tensor] | None = None

    @property
    def n_images(self) -> int:
        return self.base.n_images

    def compose(self, digit: torch.Tensor, offset: torch.Tensor, clutter: torch.Tensor | None) -> torch.Tensor:
        """Canvases ``uint8 (n, S, S)`` from the scene parameters (device tensors, see
        :meth:`ram_env.scenes.SceneGenerator.draw`): clutter pieces then the digit, combined by maximum."""
        digits = self.images[digit]
        if not self.scenes.translate and not self.scenes.n_clutter:
            return digits
        n, s = digit.shape[0], self.scenes.image_size
        canvas = torch.zeros((n, s, s), dtype=torch.uint8, device=self.device)
        batch = torch.arange(n, device=self.device)[:, None, None]
        if clutter is not None:
            p = self._piece
            for j in range(clutter.shape[1]):
                # One piece per scene per paste: no index repeats within a paste, so it is deterministic on any
                # device; pasting by maximum makes the order of the pieces irrelevant, as in numpy.
                src, sy, sx, dy, dx = clutter[:, j].unbind(1)
                piece = self.images[src[:, None, None], (sy[:, None] + p)[:, :, None], (sx[:, None] + p)[:, None, :]]
                rows, cols = (dy[:, None] + p)[:, :, None], (dx[:, None] + p)[:, None, :]
                canvas[batch, rows, cols] = torch.maximum(canvas[batch, rows, cols], piece)
        rows = (offset[:, 1, None] + self._rows_h)[:, :, None]
        cols = (offset[:, 0, None] + self._cols_w)[:, None, :]
        canvas[batch, rows, cols] = torch.maximum(canvas[batch, rows, cols], digits)
        return canvas

    def apply(self, idx: np.ndarray, params: dict[str, np.ndarray]) -> None:
        m = self.scene_repeats
        digit, offset = self._tensor(params["digit"]), self._tensor(params["offset"])
        if self.device.type == "cpu":
            # numpy's window pastes beat torch's advanced indexing on CPU (measured 5x at 1024 scenes);
            # the tensor shares the array's memory. Same canvases (tests/test_torch_core.py).
            canvas = torch.from_numpy(self.scenes.compose(params))
        else:
            canvas = self.compose(digit, offset, self._tensor(params["clutter"]) if "clutter" in params else None)
        boxes = self.digit_boxes[digit] + torch.cat([offset, offset], dim=1)
        labels = self.all_labels[digit]
        if m > 1:
            canvas, boxes, labels, offset = (x.repeat_interleave(m, dim=0) for x in (canvas, boxes, labels, offset))
        ii = self._tensor(idx)
        self._targets = None
        self.canvas[ii] = canvas
        self.labels[ii] = labels
        self.offsets[ii] = offset
        self.boxes[ii] = boxes

    def step(self, ii: torch.Tensor, choices: torch.Tensor, t: torch.Tensor):
        terminated = t >= self.episode_length - 1
        labels = self.labels[ii]
        correct = terminated & (choices == labels)
        return correct.to(torch.float32), {"label": labels, "prediction": choices, "is_success": correct}

    def targets(self) -> dict[str, torch.Tensor]:
        """As :meth:`ClassificationTask.targets`; computed once per reset (scenes do not move), callers copy."""
        if self._targets is None:
            self._targets = self._compute_targets()
        return self._targets

    def _compute_targets(self) -> dict[str, torch.Tensor]:
        centre = (self.offsets.to(torch.float64) + self._half_digit) * self._scale2 - 1.0
        box = self.boxes.to(torch.float64) * self._scale4 - 1.0
        empty = self.boxes[:, 0] == self.boxes[:, 2]
        box = torch.where(empty[:, None], torch.full_like(box, float("nan")), box)
        return {"target_center": centre.to(torch.float32), "target_box": box.to(torch.float32)}


def move_ball(x: torch.Tensor, direction: torch.Tensor, speed: int, screen_size: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ram_env.envs.catch.move_ball` for one step, in torch (int64 tensors)."""
    last = screen_size - 1
    period = 2 * last
    u = torch.where(direction > 0, x, (period - x) % period)
    u = (u + int(speed)) % period
    new_x = torch.where(u <= last, u, period - u)
    if speed == 0:
        return new_x, direction
    return new_x, torch.where((u > 0) & (u <= last), 1, -1).to(torch.int64)


class TorchCatchTask(TorchTask):
    """:class:`~ram_env.envs.catch.CatchTask` on a torch device."""

    def __init__(self, base: CatchTask, device: torch.device):
        super().__init__(base, device)
        self.screen_size, self.paddle_width, self.ball_speed = base.screen_size, base.paddle_width, base.ball_speed
        n, dev = self.n_envs, self.device
        self.ball_x = torch.zeros(n, dtype=torch.int64, device=dev)
        self.ball_y = torch.zeros(n, dtype=torch.int64, device=dev)
        self.ball_dir = torch.ones(n, dtype=torch.int64, device=dev)
        self.paddle_x = torch.zeros(n, dtype=torch.int64, device=dev)
        self._paddle = torch.arange(self.paddle_width, device=dev)

    def apply(self, idx: np.ndarray, params: dict[str, np.ndarray]) -> None:
        ii = self._tensor(idx)
        self.ball_x[ii] = self._tensor(params["ball_x"]).to(torch.int64)
        self.ball_dir[ii] = self._tensor(params["ball_dir"]).to(torch.int64)
        self.paddle_x[ii] = self._tensor(params["paddle_x"]).to(torch.int64)
        self.ball_y[ii] = 0
        self.draw(ii)

    def step(self, ii: torch.Tensor, choices: torch.Tensor, t: torch.Tensor):
        s = self.screen_size
        paddle = torch.clamp(self.paddle_x[ii] + (choices - 1), 0, s - self.paddle_width)
        ball_x, ball_dir = move_ball(self.ball_x[ii], self.ball_dir[ii], self.ball_speed, s)
        ball_y = torch.clamp(self.ball_y[ii] + 1, max=s - 1)
        self.paddle_x[ii], self.ball_x[ii], self.ball_dir[ii], self.ball_y[ii] = paddle, ball_x, ball_dir, ball_y
        self.draw(ii)
        terminated = ball_y >= s - 1
        caught = terminated & (paddle <= ball_x) & (ball_x < paddle + self.paddle_width)
        return caught.to(torch.float32), {"is_success": caught, "ball_x": ball_x, "paddle_x": paddle}

    def draw(self, ii: torch.Tensor) -> None:
        """Redraw the screens of envs ``ii`` from the state tensors."""
        s = self.screen_size
        ball_x = self.ball_x[ii]
        screens = torch.zeros((ball_x.shape[0], s, s), dtype=torch.uint8, device=self.device)
        rows = torch.arange(ball_x.shape[0], device=self.device)
        screens[rows, self.ball_y[ii], ball_x] = 255
        screens[rows[:, None], s - 1, self.paddle_x[ii, None] + self._paddle] = 255
        self.canvas[ii] = screens

    def targets(self) -> dict[str, torch.Tensor]:
        s = self.screen_size
        f64 = torch.float64  # int tensor + float would be float32 in torch, float64 in numpy
        ball = torch.stack([self.ball_x.to(f64) + 0.5, self.ball_y.to(f64) + 0.5], dim=1)
        paddle = torch.stack([self.paddle_x.to(f64) + self.paddle_width / 2,
                              torch.full_like(self.paddle_x, s, dtype=f64) - 0.5], dim=1)
        return {"ball_position": (ball * (2.0 / s) - 1.0).to(torch.float32),
                "paddle_position": (paddle * (2.0 / s) - 1.0).to(torch.float32)}


_TORCH_TASKS: dict[type, type[TorchTask]] = {ClassificationTask: TorchClassificationTask, CatchTask: TorchCatchTask}


def to_torch_task(task: Any, device: torch.device) -> TorchTask:
    """The torch twin of a numpy task, on ``device``.

    Raises:
        TypeError: the task has no torch version.
    """
    for cls, torch_cls in _TORCH_TASKS.items():
        if isinstance(task, cls):
            return torch_cls(task, device)
    raise TypeError(f"{type(task).__name__} has no torch version (device= needs one of "
                    f"{[c.__name__ for c in _TORCH_TASKS]})")
