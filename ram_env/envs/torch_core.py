"""The batched glimpse core on a torch device: what ``gym.make_vec(..., device=...)`` runs.

:class:`TorchGlimpseCore` is :class:`~ram_env.envs.base.GlimpseCore` with the episodes' arrays as tensors on
a device (CPU or CUDA): scenes and Catch's physics (:mod:`ram_env.envs.torch_tasks`), the retina (the
summed-area table and the corner gather of :mod:`ram_env.retina`'s torch backend), the action decoding and
the observations, all batched tensor ops with no per-env Python work per step.

What stays on the host, and why:
- the generators: every random draw of a reset (the task's ``sample``, the first location) and of a tie
  between scores comes from the same numpy generator(s) as on the numpy path, in the same order, so a seed
  gives the same episodes on both paths; a reset sends its few draws to the device in one go;
- the step counters ``t`` and ``done``: episodes have a fixed length, so termination follows from the
  counters and never needs a value from the device (the device keeps a copy of ``t`` for the observation).
A step reads one small flag tensor back from the device (invalid actions, ties), plus the tied rows' tie
counts when some scores tie exactly.

The vector env uses this core on non-CPU devices, and on CPU only with ``engine="torch"``: on CPU the numpy
engine was faster at every batch size measured, so ``device="cpu"`` runs it and hands out its arrays as
tensors. When this core does run on CPU it still calls the numpy kernels where they are faster (scene
composition, the retina's gather), on memory shared with the tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ram_env.actions import ActionCodec, tie_picks
from ram_env.envs.base import GlimpseCore, GlimpseTask
from ram_env.envs.torch_tasks import to_torch_task
from ram_env.render import draw_glimpse_frame
from ram_env.retina import integral_image


class TorchGlimpseCore(GlimpseCore):
    """:class:`~ram_env.envs.base.GlimpseCore` on ``device``: same arguments, same rules, tensors out.

    ``step`` returns ``(reward tensor, terminated numpy bool, info tensors)``: termination is known on the
    host (fixed-length episodes), the vector env sends it to the device with the rest of its outputs.
    """

    def __init__(self, task: GlimpseTask, device: Any = "cpu", **core_kwargs):
        super().__init__(task, **core_kwargs)
        self.device = torch.device(device)
        self.task = to_torch_task(task, self.device)
        n, length, dev = self.n_envs, task.episode_length, self.device
        self.location_t = torch.zeros((n, 2), dtype=torch.float32, device=dev)
        self.trajectory_t = torch.zeros((n, length, 2), dtype=torch.float32, device=dev)
        self.t_t = torch.zeros(n, dtype=torch.int64, device=dev)
        self.last_choice_t = torch.full((n,), -1, dtype=torch.int64, device=dev)
        self._all = torch.arange(n, device=dev)
        fixed = self.initial_location
        self._fixed = None if isinstance(fixed, str) else torch.as_tensor(fixed, device=dev)

    def _index(self, idx: np.ndarray):
        """Envs ``idx`` as a device index: ``slice(None)`` for all of them in order (views, no gather or
        scatter: the common case in a step), else an int64 tensor."""
        if idx.size == self.n_envs and (idx.size < 2 or (idx[0] == 0 and bool(np.all(np.diff(idx) == 1)))):
            return slice(None)
        return torch.as_tensor(idx, device=self.device)

    # ------------------------------------------------------------------ episodes
    def _start_episodes(self, idx: np.ndarray, loc: np.ndarray | None) -> None:
        ii = self._index(idx)
        self.t_t[ii] = 0
        self.last_choice_t[ii] = -1
        if loc is not None:
            self.location_t[ii] = torch.as_tensor(loc, device=self.device)
        elif self._fixed is None:
            self.location_t[ii] = 0.0
        else:
            self.location_t[ii] = self._fixed
        self.trajectory_t[self._all[ii], 0] = self.location_t[ii]
        self._update_tables(ii)

    def step(self, actions, active: np.ndarray | None = None):
        loc, choices = decode(self.codec, actions, self.n_envs, self.tie_rng(active), self.device)
        active = np.ones(self.n_envs, bool) if active is None else active
        if (self.done & active).any():
            raise RuntimeError("step() called on an episode that has terminated: call reset() first")
        idx = np.flatnonzero(active)
        reward = torch.zeros(self.n_envs, dtype=torch.float32, device=self.device)
        terminated = np.zeros(self.n_envs, bool)
        info: dict[str, torch.Tensor] = {}
        if idx.size == 0:
            return reward, terminated, info
        ii = self._index(idx)
        length = self.task.episode_length
        t, t_t = self.t[idx], self.t_t[ii]
        r, task_info = self.task.step(ii, choices[ii], t_t)
        reward[ii] = r
        terminated[idx] = t == length - 1
        for key, value in task_info.items():
            full = torch.zeros((self.n_envs,) + tuple(value.shape[1:]), dtype=value.dtype, device=self.device)
            full[ii] = value
            info[key] = full
        self.last_choice_t[ii] = choices[ii]
        self.t[idx] = np.minimum(t + 1, length - 1)
        t_t = torch.clamp(t_t + 1, max=length - 1)
        self.t_t[ii] = t_t
        if loc is not None:
            self.location_t[ii] = loc[ii]
            self.trajectory_t[self._all[ii], t_t] = loc[ii]
        self.done[idx] = terminated[idx]
        if self.task.dynamic:
            self._update_tables(ii)
        return reward, terminated, info

    def target_info(self) -> dict[str, torch.Tensor]:
        return {key: value.clone() for key, value in self.task.targets().items()}

    def refresh(self, idx: np.ndarray | None = None) -> None:
        self._update_tables(self._index(np.arange(self.n_envs) if idx is None else np.asarray(idx)))

    def _update_tables(self, ii: torch.Tensor) -> None:
        if self.obs_mode != "glimpse":
            return
        if self.tables is None or isinstance(ii, slice):
            self.tables = integral_image(self.task.canvas)
        else:
            self.tables[ii] = integral_image(self.task.canvas[ii])

    # ------------------------------------------------------------------ observations
    def observe(self) -> dict[str, torch.Tensor]:
        if self.obs_mode == "glimpse":
            if self.device.type == "cpu":
                # The numpy kernel (scratch buffers reused across calls) beats torch's gather on CPU at every
                # batch size measured; zero-copy views both ways.
                glimpse = torch.from_numpy(self.retina(self.tables.numpy(), self.location_t.numpy()))
            else:
                glimpse = self.retina(self.tables, self.location_t)
            return {"glimpse": glimpse, "location": self.location_t.clone(), "step": self.t_t.clone()}
        return {"image": self.task.canvas[:, None].clone(), "step": self.t_t.clone()}

    def render(self, env: int = 0) -> np.ndarray:
        t = int(self.t[env])
        choice = int(self.last_choice_t[env])
        text = f"t={t}" + (f"  {self.task.describe_choice(env, choice)}" if choice >= 0 else "")
        glimpse = self.obs_mode == "glimpse"
        return draw_glimpse_frame(
            self.task.canvas[env].cpu().numpy(),
            self.location_t[env].cpu().numpy() if glimpse else None,
            self.glimpse_size, self.n_scales,
            trajectory=self.trajectory_t[env, : t + 1].cpu().numpy() if glimpse else None,
            text=text,
        )


# ---------------------------------------------------------------------- action decoding
def decode(codec: ActionCodec, actions: Any, n_envs: int, rng: Any, device: torch.device
           ) -> tuple[torch.Tensor | None, torch.Tensor]:
    """:meth:`ram_env.actions.ActionCodec.decode` on ``device``: same checks, same errors, same tie draws.

    ``actions`` may be a tensor (any device; moved to ``device``) or array-like. Returns ``(locations float32
    (n, 2) or None, choices int64 (n,))`` on ``device``.
    """
    if not isinstance(actions, torch.Tensor):
        a_np = np.asarray(actions)
        if a_np.dtype.kind not in "biuf":
            raise ValueError(f"{codec.mode} action must be numeric, got dtype {a_np.dtype}")
        actions = torch.as_tensor(a_np)
    a = actions.detach().to(device)
    expected = (n_envs,) + codec.space.shape
    if tuple(a.shape) != expected:
        raise ValueError(f"action has shape {tuple(a.shape)}, expected {expected} for action_mode={codec.mode!r} "
                         f"({codec.space})")
    if a.dtype.is_complex:
        raise ValueError(f"{codec.mode} action must be real, got dtype {a.dtype}")
    if codec.mode == "box":
        if a.dtype == torch.bool:
            raise ValueError(f"box action must be numeric, got dtype {a.dtype}")
        a = a.to(torch.float32)  # beyond float32's range becomes inf, refused just below
        loc, scores = (torch.clamp(a[:, :2], -1.0, 1.0), a[:, 2:]) if codec.with_location else (None, a)
        choices = torch.argmax(scores, dim=1)  # the first maximum, as numpy's
        tied = scores == scores.gather(1, choices[:, None])
        counts = tied.sum(dim=1)
        bad, any_tie = torch.stack([~torch.isfinite(a).all(), (counts > 1).any()]).tolist()  # one sync
        if bad:
            raise ValueError("action contains NaN or inf")
        if any_tie and rng is not None:
            rows = torch.nonzero(counts > 1).squeeze(1).cpu().numpy()
            if isinstance(rng, (list, tuple)):
                rows = np.array([r for r in rows if rng[r] is not None], np.int64)
            if rows.size:
                rows_t = torch.as_tensor(rows, device=device)
                pick = torch.as_tensor(tie_picks(rng, rows, counts[rows_t].cpu().numpy()), device=device)
                cols = torch.cumsum(tied[rows_t].to(torch.int32), dim=1)
                choices[rows_t] = torch.argmax((cols > pick[:, None]).to(torch.uint8), dim=1)
        return loc, choices

    if a.dtype.is_floating_point:
        flags = torch.stack([~torch.isfinite(a).all(), (a != torch.round(a)).any(), (a.abs() >= 2.0**62).any()])
        bad, fraction, huge = flags.tolist()
        if bad:
            raise ValueError("action contains NaN or inf")
        if fraction:
            raise ValueError(f"{codec.mode} action must hold integers, got {a.reshape(-1)[:4].tolist()}...")
        if huge:
            raise ValueError(f"{codec.mode} action out of range: got {a.reshape(-1)[:4].tolist()}...")
    elif a.dtype == torch.bool:
        raise ValueError(f"{codec.mode} action must be integer, got dtype {a.dtype}")
    a = a.to(torch.int64)
    if codec.mode == "multidiscrete":
        nvec = codec.space.nvec
        if bool(((a < 0) | (a >= torch.as_tensor(nvec, device=device))).any()):
            raise ValueError(f"multidiscrete action out of range: each entry must lie in [0, {nvec.tolist()})")
        if not codec.with_location:
            return None, a[:, 0]
        ix, iy, choices = a[:, 0], a[:, 1], a[:, 2]
    else:
        n = codec.space.n
        if bool(((a < 0) | (a >= n)).any()):
            raise ValueError(f"discrete action out of range: must lie in [0, {n})")
        if not codec.with_location:
            return None, a
        c, g = codec.n_choices, codec.grid
        ix, iy, choices = a // (g * c), (a // c) % g, a % c  # C order over (grid, grid, n_choices)
    grid = torch.as_tensor(codec.grid_points, device=device)
    return torch.stack([grid[ix], grid[iy]], dim=1), choices
