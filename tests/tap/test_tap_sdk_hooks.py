"""singer-sdk's private API is used in tap_partnerapi/sdk_hooks.py only, and only with the
singer-sdk release it was read against: an SDK upgrade that renames a private hook must
fail here, not fall back silently to the SDK's default (slower, and for state, different).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest
import singer_sdk
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream

import tap_partnerapi
from tap_partnerapi import sdk_hooks
from tap_partnerapi.pagination import CursorPaginator, Page

PACKAGE = Path(tap_partnerapi.__file__).parent
ROOT = PACKAGE.parent
HOOKS_MODULE = "sdk_hooks.py"
# The SDK classes the tap builds on, whether or not one is a base class today (the
# paginator was: writing its private _value/_finished is what this test forbids).
SDK_CLASSES = (singer_sdk.Stream, RESTStream, singer_sdk.Tap, OAuthAuthenticator,
               BaseAPIPaginator, MsgSpecWriter)
PRIVATE_MODULE = re.compile(r"^singer_sdk(\.\w+)*\._")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _sdk_classes() -> set[type]:
    """``SDK_CLASSES`` and every singer-sdk class a tap_partnerapi class derives from."""
    found = set(SDK_CLASSES)
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        module = importlib.import_module(f"tap_partnerapi.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            found.update(cls.__mro__)
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


def private_uses(source: str, names: set[str]) -> list[str]:
    """Where ``source`` imports from a private singer-sdk module or imports a private
    name from singer-sdk, defines a method named as a private SDK member (an override), or
    reads or writes such an attribute."""
    uses = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            if PRIVATE_MODULE.match(node.module or "") or any(
                    _is_private(alias.name) for alias in node.names):
                uses.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            uses += [f"{node.lineno}: import {alias.name}" for alias in node.names
                     if PRIVATE_MODULE.match(alias.name)]
        elif isinstance(node, ast.ClassDef):
            uses += [f"{item.lineno}: def {item.name} (overrides singer-sdk's)"
                     for item in node.body
                     if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                     and item.name in names]
        elif isinstance(node, ast.Attribute) and node.attr in names:
            verb = "writes" if isinstance(node.ctx, ast.Store | ast.Del) else "uses"
            uses.append(f"{node.lineno}: {verb} .{node.attr}")
    return uses


def test_the_installed_singer_sdk_is_the_release_the_hooks_were_read_against():
    installed = importlib.metadata.version("singer-sdk")
    assert installed == sdk_hooks.SDK_VERSION, (
        f"singer-sdk {installed} is installed; tap_partnerapi/sdk_hooks.py was checked "
        f"against {sdk_hooks.SDK_VERSION}. Re-read every SDK function named in its comments "
        "in the new release, adapt the overrides, then set SDK_VERSION.")
    pins = re.findall(r'"singer-sdk\[[^\]]*\]==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pins and set(pins) == {sdk_hooks.SDK_VERSION}


def test_private_singer_sdk_names_appear_in_sdk_hooks_only():
    names = sdk_private_names()
    assert {"_tap", "_write_record_message", "_value", "_finished", "_validate_config",
            "_sync_records", "_stream_version"} <= names  # the scan sees the SDK's
    offenders = {path.name: uses for path in sorted(PACKAGE.glob("*.py"))
                 if path.name != HOOKS_MODULE
                 and (uses := private_uses(path.read_text(), names))}
    assert not offenders, (
        "Private singer-sdk names outside tap_partnerapi/sdk_hooks.py (give them a public "
        f"name there): {offenders}")


def test_the_scan_finds_each_kind_of_private_use():
    names = sdk_private_names()
    source = textwrap.dedent("""
        from singer_sdk.helpers._util import load_json
        from singer_sdk.plugin_base import _ConfigInput
        import singer_sdk.helpers._catalog
        class S(Stream):
            def _write_record_message(self, record): ...
        paginator._value = "next"
        paginator._finished = True
        tap = stream._tap
    """)
    found = [use.split(": ", 1)[1] for use in private_uses(source, names)]
    assert sorted(found) == sorted([
        "from singer_sdk.helpers._util import ...", "from singer_sdk.plugin_base import ...",
        "import singer_sdk.helpers._catalog", "def _write_record_message (overrides "
        "singer-sdk's)", "writes ._value", "writes ._finished", "uses ._tap"])
    # ...and in the one module allowed to, it finds the hooks the tap depends on.
    hooks = private_uses((PACKAGE / HOOKS_MODULE).read_text(), names)
    for hook in ("_generate_record_messages", "_write_record_message", "_process_record",
                 "_increment_stream_state", "_validate_config", "_write_schema_message"):
        assert any(f"def {hook} " in use for use in hooks), hook


@pytest.mark.parametrize("hook_class", [sdk_hooks.FastRecordPath, sdk_hooks.PushedRecords,
                                        sdk_hooks.TapHooks])
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
