# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils keeps its layers (docs/architecture.md, "Layers"): each file imports only from its own layer or the ones below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _session

MODULE_UTILS = Path(_session.__file__).parent
PACKAGE = "ansible_collections.hashfarm.whatsminer.plugins.module_utils"
#: The layer of each file (``_protocol`` is the package as a whole).
LAYERS = {
    "_protocol": 1,
    "_miner_state": 2, "_miner_state_v3": 2, "_session": 2,
    "_connection_options": 3, "_module_failure": 3,
    "_facts": 4, "_pools": 4, "_power": 4, "_password": 4, "_reboot": 4, "_firmware": 4, "_settings": 4, "_fleet_options": 4, "_polling": 4,
    "_runner": 5,
}


def imported_files(path: Path) -> set[str]:
    """The module_utils files (``_protocol`` for the package) that ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE):].lstrip(".")
            names.update([rest.split(".")[0]] if rest else [alias.name for alias in node.names])
    return names


def layer_of(path: Path) -> int:
    return LAYERS["_protocol" if path.parent.name == "_protocol" else path.stem]


def test_every_file_has_a_layer() -> None:
    files = {path.stem for path in MODULE_UTILS.glob("*.py") if path.stem != "__init__"}
    assert files - set(LAYERS) == set(), "add the new file to LAYERS and to docs/architecture.md"


@pytest.mark.parametrize("path", sorted(MODULE_UTILS.rglob("*.py")), ids=lambda path: str(path.relative_to(MODULE_UTILS)))
def test_imports_go_down_the_layers(path: Path) -> None:
    layer = layer_of(path)
    for name in imported_files(path):
        assert LAYERS[name] <= layer, f"{path.name} (layer {layer}) imports {name} (layer {LAYERS[name]})"
