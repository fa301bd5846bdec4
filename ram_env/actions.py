"""Action modes: how an agent's action encodes the next glimpse location and its choice.

Every step of a glimpse task asks the agent for two things: where to look next (a location in
[-1, 1]^2) and a choice (a class on classification tasks, a paddle move in Catch). Three encodings
let every family of algorithm act on the same task:

``"box"`` (default)
    ``Box(-1, 1, (2 + n_choices,))``: ``(x, y, score_0, ..., score_{n-1})``. The location is clipped
    to [-1, 1] (a Gaussian location policy may sample outside); the choice is the argmax of the
    scores. Exact ties are broken uniformly at random from the env's own generator (seeded with
    the env, so episodes stay reproducible): SB3 clips Box actions to the bounds before ``step``,
    so an untrained Gaussian policy often sends two or more scores clipped to +1, and "lowest index
    wins" would bias its answers towards class 0.
``"multidiscrete"``
    ``MultiDiscrete([grid, grid, n_choices])``: a location cell on a ``grid x grid`` lattice spanning
    [-1, 1] (column index first, then row) and the choice.
``"discrete"``
    ``Discrete(grid * grid * n_choices)``: the same triple flattened in C order
    (``np.ravel_multi_index((ix, iy, choice), (grid, grid, n_choices))``), for DQN.

In full-frame mode (``with_location=False``) the location part is dropped: ``Box(-1, 1, (n_choices,))``,
``MultiDiscrete([n_choices])`` or ``Discrete(n_choices)``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

ACTION_MODES = ("box", "multidiscrete", "discrete")


class ActionCodec:
    """Builds the action space of a mode and decodes batches of actions into (locations, choices).

    Args:
        mode: one of ``"box"``, ``"multidiscrete"``, ``"discrete"``.
        n_choices: number of classes or game actions.
        location_grid: lattice size per axis for the discrete modes (>= 2).
        with_location: False in full-frame mode, where the action carries the choice only.
    """

    def __init__(self, mode: str, n_choices: int, location_grid: int = 5, with_location: bool = True):
        if mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {mode!r}")
        if int(n_choices) < 2:
            raise ValueError(f"n_choices must be >= 2, got {n_choices}")
        if not isinstance(location_grid, (int, np.integer)) or isinstance(location_grid, bool) or location_grid < 2:
            raise ValueError(f"location_grid must be >= 2 (cells per axis), got {location_grid}")
        self.mode = mode
        self.n_choices = int(n_choices)
        self.grid = int(location_grid)
        self.with_location = bool(with_location)
        self.grid_points = np.linspace(-1.0, 1.0, self.grid).astype(np.float32)
        n_loc = 2 if self.with_location else 0
        if mode == "box":
            self.space: spaces.Space = spaces.Box(-1.0, 1.0, (n_loc + self.n_choices,), np.float32)
        elif mode == "multidiscrete":
            dims = [self.grid, self.grid, self.n_choices] if self.with_location else [self.n_choices]
            self.space = spaces.MultiDiscrete(np.array(dims, dtype=np.int64))
        else:
            n = self.grid * self.grid * self.n_choices if self.with_location else self.n_choices
            self.space = spaces.Discrete(n)

    # ------------------------------------------------------------------ decoding
    def decode(self, actions, n_envs: int, rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray | None, np.ndarray]:
        """Decode a batch of actions.

        Args:
            actions: array-like of shape ``(n_envs,) + space.shape``.
            n_envs: batch size expected.
            rng: breaks exact ties between box scores uniformly at random (drawn only for the rows
                that tie); None gives ties to the lowest index; a list holds one generator per env
                (per-env streams; None entries keep the lowest index).

        Returns:
            ``(locations, choices)``: float32 ``(n_envs, 2)`` in [-1, 1] (None without location) and
            int64 ``(n_envs,)``.

        Raises:
            ValueError: wrong shape, NaN/inf, non-integer or out-of-range discrete values.
        """
        a = np.asarray(actions)
        expected = (n_envs,) + self.space.shape
        if a.shape != expected:
            # One action per env, each of the space's shape (Discrete: a flat (n_envs,) batch); nothing is reshaped.
            raise ValueError(
                f"action has shape {a.shape}, expected {expected} for action_mode={self.mode!r} "
                f"({self.space})"
            )
        if self.mode == "box":
            if a.dtype.kind not in "fiu":
                raise ValueError(f"box action must be numeric, got dtype {a.dtype}")
            if a.dtype != np.float32:  # (errstate is a context manager per call: only where there is a cast)
                with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf, refused just below
                    a = a.astype(np.float32)
            if not np.isfinite(a).all():
                raise ValueError("action contains NaN or inf")
            if self.with_location:
                # (np.minimum/np.maximum rather than np.clip: the same values, a third of the call overhead)
                loc, scores = np.minimum(np.maximum(a[:, :2], -1.0), 1.0), a[:, 2:]
            else:
                loc, scores = None, a
            return loc, _argmax_random_ties(scores, rng)

        if a.dtype.kind == "f":
            if not np.isfinite(a).all():
                raise ValueError("action contains NaN or inf")
            if not np.all(a == np.round(a)):
                raise ValueError(f"{self.mode} action must hold integers, got {a.reshape(-1)[:4]}...")
            if a.size and np.abs(a).max() >= 2.0**62:  # before the cast, which would wrap silently
                raise ValueError(f"{self.mode} action out of range: got {a.reshape(-1)[:4]}...")
        elif a.dtype.kind not in "iu":
            raise ValueError(f"{self.mode} action must be integer, got dtype {a.dtype}")
        a = a.astype(np.int64, copy=False)
        if self.mode == "multidiscrete":
            nvec = self.space.nvec
            if (a < 0).any() or (a >= nvec).any():
                raise ValueError(f"multidiscrete action out of range: each entry must lie in [0, {nvec.tolist()})")
            if not self.with_location:
                return None, a[:, 0]
            ix, iy, choices = a[:, 0], a[:, 1], a[:, 2]
        else:
            n = self.space.n
            if (a < 0).any() or (a >= n).any():
                raise ValueError(f"discrete action out of range: must lie in [0, {n})")
            if not self.with_location:
                return None, a
            ix, iy, choices = np.unravel_index(a, (self.grid, self.grid, self.n_choices))
        loc = np.stack([self.grid_points[ix], self.grid_points[iy]], axis=1)
        return loc, np.asarray(choices, dtype=np.int64)

    # ------------------------------------------------------------------ encoding
    def encode(self, locations: np.ndarray | None, choices: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`decode` (locations snap to the nearest grid cell in discrete modes).

        Scripted policies and tests use it to build valid actions for any mode.
        """
        choices = np.asarray(choices, dtype=np.int64)
        n = choices.shape[0]
        if self.with_location:
            if locations is None:
                locations = np.zeros((n, 2), np.float32)
            locations = np.asarray(locations, dtype=np.float32)
        if self.mode == "box":
            return box_actions(locations if self.with_location else None, choices, self.n_choices)
        if not self.with_location:
            return choices[:, None] if self.mode == "multidiscrete" else choices
        cells = np.rint((np.clip(locations, -1, 1) + 1) / 2 * (self.grid - 1)).astype(np.int64)
        if self.mode == "multidiscrete":
            return np.stack([cells[:, 0], cells[:, 1], choices], axis=1)
        return np.ravel_multi_index((cells[:, 0], cells[:, 1], choices), (self.grid, self.grid, self.n_choices))


def box_actions(locations: np.ndarray | None, choices: np.ndarray, n_choices: int) -> np.ndarray:
    """The ``"box"`` encoding: ``(x, y)`` then +1 for the choice and -1 elsewhere (float32 ``(n, 2 + n_choices)``);
    without ``locations`` (full-frame mode) the scores alone. The scores sit on the bounds, so SB3's clipping to
    [-1, 1] never changes what they mean."""
    choices = np.asarray(choices, dtype=np.int64)
    scores = np.full((choices.shape[0], n_choices), -1.0, np.float32)
    scores[np.arange(choices.shape[0]), choices] = 1.0
    if locations is None:
        return scores
    return np.concatenate([np.asarray(locations, np.float32), scores], axis=1)


def _argmax_random_ties(scores: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Row-wise argmax; rows whose maximum is shared pick one of the tied columns uniformly from ``rng``."""
    choices = np.argmax(scores, axis=1).astype(np.int64)
    if rng is None or scores.shape[0] == 0:
        return choices
    tied = scores == scores[np.arange(scores.shape[0]), choices][:, None]
    counts = tied.sum(axis=1)
    rows = np.flatnonzero(counts > 1)
    if isinstance(rng, (list, tuple)):
        # One generator per row (per-env streams); a row without one keeps the lowest index.
        rows = np.array([r for r in rows if rng[r] is not None], np.int64)
    if rows.size:
        # The k-th tied column of each row, k uniform in [0, count): one draw per tied row.
        pick = tie_picks(rng, rows, counts[rows])
        cols = np.cumsum(tied[rows], axis=1)
        choices[rows] = np.argmax(cols > pick[:, None], axis=1)
    return choices


def tie_picks(rng, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each tied row, which of its ``counts`` tied columns wins: uniform draws from ``rng``, the batch
    generator (one call) or a list of per-row generators (one draw from each row's own)."""
    if isinstance(rng, (list, tuple)):
        return np.array([rng[r].integers(0, counts[j:j + 1])[0] for j, r in enumerate(rows)], np.int64)
    return rng.integers(0, counts)
