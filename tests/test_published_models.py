"""Published checkpoints: the tree's weight stays under the limit, every file is indexed, and cells load by name."""

from __future__ import annotations

import json
import zipfile
from agents.cli import main
from agents.models import PUBLISHED_INDEX, load_checkpoint, published_checkpoint
from tests.conftest import requires_mnist
from tests.test_benchmarks import load_script

published = load_script("published_models")
LIMIT_MB, RESULTS, render_index, tree_checkpoints = (published.LIMIT_MB, published.RESULTS, published.render_index,
                                                     published.tree_checkpoints)

INDEX = json.loads(PUBLISHED_INDEX.read_text())


def test_checkpoints_in_the_tree_stay_under_the_limit_and_are_all_indexed():
    files = tree_checkpoints()
    assert sum(p.stat().st_size for p in files) <= LIMIT_MB * 2**20
    indexed = {(RESULTS / e["path"]).resolve() for e in INDEX}
    assert {p.resolve() for p in files} == indexed  # no file outside the index, no index entry without its file
    assert len({e["cell"] for e in INDEX}) == len(INDEX)
    assert (PUBLISHED_INDEX.with_suffix(".md")).read_text() == render_index(INDEX)


def test_published_files_carry_no_optimizer_or_resume_state():
    for entry in INDEX:
        with zipfile.ZipFile(RESULTS / entry["path"]) as z:
            assert "policy.optimizer.pth" not in z.namelist(), entry["cell"]
            data = json.loads(z.read("data"))
        assert "_last_obs" not in data and data["ram_meta"]["env_id"] == entry["env_id"], entry["cell"]


def test_a_cell_name_resolves_to_its_file(tmp_path):
    assert published_checkpoint("mnist-mnist28-RAM-6g") == RESULTS / "runs" / "mnist-6g-seed0" / "model.zip"
    assert published_checkpoint("no-such-cell") is None
    assert published_checkpoint("mnist-mnist28-RAM-6g", index=tmp_path / "absent.json") is None
    model, meta = load_checkpoint("catch-RAM")
    assert meta["env_id"] == "RAM-Catch-v0" and type(model).__name__ == "RAM"


def test_an_unknown_name_is_a_one_line_error(capsys):
    assert main(["evaluate", "mnist-mnist28-RAM-9g"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "index.md" in err and err.count("\n") == 1


@requires_mnist
def test_evaluate_and_render_take_a_cell_name(tmp_path, capsys):
    entry = next(e for e in INDEX if e["cell"] == "mnist-mnist28-RAM-2g")
    assert main(["evaluate", "mnist-mnist28-RAM-2g"]) == 0
    # The slimmed file scores exactly what its record says on the whole test split.
    assert f"test error {entry['test_error']:.2f}%" in capsys.readouterr().out
    gif = tmp_path / "g.gif"
    assert main(["render", "mnist-mnist28-RAM-2g", "--out", str(gif), "--episodes", "1"]) == 0
    assert gif.stat().st_size > 1000


def test_a_cell_moved_to_another_file_takes_that_files_commit():
    old = {"catch-RAM": {"path": "runs/a/model.zip", "commit": "abc1234"}}
    # An untracked file has no commit yet, so a cell that does not keep the indexed one gets None here.
    assert published._cell_commit(old, "catch-RAM", RESULTS / "runs" / "a" / "model.zip") == "abc1234"
    assert published._cell_commit(old, "catch-RAM", RESULTS / "runs" / "b" / "model.zip") is None
    assert published._cell_commit(old, "new-cell", RESULTS / "runs" / "a" / "model.zip") is None
    # A published file keeps the commit that added it.
    catch = next(e for e in INDEX if e["cell"] == "catch-RAM")
    assert published._cell_commit({}, "catch-RAM", RESULTS / catch["path"]) == catch["commit"]
