"""The Recurrent Attention Model's networks (docs/model.md, "Network"): glimpse network, cores and heads.

Sizes default to the paper's: h_g 128, h_l 128, g_t 256, core 256.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CORES = ("rnn", "lstm", "gru")

State = tuple[torch.Tensor, ...]


class GlimpseNetwork(nn.Module):
    """g_t = ReLU(Linear(h_g) + Linear(h_l)), h_g = ReLU(Linear(rho)), h_l = ReLU(Linear(l)).

    Args:
        glimpse_shape: the retina's output ``(k, g, g)``.
        glimpse_hidden: size of h_g (128 in the paper).
        location_hidden: size of h_l (128).
        output_size: size of g_t (256).
        scale_gain: multiply the i-th scale's patch (i = 0 the finest) by ``scale_gain ** i`` before the
            first layer. 1.0 (the default) feeds the retina's output as is, as in the paper. Beyond the
            paper: 4.0 undoes the area averaging of the 2x-wider scales (each coarser pixel becomes the
            *sum* of the screen pixels it covers), so a 1-pixel object such as Catch's ball reads 1 at
            every scale instead of 1/16 at the coarsest, where it otherwise drowns in the first layer's
            biases. A fixed input scaling, no learned parameter.
    """

    def __init__(self, glimpse_shape: tuple[int, ...], glimpse_hidden: int = 128, location_hidden: int = 128,
                 output_size: int = 256, scale_gain: float = 1.0):
        super().__init__()
        self.scale_gain = float(scale_gain)
        if self.scale_gain != 1.0:
            k = int(glimpse_shape[0])
            gain = torch.tensor([self.scale_gain ** i for i in range(k)], dtype=torch.float32)
            self.register_buffer("gain", gain.view(k, *([1] * (len(glimpse_shape) - 1))), persistent=False)
        else:
            self.gain = None
        n_in = 1
        for d in glimpse_shape:
            n_in *= int(d)
        self.fc_glimpse = nn.Linear(n_in, glimpse_hidden)
        self.fc_location = nn.Linear(2, location_hidden)
        self.fc_what = nn.Linear(glimpse_hidden, output_size)
        self.fc_where = nn.Linear(location_hidden, output_size)
        self.output_size = output_size

    def forward(self, glimpse: torch.Tensor, location: torch.Tensor) -> torch.Tensor:
        if self.gain is not None:
            glimpse = glimpse * self.gain
        h_g = F.relu(self.fc_glimpse(glimpse.flatten(1)))
        h_l = F.relu(self.fc_location(location))
        return F.relu(self.fc_what(h_g) + self.fc_where(h_l))


class RNNCore(nn.Module):
    """The paper's core: h_t = ReLU(Linear(h_{t-1}) + Linear(g_t))."""

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.fc_input = nn.Linear(input_size, hidden_size)
        self.fc_hidden = nn.Linear(hidden_size, hidden_size)
        self.hidden_size = hidden_size

    def initial_state(self, batch: int, device: torch.device) -> State:
        return (torch.zeros(batch, self.hidden_size, device=device),)

    def forward(self, g: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h = F.relu(self.fc_input(g) + self.fc_hidden(state[0]))
        return h, (h,)


class LSTMCore(nn.Module):
    """An LSTM core (the paper's choice for Catch); state is ``(h, c)``."""

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.hidden_size = hidden_size

    def initial_state(self, batch: int, device: torch.device) -> State:
        zeros = torch.zeros(batch, self.hidden_size, device=device)
        return zeros, zeros.clone()

    def forward(self, g: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c = self.cell(g, state)
        return h, (h, c)


class GRUCore(nn.Module):
    """A GRU core (not in the paper; offered for comparison)."""

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.cell = nn.GRUCell(input_size, hidden_size)
        self.hidden_size = hidden_size

    def initial_state(self, batch: int, device: torch.device) -> State:
        return (torch.zeros(batch, self.hidden_size, device=device),)

    def forward(self, g: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h = self.cell(g, state[0])
        return h, (h,)


def make_core(kind: str, input_size: int, hidden_size: int = 256) -> nn.Module:
    """Build a core by name: ``"rnn"`` (the paper's), ``"lstm"`` or ``"gru"``."""
    cores = {"rnn": RNNCore, "lstm": LSTMCore, "gru": GRUCore}
    if kind not in cores:
        raise ValueError(f"core must be one of {CORES}, got {kind!r}")
    return cores[kind](input_size, hidden_size)


_BORDER = 1.0 - 1e-3  # the furthest a relative mean's current location reads from the centre (atanh: 3.8)


class LocationNetwork(nn.Module):
    """The mean of the Gaussian location policy: mu = tanh(Linear(h_t)) or, as in the paper, Linear(h_t).

    Args:
        hidden_size: the core's size.
        squash: ``"tanh"`` (default) keeps the mean inside the image's [-1, 1] range, as the public
            reproductions do; ``"none"`` is the paper's plain linear layer (the env clips the sampled
            location to [-1, 1]). With tanh the policy gradient fades as the mean nears the border,
            where ``1 - mu^2`` goes to 0.
        input_norm: what ``h_t`` becomes before the linear layer. False (the default) is the paper's: ``h_t``
            itself. Beyond the paper, the others bound the head's input, which the ReLU core's state does not (it grows
            over the glimpses and drives the tanh into saturation at the border): ``"layer"`` (or True, as
            checkpoints from before ``"unit"`` say) standardises it over its units (layer normalisation without
            learned gain or bias; the result has norm sqrt(hidden_size)); ``"unit"`` scales it to unit L2 norm,
            so with every weight row bounded to norm 1 (``RAM(max_weight_norm=1)``) each pre-tanh coordinate
            stays in [-1, 1] and the mean in [-tanh 1, tanh 1] (the digit centres of the 60x60 and 100x100 tasks
            lie within [-0.72, 0.72]). ``"unit_gain"``: the unit-norm state times a learned scalar gain
            (``exp(log_gain)``, from 1), so the head's reach is learned once for every step while the state's growth
            over the glimpses still does not reach it.
        mean: ``"absolute"`` (the default, the paper's) outputs the next location itself; ``"relative"``, beyond the
            paper, outputs a move from the location ``l_t`` the glimpse was just taken at: ``mu = tanh(atanh(l_t) +
            Linear(h_t))`` (with ``squash="none"``, ``l_t + Linear(h_t)``), so a zero output holds the glimpse where
            it is and a policy need not keep the target's absolute position in its state to stay on it. From the
            image centre both read the same.
    """

    MEANS = ("absolute", "relative")

    def __init__(self, hidden_size: int = 256, squash: str = "tanh", input_norm: bool | str = False,
                 mean: str = "absolute"):
        super().__init__()
        if squash not in ("tanh", "none"):
            raise ValueError(f"location squash must be 'tanh' or 'none', got {squash!r}")
        if mean not in self.MEANS:
            raise ValueError(f"location mean must be 'absolute' or 'relative', got {mean!r}")
        self.mean = mean
        norms = {False: False, True: "layer", "layer": "layer", "unit": "unit", "unit_gain": "unit_gain"}
        if not isinstance(input_norm, (bool, str)) or input_norm not in norms:
            raise ValueError(f"location input_norm must be False, 'layer' (or True), 'unit' or 'unit_gain', "
                             f"got {input_norm!r}")
        self.fc = nn.Linear(hidden_size, 2)
        self.squash = squash
        self.input_norm = norms[input_norm]
        if self.input_norm == "unit_gain":
            # A log so that a uniform(-s, s) initialisation of every parameter (init_scale) leaves the gain near 1.
            self.log_gain = nn.Parameter(torch.zeros(()))

    def forward(self, h: torch.Tensor, location: torch.Tensor | None = None) -> torch.Tensor:
        """mu_t from the core state ``h`` (and, for ``mean="relative"``, the current location ``location``)."""
        if self.input_norm == "layer":
            h = F.layer_norm(h, h.shape[-1:])
        elif self.input_norm:  # "unit" or "unit_gain"
            h = F.normalize(h, dim=-1, eps=1e-6)
            if self.input_norm == "unit_gain":
                h = h * self.log_gain.exp()
        mu = self.fc(h)
        if self.mean == "relative":
            if location is None:
                raise ValueError("a relative location mean needs the current location")
            if self.squash == "tanh":
                # atanh of +-1 is infinite: a glimpse on the border reads as one just inside it.
                return torch.tanh(torch.atanh(location.clamp(-_BORDER, _BORDER)) + mu)
            return location + mu
        return torch.tanh(mu) if self.squash == "tanh" else mu
