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
