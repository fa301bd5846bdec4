"""agents.checkpoints: atomic checkpoint files (the old file or the new one, never a torn one)."""

from __future__ import annotations

import os

import pytest

from agents.checkpoints import atomic_write, remove_stale_temp_files, zip_path


def test_zip_path_applies_sb3s_suffix_rule(tmp_path):
    assert [zip_path(p).name for p in ("model", "model.zip", "run.v2")] == ["model.zip", "model.zip", "run.v2.zip"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "model.zip"
    atomic_write(path, lambda f: f.write(b"old"))

    def crash(f):
        f.write(b"half of the new")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(path, crash)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.zip"]
    assert atomic_write(path, lambda f: f.write(b"new")) == path and path.read_bytes() == b"new"


def test_stale_temp_files_of_killed_saves_are_removed_and_nothing_else(tmp_path):
    stale = tmp_path / ".model.zip.1234.tmp"
    stale.write_bytes(b"torn")
    (tmp_path / "model.zip").write_bytes(b"kept")
    (tmp_path / "notes.tmp").write_bytes(b"kept")
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert sorted(os.listdir(tmp_path)) == ["model.zip", "notes.tmp"]
