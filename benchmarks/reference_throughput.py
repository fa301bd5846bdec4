"""RAM training throughput against a reference PyTorch RAM, measured side by side in one run: images trained/s.

Usage::

    python -m benchmarks.reference_throughput            # writes benchmarks/results/reference_throughput.{md,json}
    python -m benchmarks.reference_throughput --quick    # toy digits, short windows, a temp folder (CI)

The reference is written the way the most-used PyTorch reproduction of RAM trains (its design, in our own
code): scenes pre-generated and held in memory as one float tensor (no env), a glimpse sensor that pads the
batch and slices each sample's patch in a Python loop over the batch, scale by scale, then average-pools the
wider scales down to the patch size; glimpse network, ReLU RNN core, location network (a hidden layer, tanh mean,
fixed-sigma Gaussian, fed the detached state), baseline on the detached state, classifier after the last glimpse;
the hybrid loss (cross-entropy, baseline MSE, REINFORCE against the baseline) and Adam, with the batch's loss and
accuracy read back to the host every batch as its training loop logs them.

Ours is `ram train`'s model with its defaults (:func:`agents.models.build_model`, ``RAM.learn``), on the path
`ram train` takes on the CPU (SB3's numpy ``VecEnv``, new scenes drawn every batch) and on the device path
(``ram train --env-device cpu``). For every cell (task, batch, torch threads) the sides run in alternating
timed windows (the order rotated each round), so the machine's load falls on all of them alike; a window is one
``learn`` call (or one reference loop) of as many whole batches as fill it, sized from a warm-up. The ratio is
ours over the reference, from the windows' totals; the range is over the rounds (adjacent windows paired).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.results_io import machine, out_folder, provenance

#: name -> (label, env id, env kwargs on top of the id's): the issue's three tasks.
TASKS = {"mnist28": ("28x28, 6 glimpses", "RAM-MNIST-v0", dict(n_glimpses=6)),
         "cluttered60": ("cluttered 60x60, 8 glimpses, 3 scales", "RAM-ClutteredMNIST-v0", dict(n_glimpses=8)),
         "cluttered100": ("cluttered 100x100, 8 glimpses, 4 scales", "RAM-ClutteredMNIST100-v0",
                          dict(n_glimpses=8))}
#: The ratio targets (task label -> ours / reference at batch 128), from issue 20.
TARGETS = {"28x28, 6 glimpses": 3.0, "cluttered 60x60, 8 glimpses, 3 scales": 4.0}
SIDES = ("reference", "ours", "ours, device path", "ours, network only")


# ---------------------------------------------------------------------- the reference
def loop_glimpses(images: torch.Tensor, location: torch.Tensor, glimpse_size: int, n_scales: int) -> torch.Tensor:
    """The reference's sensor: ``(B, k * g * g)`` from ``images (B, 1, H, W)`` and ``location (B, 2)`` in [-1, 1].

    Patch i is ``g * 2**i`` wide, centred on the location's pixel ``(l + 1) * side / 2`` (rounded down); for
    every scale the batch is zero-padded by half a patch and each sample's patch sliced in a Python loop that
    reads its corners from the coordinate tensors (as the reference does), then patch i is average pooled by
    ``2**i`` down to ``g x g``.
    """
    side = images.shape[-2]
    first = ((location.detach() + 1.0) * 0.5 * side).long()  # in padded coordinates, the patch's first pixel
    scales = []
    for i in range(n_scales):
        size = glimpse_size * 2 ** i
        last = first + size
        padded = F.pad(images, (size // 2,) * 4)
        patch = torch.stack([padded[b, :, first[b, 1]:last[b, 1], first[b, 0]:last[b, 0]]
                             for b in range(images.shape[0])])
        scales.append(F.avg_pool2d(patch, 2 ** i) if i else patch)
    return torch.cat(scales, dim=1).flatten(1)


class ReferenceRAM(nn.Module):
    """The reference model: glimpse network, RNN core, location network, baseline and classifier.

    Args:
        glimpse_size, n_scales: the sensor's g and k.
        n_classes: the classifier's outputs.
        glimpse_hidden, location_hidden: sizes of the glimpse network's two branches; g_t is their sum's size.
        hidden_size: the core's size.
        location_std: the Gaussian location policy's fixed sigma.
    """

    def __init__(self, glimpse_size: int, n_scales: int, n_classes: int = 10, glimpse_hidden: int = 128,
                 location_hidden: int = 128, hidden_size: int = 256, location_std: float = 0.05):
        super().__init__()
        self.glimpse_size, self.n_scales, self.location_std = glimpse_size, n_scales, location_std
        g_size = glimpse_hidden + location_hidden
        self.what = nn.Linear(n_scales * glimpse_size ** 2, glimpse_hidden)
        self.where = nn.Linear(2, location_hidden)
        self.what_out = nn.Linear(glimpse_hidden, g_size)
        self.where_out = nn.Linear(location_hidden, g_size)
        self.input_to_hidden = nn.Linear(g_size, hidden_size)
        self.hidden_to_hidden = nn.Linear(hidden_size, hidden_size)
        self.locator_hidden = nn.Linear(hidden_size, hidden_size // 2)
        self.locator_mean = nn.Linear(hidden_size // 2, 2)
        self.baseline = nn.Linear(hidden_size, 1)
        self.classifier = nn.Linear(hidden_size, n_classes)

    def step(self, images: torch.Tensor, location: torch.Tensor, hidden: torch.Tensor):
        """One glimpse: ``(h_t, next location, its log-probability, b_t)``."""
        phi = loop_glimpses(images, location, self.glimpse_size, self.n_scales)
        g = F.relu(self.what_out(F.relu(self.what(phi))) + self.where_out(F.relu(self.where(location))))
        hidden = F.relu(self.input_to_hidden(g) + self.hidden_to_hidden(hidden))
        mu = torch.tanh(self.locator_mean(F.relu(self.locator_hidden(hidden.detach()))))
        sample = (mu + self.location_std * torch.randn_like(mu)).detach()
        log_pi = torch.distributions.Normal(mu, self.location_std).log_prob(sample).sum(dim=1)
        return hidden, sample.clamp(-1.0, 1.0), log_pi, self.baseline(hidden.detach()).squeeze(1)


class Reference:
    """The reference's training loop over scenes held in memory: ``run(n)`` trains ``n`` batches.

    Args:
        images: float ``(N, 1, H, W)`` scenes in [0, 1]; labels: int64 ``(N,)``.
        glimpse_size, n_scales, n_glimpses: the task's sensor and episode length.
        batch: images per batch.
        learning_rate: Adam's.
        reinforce_weight: the REINFORCE term's weight in the hybrid loss.
        seed: the model's initialisation, the batches' order and the location samples.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, glimpse_size: int, n_scales: int,
                 n_glimpses: int, batch: int, learning_rate: float = 3e-4, reinforce_weight: float = 0.01,
                 seed: int = 0):
        torch.manual_seed(seed)
        self.images, self.labels, self.batch, self.n_glimpses = images, labels, batch, n_glimpses
        self.model = ReferenceRAM(glimpse_size, n_scales, n_classes=int(labels.max()) + 1)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        self.order = torch.randperm(images.shape[0])
        self.cursor = 0
        self.reinforce_weight = reinforce_weight
        self.log: tuple[float, ...] = ()

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cursor + self.batch > self.order.numel():  # a new epoch over the scenes, reshuffled
            self.order, self.cursor = torch.randperm(self.images.shape[0]), 0
        idx = self.order[self.cursor:self.cursor + self.batch]
        self.cursor += self.batch
        return self.images[idx], self.labels[idx]

    def train_batch(self) -> None:
        x, y = self.next_batch()
        location = torch.empty(x.shape[0], 2).uniform_(-1.0, 1.0)
        hidden = torch.zeros(x.shape[0], self.model.hidden_to_hidden.out_features)
        log_pis, baselines = [], []
        for _ in range(self.n_glimpses):
            hidden, location, log_pi, b = self.model.step(x, location, hidden)
            log_pis.append(log_pi)
            baselines.append(b)
        log_probas = F.log_softmax(self.model.classifier(hidden), dim=1)
        reward = (log_probas.argmax(dim=1) == y).float()
        baselines_t, log_pi_t = torch.stack(baselines, dim=1), torch.stack(log_pis, dim=1)
        returns = reward[:, None].expand_as(baselines_t)
        loss_reinforce = (-log_pi_t * (returns - baselines_t.detach())).sum(dim=1).mean()
        loss = F.nll_loss(log_probas, y) + F.mse_loss(baselines_t, returns) + self.reinforce_weight * loss_reinforce
        accuracy = 100 * reward.mean()
        # The reference's loop logs the batch's loss and accuracy to its running means and its progress bar.
        self.log = (loss.item(), accuracy.item(), loss.item(), accuracy.item())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def run(self, n_batches: int) -> None:
        for _ in range(n_batches):
            self.train_batch()


def scene_pool(env_id: str, env_kwargs: dict, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` scenes of the task drawn once by its own generator: float ``(n, 1, H, W)`` in [0, 1] and labels."""
    import ram_env
    from ram_env.envs.base import split_kwargs
    from ram_env.envs.classification import ClassificationEnv, ClassificationTask

    kwargs = {**ram_env.ENVIRONMENTS[env_id][2], **env_kwargs}
    task_kwargs, _ = split_kwargs(kwargs, ClassificationTask, ClassificationEnv.core_defaults)
    task = ClassificationTask(n, **task_kwargs)
    order, params = task.sample(np.arange(n), np.random.default_rng(seed))
    task.apply(order, params)
    return torch.from_numpy(task.canvas).float().div_(255.0).unsqueeze(1), torch.from_numpy(task.labels.copy())


# ---------------------------------------------------------------------- ours
def ours(env_id: str, env_kwargs: dict, batch: int, env_device: str | None) -> tuple[Callable[[int], None], int]:
    """`ram train`'s model for the task (its defaults, ``--n-envs batch``) and a ``run(n_batches)`` for it."""
    from agents.models import build_model

    ram_kwargs = dict(learning_rate=None, optimizer=None, location_std=None, core=None, policy_kwargs=None)
    model, _ = build_model("ram", env_id, 0, batch, {**env_kwargs, "split": "train"}, "cpu", ram_kwargs, None,
                           env_device=env_device)
    length = model.env.get_attr("episode_length")[0]

    def run(n_batches: int) -> None:
        model.learn(n_batches * batch * length, log_interval=10, reset_num_timesteps=False)

    return run, length


def network_only(env_id: str, env_kwargs: dict, batch: int) -> Callable[[int], None]:
    """The floor under ours: the same model's policy steps, loss and Adam step (``RAM._train_on``) on glimpses
    already in memory, with no env, no scenes and no rollout bookkeeping: what no env work can take away."""
    from agents.models import build_model
    from agents.rollout import Batch, _step_policy

    ram_kwargs = dict(learning_rate=None, optimizer=None, location_std=None, core=None, policy_kwargs=None)
    model, _ = build_model("ram", env_id, 0, batch, {**env_kwargs, "split": "train"}, "cpu", ram_kwargs, None)
    length = model.env.get_attr("episode_length")[0]
    model.learn(batch * length, log_interval=0)  # SB3's setup (logger, buffers) as a run has it
    generator = torch.Generator().manual_seed(0)
    glimpses = torch.rand((length, batch) + model.observation_space["glimpse"].shape, generator=generator)
    locations = torch.rand((length, batch, 2), generator=generator) * 2 - 1
    labels = torch.randint(0, model.policy.n_choices, (batch,), generator=generator)

    def run(n_batches: int) -> None:
        policy = model.policy
        for _ in range(n_batches):
            policy.set_training_mode(True)
            state, baselines, logits, logp = policy.initial_state(batch), [], [], []
            for t in range(length):
                out, act = _step_policy(model, glimpses[t], locations[t], state, ([], []))
                state = out.state
                baselines.append(out.baseline)
                logits.append(out.logits)
                if t < length - 1:
                    logp.append(act.location_dist.log_prob(act.location).sum(dim=1))
            returns = (out.logits.argmax(dim=1) == labels).float()
            model._train_on(Batch(returns, labels, baselines, logits, logp, [], [], out, [], False, [], None))

    return run


# ---------------------------------------------------------------------- the measurement
def measure_cell(runs: dict[str, Callable[[int], None]], batch: int, window: float, rounds: int) -> dict:
    """Images/s of every side over ``rounds`` rounds of alternating windows of about ``window`` seconds."""
    per_batch = {}
    for name, run in runs.items():
        run(1)  # warm-up
        start = time.perf_counter()
        run(2)
        per_batch[name] = (time.perf_counter() - start) / 2
    n_batches = {name: max(1, round(window / t)) for name, t in per_batch.items()}
    names = list(runs)
    seconds = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            runs[name](n_batches[name])
            seconds[name].append(time.perf_counter() - start)
    rates = {name: batch * n_batches[name] * len(s) / sum(s) for name, s in seconds.items()}
    per_round = {name: [batch * n_batches[name] / t for t in s] for name, s in seconds.items()}
    return dict(images_per_s=rates, per_round=per_round, batches_per_window=n_batches)


def toy_digits(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random blobs as 28x28 uint8 "digits" with 10 labels: the --quick run needs no dataset."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28)) > 0.7).astype(np.uint8) * 255, np.arange(n) % 10


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="toy digits, batch 20, 1 thread, short windows")
    parser.add_argument("--window", type=float, default=None, help="seconds per timed window (default 2, quick 0.1)")
    parser.add_argument("--rounds", type=int, default=None, help="windows per side and cell (default 3, quick 1)")
    parser.add_argument("--batches", type=int, nargs="+", default=None, help="default 20 128 (quick 20)")
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="default 1 2 (quick 1)")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--pool", type=int, default=2048, help="scenes the reference holds in memory")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    window = args.window or (0.1 if args.quick else 2.0)
    rounds = args.rounds or (1 if args.quick else 3)
    batches = args.batches or ([20] if args.quick else [20, 128])
    threads_list = args.threads or ([1] if args.quick else [1, 2])
    pool = 256 if args.quick else args.pool
    out = out_folder(args.out, args.quick, __file__)
    extra = dict(dataset=toy_digits()) if args.quick else {}
    load_before = os.getloadavg()
    rows = []
    for label, env_id, env_kwargs in (TASKS[name] for name in args.tasks):
        kwargs = {**env_kwargs, **extra}
        images, labels = scene_pool(env_id, kwargs, pool)
        import ram_env

        spec = {**ram_env.ENVIRONMENTS[env_id][2], **env_kwargs}
        for batch in batches:
            for threads in threads_list:
                torch.set_num_threads(threads)
                reference = Reference(images, labels, spec["glimpse_size"], spec["n_scales"], spec["n_glimpses"],
                                      batch)
                ours_run, _ = ours(env_id, kwargs, batch, None)
                device_run, _ = ours(env_id, kwargs, batch, "cpu")
                runs = {"reference": reference.run, "ours": ours_run, "ours, device path": device_run,
                        "ours, network only": network_only(env_id, kwargs, batch)}
                cell = measure_cell(runs, batch, window, rounds)
                rates, per_round = cell["images_per_s"], cell["per_round"]
                row = dict(task=label, env_id=env_id, batch=batch, threads=threads, **cell,
                           ratio=rates["ours"] / rates["reference"],
                           ratio_device=rates["ours, device path"] / rates["reference"],
                           ratio_floor=rates["ours, network only"] / rates["reference"],
                           ratio_range=[min(o / r for o, r in zip(per_round["ours"], per_round["reference"])),
                                        max(o / r for o, r in zip(per_round["ours"], per_round["reference"]))])
                rows.append(row)
                print(f"{label:40s} batch {batch:4d} threads {threads}: reference {rates['reference']:7,.0f}  ours "
                      f"{rates['ours']:7,.0f} ({row['ratio']:.2f}x)  device path {rates['ours, device path']:7,.0f} "
                      f"({row['ratio_device']:.2f}x)  network only {rates['ours, network only']:7,.0f} "
                      f"({row['ratio_floor']:.2f}x) images/s", flush=True)
    load_after = os.getloadavg()
    meta = dict(provenance(__file__, argv), machine=machine(), torch=torch.__version__, quick=args.quick,
                load=f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)",
                window_s=window, rounds=rounds, pool=pool)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference_throughput.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    (out / "reference_throughput.md").write_text(report(meta, rows))
    print((out / "reference_throughput.md").read_text())


def report(meta: dict, rows: list[dict]) -> str:
    lines = ["# RAM training throughput against the reference (CPU, same run)" + (" (quick)" if meta["quick"] else ""),
             "", f"Command: `{meta['command']}`  ", f"Machine: {meta['machine'].split(', ')[0]}, "
             f"{os.cpu_count()} cores  ", f"Load: {meta['load']}  ", f"Date: {meta['date']}", "",
             "Images (episodes) trained per second: the reference (pre-generated scenes in memory, a per-sample patch "
             "loop and average pooling, Adam; benchmarks/reference_throughput.py's docstring) against `ram train`'s "
             "defaults on its CPU path (SB3 VecEnv) and on `--env-device cpu`, in alternating windows of "
             f"{meta['window_s']:g} s, {meta['rounds']} per side. Ratio: ours / reference (range over the rounds).", "",
             "Network only: our policy's steps, loss and Adam step on glimpses already in memory (no env), the "
             "ceiling of what cutting env and rollout work can reach.", "",
             "| task | batch | threads | reference | ours | ratio | ours, device path | ratio | network only | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        rates = r["images_per_s"]
        lo, hi = r["ratio_range"]
        lines.append(f"| {r['task']} | {r['batch']} | {r['threads']} | {rates['reference']:,.0f} | "
                     f"{rates['ours']:,.0f} | {r['ratio']:.2f}x ({lo:.2f}-{hi:.2f}) | "
                     f"{rates['ours, device path']:,.0f} | {r['ratio_device']:.2f}x | "
                     f"{rates['ours, network only']:,.0f} | {r['ratio_floor']:.2f}x |")
    lines += ["", "Targets (issue 20, batch 128, ours on `ram train`'s default path):", ""]
    for task, target in TARGETS.items():
        cells = [r for r in rows if r["task"] == task and r["batch"] == 128]
        if not cells:
            lines.append(f"- {task}: >= {target:g}x: not measured")
            continue
        got = ", ".join(f"{r['ratio']:.2f}x at {r['threads']} thread(s)" for r in cells)
        met = all(r["ratio"] >= target for r in cells)
        lines.append(f"- {task}: >= {target:g}x: {'met' if met else 'missed'} ({got})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
