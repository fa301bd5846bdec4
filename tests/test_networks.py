"""agents.networks: the glimpse network, the three cores and the location network."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agents.networks import CORES, GlimpseNetwork, LSTMCore, RNNCore, make_core


def test_the_glimpse_network_is_the_papers_formula():
    torch.manual_seed(0)
    net = GlimpseNetwork((2, 4, 4), glimpse_hidden=8, location_hidden=6, output_size=5)
    glimpse, loc = torch.rand(3, 2, 4, 4), torch.rand(3, 2) * 2 - 1
    h_g = F.relu(net.fc_glimpse(glimpse.reshape(3, -1)))
    h_l = F.relu(net.fc_location(loc))
    torch.testing.assert_close(net(glimpse, loc), F.relu(net.fc_what(h_g) + net.fc_where(h_l)))
    assert net(glimpse, loc).shape == (3, 5)


def test_the_rnn_core_is_relu_of_input_plus_recurrence():
    torch.manual_seed(0)
    core = RNNCore(4, hidden_size=3)
    g, h0 = torch.rand(2, 4), torch.rand(2, 3)
    h, (state,) = core(g, (h0,))
    torch.testing.assert_close(h, F.relu(core.fc_input(g) + core.fc_hidden(h0)))
    assert state is h
    assert torch.equal(core.initial_state(2, torch.device("cpu"))[0], torch.zeros(2, 3))


@pytest.mark.parametrize("kind,state_size", [("rnn", 1), ("lstm", 2), ("gru", 1)])
def test_make_core_builds_each_kind_with_its_state(kind, state_size):
    torch.manual_seed(0)
    core = make_core(kind, 5, 7)
    state = core.initial_state(4, torch.device("cpu"))
    assert len(state) == state_size and all(s.shape == (4, 7) for s in state)
    h, new = core(torch.rand(4, 5), state)
    assert h.shape == (4, 7) and torch.equal(new[0], h)
    torch.manual_seed(0)
    again = make_core(kind, 5, 7)  # seeded: the same weights
    assert all(torch.equal(a, b) for a, b in zip(core.state_dict().values(), again.state_dict().values()))


def test_an_unknown_core_names_the_choices():
    assert CORES == ("rnn", "lstm", "gru")
    with pytest.raises(ValueError, match=r"core must be one of \('rnn', 'lstm', 'gru'\), got 'transformer'"):
        make_core("transformer", 4)


def test_the_lstm_core_keeps_its_cell_state():
    torch.manual_seed(0)
    core = LSTMCore(3, 2)
    g = torch.rand(1, 3)
    h, (h_state, c) = core(g, core.initial_state(1, torch.device("cpu")))
    want_h, want_c = core.cell(g, (torch.zeros(1, 2), torch.zeros(1, 2)))
    torch.testing.assert_close(h, want_h)
    torch.testing.assert_close(c, want_c)


def test_scale_gain_multiplies_each_scale():
    from agents.networks import GlimpseNetwork

    torch.manual_seed(0)
    plain = GlimpseNetwork((3, 6, 6))
    gained = GlimpseNetwork((3, 6, 6), scale_gain=4.0)
    gained.load_state_dict(plain.state_dict())
    glimpse, loc = torch.rand(5, 3, 6, 6), torch.rand(5, 2)
    scaled = glimpse * torch.tensor([1.0, 4.0, 16.0])[:, None, None]
    torch.testing.assert_close(gained(glimpse, loc), plain(scaled, loc))
