"""The package's layout: no import cycles, no module over 400 lines unless it is a text catalogue, the library never
imports Streamlit, TensorFlow loads only where a model is built or run, the ``mnist-lab`` command is installed,
and no page or UI helper reads a module global that is bound further down its file.

The module list is computed from the files under ``mnist_lab/`` (``pkgutil``, without importing anything), so
new modules are checked as they appear. Static checks parse every module with ``ast``; runtime checks import
modules in fresh interpreters, so nothing this test process has already imported can hide a problem.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mnist_lab"
PACKAGE_DIR = ROOT / PACKAGE
# Running it is running the command line, not importing a module.
NOT_IMPORTABLE = {f"{PACKAGE}.__main__"}
TENSORFLOW = {"tensorflow", "keras", "tf_keras"}
STREAMLIT = {"streamlit"}
# Where a model is built or run: the only modules that may import TensorFlow/Keras (inside functions).
MODEL_MODULES = (
    f"{PACKAGE}.models",
    f"{PACKAGE}.training",
    f"{PACKAGE}.predictions.inference",
    f"{PACKAGE}.predictions.inside",
)
SUBPROCESS_TIMEOUT_S = 300
STREAMLIT_FILES = sorted([*(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
# A module longer than this holds several concepts: split it by concept, unless it is a text catalogue (mostly the
# registry of choices with their explanations), whose docstring's first line starts with CATALOGUE_MARKER.
MAX_MODULE_LINES = 400
CATALOGUE_MARKER = "A text catalogue:"


def _walk(path: Path, prefix: str) -> dict[str, Path]:
    """Module name -> source file for the package at ``path`` and everything below it, without importing."""
    found = {prefix: path / "__init__.py"}
    for info in pkgutil.iter_modules([str(path)]):
        name = f"{prefix}.{info.name}"
        if info.ispkg:
            found.update(_walk(path / info.name, name))
        else:
            found[name] = path / f"{info.name}.py"
    return found


MODULES = _walk(PACKAGE_DIR, PACKAGE)
IMPORTABLE = sorted(set(MODULES) - NOT_IMPORTABLE)
# What a user imports first: the package, its subpackages and its top-level modules.
ENTRY_POINTS = sorted(name for name in IMPORTABLE if name.count(".") <= 1)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, module_level: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements of a module: all of them, or only those that run when it is imported (not inside a
    function, not under ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
            return
        if module_level:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for child in node.orelse:
                    visit(child)
                return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _parse(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))


def _imported_names(name: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement in module ``name`` refers to (``from a import b`` gives ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
        package = ".".join(package.split(".")[: len(package.split(".")) - (node.level - 1)])
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _top_names(name: str, *, module_level: bool) -> set[str]:
    """First components of everything module ``name`` imports."""
    tree = _parse(name)
    return {
        imported.split(".")[0]
        for node in _imports(tree, module_level=module_level)
        for imported in _imported_names(name, node)
    }


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports when it is imported (function-level imports are lazy: left out)."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        targets = set()
        for node in _imports(_parse(name), module_level=True):
            for imported in _imported_names(name, node):
                # ``import a.b.c`` binds a module; the deepest name that is one of ours is the dependency.
                while imported and imported not in MODULES:
                    imported = imported.rpartition(".")[0]
                if imported and imported != name:
                    targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that ends where it starts) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm; the graph has a few dozen nodes
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for component in components:
        start = min(component)
        paths = {start: [start]}
        frontier = [start]
        while frontier:  # breadth-first from start back to start, inside the component
            node = frontier.pop(0)
            if start in graph[node]:
                cycles.append([*paths[node], start])
                break
            for target in sorted(graph[node] & component):
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    frontier.append(target)
    return cycles


def test_module_list_is_found():
    assert {PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.models", f"{PACKAGE}.data"} <= set(MODULES)
    assert len(IMPORTABLE) > 20


def test_no_import_cycles_between_modules():
    cycles = "\n".join(" -> ".join(cycle) for cycle in _cycles(_import_graph()))
    assert not cycles, f"import cycles of module-level imports (import inside a function, or split a module):\n{cycles}"


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _overlong_modules() -> dict[str, int]:
    """Module -> its number of lines, for every module over :data:`MAX_MODULE_LINES` that is no text catalogue."""
    overlong = {}
    for name, path in MODULES.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and not (ast.get_docstring(_parse(name)) or "").startswith(CATALOGUE_MARKER):
            overlong[name] = lines
    return overlong


def test_no_module_over_the_line_limit_unless_a_text_catalogue():
    overlong = _overlong_modules()
    assert not overlong, (
        f"modules over {MAX_MODULE_LINES} lines: split each by concept, or, for a text catalogue, start its "
        f"docstring with {CATALOGUE_MARKER!r}: {overlong}"
    )


def test_library_never_imports_streamlit():
    offenders = sorted(name for name in MODULES if _top_names(name, module_level=False) & STREAMLIT)
    assert not offenders, f"mnist_lab must not import Streamlit (UI code belongs in ui/ or app_pages/): {offenders}"


def test_tensorflow_is_never_imported_at_module_level():
    offenders = sorted(name for name in MODULES if _top_names(name, module_level=True) & TENSORFLOW)
    assert not offenders, f"import TensorFlow/Keras inside the functions that build or run a model: {offenders}"


def test_tensorflow_only_where_a_model_is_built_or_run():
    offenders = sorted(
        name
        for name in MODULES
        if _top_names(name, module_level=False) & TENSORFLOW
        and not any(name == allowed or name.startswith(f"{allowed}.") for allowed in MODEL_MODULES)
    )
    assert not offenders, f"TensorFlow/Keras imported outside the model modules {MODEL_MODULES}: {offenders}"


def _globals_read_before_bound(source: str, name: str) -> list[str]:
    """Each read, inside a function of the file ``name``, of a module-level variable (not a function, class or
    import) that the file binds only below that function: it works when a page runs top to bottom, and misleads
    its reader."""
    tree = ast.parse(source, filename=name)
    bound_at: dict[str, int] = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            for target in ast.walk(node):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    bound_at.setdefault(target.id, node.lineno)
    found = []
    for function in (node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
        local = {arg.arg for node in ast.walk(function) if isinstance(node, (ast.FunctionDef, ast.Lambda))
                 for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                             *filter(None, (node.args.vararg, node.args.kwarg))]}
        local |= {node.id for node in ast.walk(function) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        found += [f"{name}:{node.lineno}: {function.name} reads {node.id}, bound at line "
                  f"{bound_at[node.id]}" for node in ast.walk(function)
                  if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local
                  and bound_at.get(node.id, 0) > function.lineno]
    return found


def test_pages_bind_their_globals_before_the_functions_that_read_them():
    offenders = [line for path in STREAMLIT_FILES
                 for line in _globals_read_before_bound(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not offenders, "bind the global above the function, or pass it in:\n" + "\n".join(offenders)


def test_a_global_bound_below_its_reader_is_found():
    source = "def show():\n    return store\n\n\ndef keep(store):\n    return store\n\n\nstore = 1\n"
    assert _globals_read_before_bound(source, "page.py") == ["page.py:2: show reads store, bound at line 9"]


# Runs in a fresh interpreter: imports each given module first (with no package module loaded before it), then every
# module in a given order; prints what failed and which of the forbidden libraries got loaded.
_PROBE = textwrap.dedent(
    """
    import importlib, json, sys, traceback

    firsts, orders, forbidden = json.loads(sys.argv[1])
    package = firsts[0].split(".")[0] if firsts else orders[0][0].split(".")[0]

    def forget_package():
        for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[name]

    failures = {}
    def load(name, label):
        try:
            importlib.import_module(name)
        except BaseException:
            failures[label] = traceback.format_exc(limit=-3)

    for first in firsts:
        forget_package()
        load(first, first + " first")
    for number, order in enumerate(orders):
        forget_package()
        for name in order:
            load(name, f"{name} (order {number})")
    loaded = sorted(name for name in forbidden if name in sys.modules)
    print(json.dumps({"failures": failures, "loaded": loaded}))
    """
)


def _probe(firsts: list[str], orders: list[list[str]], tmp_path: Path) -> dict:
    env = {**os.environ, "MNIST_LAB_HOME": str(tmp_path / "home"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([firsts, orders, sorted(STREAMLIT | TENSORFLOW)])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"importing {label}:\n{trace}" for label, trace in sorted(failures.items()))


@pytest.mark.slow  # fresh interpreters: 9-10 s on a quiet machine
def test_every_entry_point_imports_first_in_a_fresh_interpreter(tmp_path):
    """One new interpreter per subpackage and top-level module, importing only it: the first import a user makes."""
    workers = max(1, min(4, (os.cpu_count() or 1)))
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda name: _probe([name], [], tmp_path), ENTRY_POINTS))
    failures = {label: trace for result in results for label, trace in result["failures"].items()}
    assert not failures, _report(failures)


@pytest.mark.slow  # fresh interpreters: 9-10 s on a quiet machine
def test_every_module_imports_first_and_in_any_order_without_streamlit_or_tensorflow(tmp_path):
    """Every module imported first (the package forgotten in between), then all of them in sorted and reverse order.

    Afterwards neither Streamlit nor TensorFlow/Keras may be loaded: importing the library loads neither.
    """
    result = _probe(IMPORTABLE, [IMPORTABLE, IMPORTABLE[::-1]], tmp_path)
    assert not result["failures"], _report(result["failures"])
    assert result["loaded"] == [], f"importing every mnist_lab module loaded {result['loaded']}"


def _console_script() -> Path:
    script = Path(sys.executable).parent / ("mnist-lab.exe" if os.name == "nt" else "mnist-lab")
    if not script.exists():
        pytest.skip(f"{script} is missing: install the package (make, or pip install -e . --no-deps)")
    return script


def test_console_script_points_at_the_cli():
    try:
        distribution = importlib.metadata.distribution("mnist-lab")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mnist-lab is not installed: run make (it runs pip install -e . --no-deps)")
    scripts = {entry.name: entry.value for entry in distribution.entry_points if entry.group == "console_scripts"}
    assert scripts == {"mnist-lab": "mnist_lab.cli:main"}
    import mnist_lab

    assert distribution.version == mnist_lab.__version__, "installed metadata is stale: rerun make (pip install -e .)"


@pytest.mark.parametrize("command", ["console script", "python -m"])
@pytest.mark.slow  # the command line in a subprocess: 2-3 s a case
def test_command_line_help_exits_0(command, tmp_path):
    argv = [str(_console_script())] if command == "console script" else [sys.executable, "-m", PACKAGE]
    # The console script runs from elsewhere: it must find the installed package, not the checkout.
    cwd = tmp_path if command == "console script" else ROOT
    env = {**os.environ, "MNIST_LAB_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [*argv, "--help"], cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S
    )
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout


TRAINING = f"{PACKAGE}.training"
#: The training package's sides: each may import only the sides listed for it (and anything outside the package).
TRAINING_SIDES = {
    f"{TRAINING}.protocol": set(),
    f"{TRAINING}.worker": {f"{TRAINING}.protocol", f"{TRAINING}.split"},
}


def _package_imports(name: str) -> set[str]:
    """Every package module ``name`` imports, at module level or inside a function."""
    imported = set()
    for node in _imports(_parse(name), module_level=False):
        for target in _imported_names(name, node):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target:
                imported.add(target)
    return imported


def _side_of(name: str) -> str | None:
    return next((side for side in TRAINING_SIDES if name == side or name.startswith(f"{side}.")), None)


def test_the_worker_side_never_imports_the_server_side_and_the_message_format_imports_neither():
    crossings = []
    for name in MODULES:
        side = _side_of(name)
        if side is None:
            continue
        allowed = TRAINING_SIDES[side] | {side}
        for target in _package_imports(name):
            in_training = target == TRAINING or target.startswith(f"{TRAINING}.")
            if in_training and not any(target == ok or target.startswith(f"{ok}.") for ok in allowed):
                crossings.append(f"{name} imports {target}")
    assert MODULES.keys() >= {f"{TRAINING}.protocol", f"{TRAINING}.worker.fit", f"{TRAINING}.server.job"}
    assert not crossings, "\n".join(crossings)


def test_the_side_check_sees_an_import_inside_a_function():
    tree = ast.parse("def f():\n    from mnist_lab.training.server import trainer\n")
    node = next(iter(_imports(tree, module_level=False)))
    assert _imported_names(f"{TRAINING}.worker.fit", node) == [f"{TRAINING}.server.trainer"]
