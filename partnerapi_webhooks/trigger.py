"""``partnerapi-webhooks trigger``: run the incremental job early when notifications land.

Polls the landing area, debounces bursts, and runs a command (``meltano run incremental``) so
pushed changes reach the warehouse in seconds. The schedule stays the backstop: a missed or
failed trigger only delays data until the next scheduled run, it never loses any.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from partnerapi_webhooks import reader

log = logging.getLogger("partnerapi_webhooks.trigger")

# A delivery claims its key (received_at) before it renames the file into place, so a file can
# appear up to one request (claim lease: 30 s) behind keys already seen: re-list this far back.
LOOKBACK = timedelta(seconds=60)


class TriggerError(ValueError):
    """A bad option or state file; the message names the option."""


@dataclass(frozen=True)
class Options:
    landing: Path
    environment: str
    command: list[str]
    debounce: float = 20.0
    max_delay: float = 60.0
    min_interval: float = 60.0
    poll: float = 2.0
    state_file: Path | None = None
    once: bool = False


def _key_time(key: str) -> datetime:
    stamp = key.rsplit("/", 1)[-1][:21]  # YYYYMMDDTHHMMSSffffff
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)


def load_state(path: Path, environment: str) -> str | None:
    """The last key a run was started for, or None when there is no state file yet."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        last_key, env = state["last_key"], state["environment"]
        _key_time(last_key)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TriggerError(f"--state-file {path}: unreadable ({exc})") from exc
    if env != environment:
        raise TriggerError(
            f"--state-file {path} belongs to environment {env!r}, not {environment!r}"
        )
    return last_key


def save_state(path: Path, environment: str, last_key: str) -> None:
    """Write-then-rename, so a crash leaves the old state or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump({"environment": environment, "last_key": last_key, "updated_at": now}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class Watcher:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.seen: set[str] = set()  # every key at or after the listing floor, pending or not
        self.high: str | None = None  # the latest key seen
        self.pending: list[str] = []  # seen, no run started since
        self.first_pending = self.last_new = self.started = 0.0
        self.last_start: float | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_number = self.stopping = 0  # stopping: signals received

    def _list(self, since: datetime) -> list[str]:
        return reader.list_keys(self.o.landing, self.o.environment, since=since, lookback=LOOKBACK)

    def baseline(self) -> None:
        """Without state, what is already there is history; with it, what came after is new."""
        last = load_state(self.o.state_file, self.o.environment) if self.o.state_file else None
        keys = self._list(_key_time(last) if last else datetime.now(UTC))
        self.seen = {k for k in keys if last is None or k <= last}
        self.high = max(keys, default=last)
        self._add([k for k in keys if k not in self.seen], time.monotonic())
        log.info("watching %s from key %s: %d newer pending", self.o.landing, self.high,
                 len(self.pending))  # fmt: skip

    def _add(self, new: list[str], now: float) -> None:
        if not new:
            return
        self.first_pending = self.first_pending if self.pending else now
        self.last_new = now
        self.pending.extend(new)
        self.seen.update(new)
        self.high = max(self.high or new[0], *new)

    def poll(self, now: float) -> None:
        # Follow the receiver's clock (the newest key) unless ours is behind it.
        floor = datetime.now(UTC)
        if self.high is not None:
            floor = min(floor, _key_time(self.high))
        try:
            keys = self._list(floor)
        except OSError as exc:  # e.g. a partition removed by housekeeping mid-listing
            log.warning("listing %s failed, retrying next poll: %s", self.o.landing, exc)
            return
        self._add([k for k in keys if k not in self.seen], now)
        self.seen = {k for k in self.seen if keys and k >= keys[0]}

    def due(self, now: float) -> bool:
        if not self.pending or self.proc is not None or self.stopping:
            return False
        at = min(self.last_new + self.o.debounce, self.first_pending + self.o.max_delay)
        if self.last_start is not None:
            at = max(at, self.last_start + self.o.min_interval)
        return now >= at

    def start(self, now: float) -> None:
        covered, self.pending = self.pending, []
        last = max(covered)
        self.run_number += 1
        self.last_start = self.started = now
        if self.o.state_file:
            save_state(self.o.state_file, self.o.environment, max(last, self.high or last))
        log.info("run %d: starting for %d notifications (last key %s): %s", self.run_number,
                 len(covered), last, " ".join(self.o.command))  # fmt: skip
        env = {**os.environ, "PARTNERAPI_TRIGGER_NOTIFICATIONS": str(len(covered)),
               "PARTNERAPI_TRIGGER_LAST_KEY": last}  # fmt: skip
        try:
            # Own session: a Ctrl-C on the watcher's terminal must not interrupt the job itself;
            # the watcher decides (see _on_signal).
            self.proc = subprocess.Popen(self.o.command, env=env, start_new_session=True)
        except OSError as exc:
            log.error("run %d: could not start %s: %s", self.run_number, self.o.command[0], exc)

    def finish(self) -> int | None:
        """The exit status once the running command ended (and it is reaped), else None."""
        if self.proc is None or self.proc.poll() is None:
            return None
        status, self.proc = self.proc.returncode, None
        took = time.monotonic() - self.started
        if status == 0:
            log.info("run %d: exit status 0 in %.1f s", self.run_number, took)
        else:
            # Not retried on a timer: the schedule is the backstop, and a command that keeps
            # failing (Meltano refusing while a scheduled run holds the job) must not spin.
            log.warning("run %d: exit status %d in %.1f s; the next notification retries",
                        self.run_number, status, took)  # fmt: skip
        return status

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping += 1
        name = signal.Signals(signum).name
        if self.proc is None:
            log.info("%s: stopping", name)
        elif self.stopping == 1:
            log.info("%s: stopping once run %d ends (signal again to stop it now)", name,
                     self.run_number)  # fmt: skip
        else:
            log.warning("%s: forwarding SIGTERM to run %d", name, self.run_number)
            with contextlib.suppress(ProcessLookupError):  # its group: meltano, tap, target
                os.killpg(self.proc.pid, signal.SIGTERM)

    def run(self) -> int:
        """0 after a clean stop; with ``once``, the command's exit status (127: not started)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.baseline()
        while True:
            now = time.monotonic()
            self.poll(now)  # first: a start decided below counts every key landed until now
            ended = self.finish()
            if ended is not None and self.o.once:
                return ended
            if self.proc is None and self.stopping:
                return 0
            if self.due(now):
                self.start(now)
                if self.proc is None and self.o.once:
                    return 127
            time.sleep(self.o.poll)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("trigger", help="run a command (the incremental job) as notifications land")
    p.add_argument("--landing", required=True, help="the receiver's landing folder")
    p.add_argument("--environment", required=True, choices=["sandbox", "production"])
    for flag, default, text in (
        ("--debounce-seconds", 20.0, "run once no new notification arrived for this long"),
        ("--max-delay-seconds", 60.0, "but no later than this after the first pending one"),
        ("--min-interval-seconds", 60.0, "between two starts of the command"),
        ("--poll-seconds", 2.0, "between two listings of the landing area"),
    ):
        p.add_argument(flag, type=float, default=default, help=f"{text} (default {default:g})")
    p.add_argument("--state-file", help="remembers the last key triggered for, across restarts")
    p.add_argument("--once", action="store_true", help="one trigger, one run; exit with its status")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND, e.g. meltano run incremental")


def options_from_args(args: argparse.Namespace) -> Options:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise TriggerError("no command: give it after --, e.g. -- meltano run incremental")
    if shutil.which(command[0]) is None:
        raise TriggerError(f"the command after --: {command[0]!r} is not found on PATH")
    if args.landing.startswith("s3://"):
        raise TriggerError("--landing: only a local folder can be watched, not s3://")
    if not Path(args.landing).is_dir():
        raise TriggerError(f"--landing {args.landing}: no such folder (start the receiver first)")
    for name in ("debounce_seconds", "max_delay_seconds", "min_interval_seconds"):
        if getattr(args, name) < 0:
            raise TriggerError(f"--{name.replace('_', '-')} must be >= 0")
    if args.poll_seconds <= 0:
        raise TriggerError("--poll-seconds must be > 0")
    state_file = Path(args.state_file) if args.state_file else None
    return Options(Path(args.landing), args.environment, command, args.debounce_seconds,
                   args.max_delay_seconds, args.min_interval_seconds, args.poll_seconds,
                   state_file, args.once)  # fmt: skip


def main(args: argparse.Namespace) -> int:
    try:
        return Watcher(options_from_args(args)).run()
    except TriggerError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
