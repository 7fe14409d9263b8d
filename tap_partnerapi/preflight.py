"""Checks made before any stream syncs: the incoming state and the stream selection.

Users edit state by hand to backfill a window; a bad bookmark found only when its stream
comes up fails a run after the other streams were extracted, and names nothing. Checked up
front, each problem names where the state lives (Meltano's state id, or the file), the
stream, the key, the bad value and the command that fixes it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import typing as t

from tap_partnerapi.clock import parse_ts
from tap_partnerapi.errors import SelectionError, StateError

if t.TYPE_CHECKING:
    from singer_sdk import Tap

#: What Meltano exports to an extractor it runs (checked on Meltano 4.4.1): its name, the
#: environment and the ``select`` patterns of meltano.yml. The state id itself is not
#: exported; Meltano builds it as ``<environment>:<extractor>-to-<loader>``.
MELTANO_EXTRACTOR = "MELTANO_EXTRACTOR_NAME"
MELTANO_ENVIRONMENT = "MELTANO_ENVIRONMENT"
MELTANO_SELECT = "MELTANO_EXTRACT__SELECT"


def meltano_state_hint() -> tuple[str, str] | None:
    """(state id pattern, fix command) when Meltano runs the tap, else None."""
    extractor = os.environ.get(MELTANO_EXTRACTOR)
    if not extractor:
        return None
    env = os.environ.get(MELTANO_ENVIRONMENT)
    prefix = f"meltano --environment={env}" if env else "meltano"
    state_id = f"{env}:{extractor}-to-<loader>" if env else f"{extractor}-to-<loader>"
    fix = (f"`{prefix} state list '*{extractor}-to-*'` shows the state id, "
           f"`{prefix} state edit <state id>` fixes the bookmark "
           f"(or `{prefix} state clear <state id>` to start over)")
    return state_id, fix


def describe_state(source: str | None) -> tuple[str, str]:
    """(where the state is, how to fix it) for messages."""
    hint = meltano_state_hint()
    if hint:
        return f"Meltano state {hint[0]}", hint[1]
    where = f"state file {source}" if source else "the state given to the tap"
    return where, f"edit or remove the bookmark in {source or 'the state'}"


def load_state(text: str, source: str | None) -> dict[str, t.Any]:
    """The state file's JSON; an unreadable one says it is the state."""
    where, fix = describe_state(source)
    if source and not meltano_state_hint():
        fix = f"repair the JSON of {source}, or remove the file to start from start_date"
    try:
        state = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise StateError(f"The tap's state ({where}) is not valid JSON: {exc}. "
                         f"Fix: {fix}.") from None
    if not isinstance(state, dict):
        raise StateError(f"The tap's state ({where}) must be a JSON object with "
                         f"'bookmarks', got {type(state).__name__}. Fix: {fix}.")
    return state


def check_state(tap: Tap, source: str | None = None) -> None:
    """Every bookmark of a known stream must be usable before anything syncs."""
    state = tap.state
    if not state:
        return
    where, fix = describe_state(source)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise StateError(f"{where}: 'bookmarks' must be an object, got "
                         f"{json.dumps(bookmarks)[:80]}. Fix: {fix}.")
    for name, bookmark in bookmarks.items():
        stream = tap.streams.get(name)
        if stream is None:
            tap.logger.warning("%s: bookmark of unknown stream %r ignored", where, name)
            continue
        if not isinstance(bookmark, dict):
            raise StateError(f"{where}, stream {name}: the bookmark must be an object, got "
                             f"{json.dumps(bookmark)[:80]}. Fix: {fix}.")
        entries = [("", bookmark)]
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list):
            raise StateError(f"{where}, stream {name}, key partitions: must be a list. "
                             f"Fix: {fix}.")
        entries += [(f"partitions[{i}].", p) for i, p in enumerate(partitions)]
        for prefix, entry in entries:
            if not isinstance(entry, dict):
                raise StateError(f"{where}, stream {name}, key {prefix.rstrip('.')}: must "
                                 f"be an object. Fix: {fix}.")
            _check_value(stream, where, fix, f"{prefix}replication_key_value",
                         entry.get("replication_key_value"))
            context = entry.get("context") or {}
            for key in ("_pa_window_start", "_pa_window_end"):
                if key in context:
                    _check_value(stream, where, fix, f"{prefix}context.{key}", context[key])


def _check_value(stream: t.Any, where: str, fix: str, key: str, value: t.Any) -> None:
    if value is None or not _is_timestamp_key(stream):
        return
    try:
        ok = isinstance(value, str) and parse_ts(value) is not None
    except ValueError:
        ok = False
    if not ok:
        raise StateError(
            f"{where}, stream {stream.name}, key {key}: {json.dumps(value)} is not an "
            f"RFC 3339 timestamp (like 2026-02-12T00:00:00Z). Fix: {fix}.")


def _is_timestamp_key(stream: t.Any) -> bool:
    key = stream.replication_key
    if not key:
        return True  # partition windows only
    prop = stream.schema.get("properties", {}).get(key, {})
    return prop.get("format") == "date-time"


def check_selection(tap: Tap) -> None:
    """Fail when a ``select`` pattern names no stream, or when nothing is selected."""
    names = sorted(tap.streams)
    valid = ", ".join(names)
    patterns = _meltano_select()
    for pattern in patterns:
        text = pattern[1:] if pattern.startswith("!") else pattern
        stream_part = text.split(".", 1)[0]
        if not any(fnmatch.fnmatchcase(name, stream_part) for name in names):
            raise SelectionError(
                f"select pattern {pattern!r} (meltano.yml) matches no stream of "
                f"tap-partnerapi; valid streams: {valid}")
    # Audit streams are only fed by the data streams: selecting nothing else reads nothing.
    data_streams = [s for s in tap.streams.values() if not getattr(s, "is_audit", False)]
    if not any(s.selected for s in data_streams):
        raise SelectionError(
            "no stream is selected, so the run would read nothing; select one or more of: "
            + ", ".join(sorted(s.name for s in data_streams)))


def _meltano_select() -> list[str]:
    raw = os.environ.get(MELTANO_SELECT)
    if not raw:
        return []
    try:
        patterns = json.loads(raw)
    except json.JSONDecodeError:
        return []
    return [p for p in patterns if isinstance(p, str)] if isinstance(patterns, list) else []
