"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import requires_mnist

README = Path(__file__).resolve().parents[1] / "README.md"


@requires_mnist
def test_quickstart_runs():
    block = re.search(r"## Quickstart\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README quickstart", "exec"), namespace)
    assert namespace["terminated"] and namespace["frame"].ndim == 3
    assert set(namespace["info"]) == {"label", "prediction", "is_success", "target_center", "target_box"}


def test_local_links_resolve():
    """Every image and link the README points to inside the repository exists (a missing GIF shows as a broken
    image on the project page)."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert local, "the README links no local file: the pattern no longer matches its links"
    missing = [t for t in local if not (README.parent / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_layout_names_every_module():
    """The README's Layout block names every module of the three packages (a new file lands in the map)."""
    layout = re.search(r"## Layout\n\n```\n(.*?)```", README.read_text(), re.S).group(1)
    root = README.parent
    modules = [p for pkg in ("ram_env", "agents", "benchmarks") for p in (root / pkg).rglob("*.py")
               if p.name != "__init__.py"]
    assert len(modules) > 40
    missing = [str(p.relative_to(root)) for p in modules if p.name not in layout]
    assert not missing, f"the README's Layout does not name: {missing}"
