"""The shape of the house: imports point one way, with no circles.

``pipelines -> components -> kerasynth core``, and the command line on top.
Every ``import`` counts, at module level or inside a function, and so does
``importlib.import_module("literal")``: a circle hidden in a function is
still a circle a reader must untangle.
"""

import ast
import graphlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# setup.cfg's package_dir: the design card's top-level folders, installed
# inside the package.
ROOTS = {"kerasynth": "kerasynth", "components": "kerasynth.components",
         "pipelines": "kerasynth.pipelines"}  # fmt: skip


def _modules() -> dict[str, Path]:
    modules = {}
    for folder, package in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join((package, *parts))] = path
    return modules


def _imported_names(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from kerasynth import atomic` is an edge to the submodule;
            # `from kerasynth import TableSynthesizer` one to `kerasynth`.
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "")
              == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):  # fmt: skip
            names.add(node.args[0].value)
    return names


def _graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (the longest prefix of an
    imported name that is a module: ``from kerasynth.data import images``
    is an edge to ``kerasynth.data.images``)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported_names(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_the_graph_sees_every_module():
    graph = _graph()
    assert {"kerasynth.tasks.base", "kerasynth.components.train",
            "kerasynth.pipelines.runner"} <= set(graph)  # fmt: skip
    assert "kerasynth.tasks" in graph["kerasynth.training"]
    assert "kerasynth.data.images" in graph["kerasynth.tasks.images"]  # lazy


def test_no_import_circles():
    try:
        tuple(graphlib.TopologicalSorter(_graph()).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def _layer(module: str) -> int:
    """0: the core, 1: components, 2: pipelines, 3: the command line (and
    the test helpers, which drive it)."""
    for rank, prefix in ((3, "kerasynth.cli"), (3, "kerasynth.testing"),
                         (2, "kerasynth.pipelines"),
                         (1, "kerasynth.components")):  # fmt: skip
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return 0


def test_imports_point_one_way():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert not upward


def test_setup_cfg_installs_every_package():
    # An editable install finds a package setup.cfg forgot; a wheel does not.
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    assert packages == listed
