"""singer-sdk's private API is used in partnerapi_sdk_hooks.py only, and only with the
singer-sdk release it was read against: an SDK upgrade that renames a private hook must
fail here, not fall back silently to the SDK's default (slower, and for state, different).
The scan covers every module the distribution ships (pyproject.toml's packages and
modules, found by listing, so a renamed or new package is covered without editing this).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import textwrap
import tomllib
import typing as t
from pathlib import Path

import pytest
import singer_sdk
from setuptools import find_packages
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.contrib.msgspec import MsgSpecReader, MsgSpecWriter
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream

import partnerapi_sdk_hooks as sdk_hooks
from tap_partnerapi.pagination import CursorPaginator, Page

HOOKS = Path(sdk_hooks.__file__).resolve()
ROOT = HOOKS.parent  # the checkout (a top-level module): wherever this test file lives
# The SDK classes the distribution builds on, whether or not one is a base class today (the
# paginator was: writing its private _value/_finished is what this test forbids).
SDK_CLASSES = (singer_sdk.Stream, RESTStream, singer_sdk.Tap, OAuthAuthenticator,
               BaseAPIPaginator, MsgSpecWriter, singer_sdk.Target, singer_sdk.BatchSink,
               MsgSpecReader)
PRIVATE_MODULE = re.compile(r"^singer_sdk(\.\w+)*\._")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def distribution_modules() -> dict[str, Path]:
    """Every module the wheel ships, by dotted name: the packages pyproject.toml's
    ``packages.find`` includes (listed on disk) and its top-level ``py-modules``."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {name: ROOT / f"{name}.py" for name in setuptools.get("py-modules", [])}
    for package in find_packages(str(ROOT), include=setuptools["packages"]["find"]["include"]):
        folder = ROOT.joinpath(*package.split("."))
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
    return modules


def _imported(name: str) -> t.Any:
    # __main__ modules run their CLI when imported; nothing to subclass in them.
    return None if name.rsplit(".", 1)[-1] == "__main__" else importlib.import_module(name)


def _derives_from_sdk(cls: type) -> bool:
    return any(base.__module__.startswith("singer_sdk") for base in cls.__mro__)


def _sdk_classes() -> set[type]:
    """``SDK_CLASSES`` and every singer-sdk class a class of the distribution derives from."""
    found = set(SDK_CLASSES)
    for name in distribution_modules():
        module = _imported(name)
        if module is not None:
            found.update(cls for _, cls in inspect.getmembers(module, inspect.isclass))
    return {base for cls in found for base in cls.__mro__
            if base.__module__.startswith("singer_sdk")}


def sdk_private_names() -> set[str]:
    """Private methods and attributes of those classes: class members, and the
    ``self._x`` their source sets or reads (instance attributes such as ``_tap``)."""
    names: set[str] = set()
    for cls in _sdk_classes():
        names.update(n for n in vars(cls) if _is_private(n))
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        names.update(node.attr for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and _is_private(node.attr)
                     and isinstance(node.value, ast.Name) and node.value.id == "self")
    return names


def plain_classes(module_name: str) -> set[str]:
    """The classes a module defines that derive from no singer-sdk class: their own
    ``_x`` members are theirs, whatever the SDK calls its own."""
    module = _imported(module_name)
    if module is None:
        return set()
    return {name for name, cls in vars(module).items()
            if inspect.isclass(cls) and cls.__module__ == module_name
            and not _derives_from_sdk(cls)}


class _Scan(ast.NodeVisitor):
    def __init__(self, names: set[str], plain: set[str]) -> None:
        self.names, self.plain = names, plain
        self.classes: list[str] = []
        self.uses: list[str] = []

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.startswith("singer_sdk") and (PRIVATE_MODULE.match(module) or any(
                _is_private(alias.name) for alias in node.names)):
            self.uses.append(f"{node.lineno}: from {module} import ...")

    def visit_Import(self, node: ast.Import) -> None:
        self.uses += [f"{node.lineno}: import {alias.name}" for alias in node.names
                      if PRIVATE_MODULE.match(alias.name)]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name not in self.plain:
            self.uses += [f"{item.lineno}: def {item.name} (overrides singer-sdk's)"
                          for item in node.body
                          if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                          and item.name in self.names]
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        own = (isinstance(node.value, ast.Name) and node.value.id == "self"
               and bool(self.classes) and self.classes[-1] in self.plain)
        if node.attr in self.names and not own:
            verb = "writes" if isinstance(node.ctx, ast.Store | ast.Del) else "uses"
            self.uses.append(f"{node.lineno}: {verb} .{node.attr}")
        self.generic_visit(node)


def private_uses(source: str, names: set[str], plain: set[str] = frozenset()) -> list[str]:
    """Where ``source`` imports from a private singer-sdk module or imports a private
    name from singer-sdk, defines a method named as a private SDK member in a class that
    is not one of ``plain`` (an override), or reads or writes such an attribute (other
    than a ``plain`` class's own ``self._x``)."""
    scan = _Scan(names, set(plain))
    scan.visit(ast.parse(source))
    return scan.uses


def test_the_installed_singer_sdk_is_the_release_the_hooks_were_read_against():
    installed = importlib.metadata.version("singer-sdk")
    assert installed == sdk_hooks.SDK_VERSION, (
        f"singer-sdk {installed} is installed; partnerapi_sdk_hooks.py was checked "
        f"against {sdk_hooks.SDK_VERSION}. Re-read every SDK function named in its comments "
        "in the new release, adapt the overrides, then set SDK_VERSION.")
    pins = re.findall(r'"singer-sdk\[[^\]]*\]==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pins and set(pins) == {sdk_hooks.SDK_VERSION}


def test_the_scan_lists_every_package_of_the_distribution():
    modules = distribution_modules()
    packages = {name.split(".")[0] for name in modules}
    assert {"tap_partnerapi", "target_duckdb_bulk", "partnerapi_webhooks", "partnerapi_ops",
            "partnerapi_sdk_hooks"} <= packages
    assert any(name.endswith("sandbox") for name in packages), packages  # the vendor sandbox
    assert HOOKS in {path.resolve() for path in modules.values()}
    assert "target_duckdb_bulk.sink" in modules and "tap_partnerapi.client" in modules


def test_private_singer_sdk_names_appear_in_the_sdk_hooks_module_only():
    names = sdk_private_names()
    assert {"_tap", "_write_record_message", "_value", "_finished", "_validate_config",
            "_sync_records", "_stream_version", "_parse_timestamps_in_record",
            "_process_record_message", "_write_state_message"} <= names  # sees the SDK's
    offenders = {str(path.relative_to(ROOT)): uses
                 for name, path in distribution_modules().items()
                 if path.resolve() != HOOKS
                 and (uses := private_uses(path.read_text(), names, plain_classes(name)))}
    assert not offenders, (
        "Private singer-sdk names outside partnerapi_sdk_hooks.py (give them a public "
        f"name there): {offenders}")


def sibling_private_imports(module_name: str, source: str, packages: set[str]) -> list[str]:
    """Imports of another package's private names (``_x``, or from a ``_x`` module)."""
    own = module_name.split(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names
                  if name.split(".")[0] in packages - {own}
                  and any(_is_private(part) for part in name.split("."))]
    return found


def test_no_module_imports_a_sibling_packages_private_names():
    modules = distribution_modules()
    packages = {name.split(".")[0] for name in modules}
    assert sibling_private_imports("a.b", "from tap_partnerapi.tap import _semantic_errors\n"
                                   "import target_duckdb_bulk._x", packages) == [
        "1: tap_partnerapi.tap._semantic_errors", "2: target_duckdb_bulk._x"]
    offenders = {name: uses for name, path in modules.items()
                 if (uses := sibling_private_imports(name, path.read_text(), packages))}
    assert not offenders, f"private names imported across packages: {offenders}"


def test_the_scan_finds_each_kind_of_private_use():
    names = sdk_private_names()
    source = textwrap.dedent("""
        from singer_sdk.helpers._util import load_json
        from singer_sdk.plugin_base import _ConfigInput
        import singer_sdk.helpers._catalog
        class S(Stream):
            def _write_record_message(self, record): ...
        class Own:
            def _state(self):
                return self._state
        paginator._value = "next"
        paginator._finished = True
        tap = stream._tap
    """)
    found = [use.split(": ", 1)[1] for use in private_uses(source, names, {"Own"})]
    assert sorted(found) == sorted([
        "from singer_sdk.helpers._util import ...", "from singer_sdk.plugin_base import ...",
        "import singer_sdk.helpers._catalog", "def _write_record_message (overrides "
        "singer-sdk's)", "writes ._value", "writes ._finished", "uses ._tap"])
    # ...and in the one module allowed to, it finds the hooks the tap and loader depend on.
    hooks = private_uses(HOOKS.read_text(), names)
    for hook in ("_generate_record_messages", "_write_record_message", "_process_record",
                 "_increment_stream_state", "_validate_config", "_write_schema_message",
                 "_parse_timestamps_in_record", "_process_record_message",
                 "_process_schema_message", "_write_state_message"):
        assert any(f"def {hook} " in use for use in hooks), hook


@pytest.mark.parametrize("hook_class", [sdk_hooks.FastRecordPath, sdk_hooks.PushedRecords,
                                        sdk_hooks.TapHooks, sdk_hooks.SinkHooks,
                                        sdk_hooks.TargetHooks])
def test_every_override_in_sdk_hooks_overrides_an_sdk_method_of_the_same_signature(
        hook_class):
    """A private hook the SDK renamed or re-signed would never be called."""
    overrides = [name for name in vars(hook_class)
                 if _is_private(name) and inspect.isfunction(vars(hook_class)[name])]
    assert overrides
    for name in overrides:
        sdk = next((vars(c)[name] for c in hook_class.__mro__[1:]
                    if c.__module__.startswith("singer_sdk") and name in vars(c)), None)
        assert sdk is not None, f"{hook_class.__name__}.{name}: no such singer-sdk method"
        ours = inspect.signature(vars(hook_class)[name])
        assert list(ours.parameters) == list(inspect.signature(sdk).parameters), name


def _page(cursor: str | None, next_cursor: str | None) -> Page:
    return Page(data=[], count=0, next_cursor=next_cursor, request_id="r", extracted_at="",
                server_now="", cursor=cursor, window_start=None, window_end=None)


def test_the_paginator_follows_next_cursor_and_refuses_a_repeat():
    paginator = CursorPaginator()
    assert paginator.current_value is None and not paginator.finished
    paginator.advance_page(_page(None, "c1"))
    paginator.advance_page(_page("c1", "c2"))
    assert (paginator.current_value, paginator.count, paginator.finished) == ("c2", 2, False)
    with pytest.raises(RuntimeError, match="Loop detected in pagination: cursor 'c2'"):
        paginator.advance_page(_page("c2", "c2"))
    paginator = CursorPaginator()
    paginator.advance_page(_page(None, None))
    assert paginator.finished and paginator.count == 1
