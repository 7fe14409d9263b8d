"""Where the tap's CPU goes: py-spy samples one tap run (threads that are running, in
Python or in C: idle waits, GIL waits included, are not counted), and the collapsed stacks
are folded into a few named buckets - shares of the tap's CPU.

The full flame graph is left in the work directory (``profile.<name>.txt``, collapsed
stacks: ``py-spy``'s raw format, readable by speedscope or flamegraph.pl).
"""

from __future__ import annotations

import collections
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.common import SandboxProcess
from bench.throughput import run_tap

PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"

# Inclusive buckets: the first whose marker appears in a stack (searched leaf first) wins,
# so each sample is counted once. Markers are "function (file" fragments of py-spy frames.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The prefetch thread blocked on its work queue: idle, though py-spy does not always
    # classify that wait as idle.
    ("idle: prefetch thread waiting for work", ("_worker (concurrent/futures/thread.py:81)",)),
    ("start-up (imports)", ("_find_and_load",)),
    ("HTTP: read the page (fetch thread)", ("recv_into", "readinto (socket", "_fill_buffer",
                                            "read (http/client", "_safe_read", "Session.send")),
    ("rate limiter (sleep)", ("acquire (tap_partnerapi/pacing",)),
    ("decode page JSON (msgspec)", ("_check_response (tap_partnerapi/client",)),
    ("version hash (sha256 of canonical JSON)", ("version_of (tap_partnerapi/versions",)),
    ("shape check (drift)", ("check (tap_partnerapi/drift",)),
    ("dedup set", ("seen (tap_partnerapi/versions",)),
    ("encode + write Singer message", ("format_message", "write_message")),
    ("SDK deselect walk (pop_deselected_record_properties)",
     ("pop_deselected_record_properties",)),
    ("SDK per-record work (RecordMessage, stream map)", ("_generate_record_messages",
                                                        "_write_record_message",
                                                        "_increment_stream_state")),
    ("build record (lineage copy)", ("_records_of (tap_partnerapi/streams",)),
)


def fold(collapsed: Path) -> dict[str, Any]:
    """Samples per bucket, plus the top self-time leaf functions."""
    buckets: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1]] += n
        for frame in reversed(frames):
            name = next((b for b, markers in BUCKETS if any(m in frame for m in markers)),
                        None)
            if name is not None:
                buckets[name] += n
                break
        else:
            buckets["other (start-up, SDK, logging)"] += n
    return {
        "samples": total,
        "buckets": {k: v / max(total, 1) for k, v in buckets.most_common()},
        "top_self": [(k, v / max(total, 1)) for k, v in leaves.most_common(12)],
    }


def profile(sb: SandboxProcess, workdir: Path, resource: str, start_date: str | None,
            name: str = "profile", command: list[str] | None = None) -> dict[str, Any]:
    out = workdir / f"{name}.{resource}.txt"
    prefix = [PY_SPY, "record", "--format", "raw", "--rate", "200",
              "--output", str(out), "--"]
    settings = {"start_date": start_date} if start_date else {}
    run = run_tap(sb, workdir, resource, f"{name}.{resource}", prefix=prefix,
                  command=command, **settings)
    result = fold(out)
    result.update(resource=resource, records=run.records, stream_seconds=run.stream_seconds,
                  collapsed=str(out))
    return result
