"""`partnerapi-webhooks trigger` as a real process, fed by the real receiver and the sandbox's
signed sender; the command is a tiny script that logs its runs (Meltano is too slow here).

Runs are counted, never timed: a "no further run" check waits several debounce periods. The one
time check is an invariant (starts at least --min-interval-seconds apart), not a speed.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from partnerapi_sandbox.webhook_delivery import WebhookSender, sample_notifications
from partnerapi_webhooks import reader
from partnerapi_webhooks.cli import main as cli_main
from partnerapi_webhooks.process import ReceiverProcess

pytestmark = pytest.mark.timeout(180)

SECRET = "whsec_trigger"
ENTRY_POINT = Path(sys.executable).parent / "partnerapi-webhooks"
QUIET_SECONDS = 3.0  # many debounce periods (0.3-1 s) and polls (0.1 s): long enough to see a run
_seeds = itertools.count(100)

# Logs "start <notifications>" and "end <notifications>"; `<out>.fail` makes the next run fail
# once, `<out>.hold` keeps a run going until the file is removed.
COMMAND = """
import os, pathlib, sys, time
out = pathlib.Path(sys.argv[1])
count = os.environ["PARTNERAPI_TRIGGER_NOTIFICATIONS"]
with out.open("a") as f:
    f.write(f"start {count}\\n")
hold, fail = pathlib.Path(f"{out}.hold"), pathlib.Path(f"{out}.fail")
deadline = time.monotonic() + 60
while hold.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
with out.open("a") as f:
    f.write(f"end {count}\\n")
if fail.exists():
    fail.unlink()
    sys.exit(3)
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Trigger:
    """The watcher as a subprocess of the installed entry point, logging to a file."""

    def __init__(self, workdir: Path, landing: Path, *extra: str) -> None:
        # `extra` options come last, so they override these (argparse keeps the last value).
        self.workdir = workdir
        self.out = workdir / "runs.txt"
        self.log = workdir / "trigger.log"
        self.script = workdir / "command.py"
        self.script.write_text(COMMAND)
        self.args = [
            str(ENTRY_POINT), "trigger", "--landing", str(landing), "--environment", "sandbox",
            "--debounce-seconds", "0.3", "--max-delay-seconds", "30",
            "--min-interval-seconds", "0", "--poll-seconds", "0.1", *extra,
            "--", sys.executable, str(self.script), str(self.out),
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Trigger:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        # Its baseline is taken once it logs "watching": only later notifications are new.
        wait_for(lambda: "watching" in self.text()[offset:] or self.proc.poll() is not None,
                 "the watcher to start")  # fmt: skip
        assert self.proc.poll() is None, self.text()
        return self

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def events(self) -> list[str]:
        return self.out.read_text().splitlines() if self.out.exists() else []

    def runs(self) -> list[int]:
        """Notification count of each run started."""
        return [int(e.split()[1]) for e in self.events() if e.startswith("start")]

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    with ReceiverProcess(tmp_path / "receiver", secrets=[SECRET]) as process:
        yield process


@pytest.fixture
def trigger(tmp_path: Path, receiver: ReceiverProcess) -> Iterator[Callable[..., Trigger]]:
    made: list[Trigger] = []

    def make(*extra: str) -> Trigger:
        made.append(Trigger(tmp_path, receiver.landing, *extra))
        return made[-1]

    yield make
    for t in made:
        if t.proc is not None and t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


def send(receiver: ReceiverProcess, count: int) -> None:
    """Deliver `count` new notifications at once; returns when every one is landed (2xx)."""
    report = WebhookSender(receiver.webhook_url, [SECRET]).deliver_all(
        sample_notifications(count, seed=next(_seeds)), concurrency=count
    )
    assert report.summary()["undelivered"] == 0


def send_spaced(receiver: ReceiverProcess, count: int, gap: float) -> None:
    """One notification every `gap` seconds: more than a poll apart, so each is seen alone."""
    sender = WebhookSender(receiver.webhook_url, [SECRET])
    for notification in sample_notifications(count, seed=next(_seeds)):
        assert sender.deliver(notification).delivered
        time.sleep(gap)


def start_times(watcher: Trigger) -> list[datetime]:
    """When the watcher started each run, from its own log lines."""
    return [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        for line in watcher.text().splitlines()
        if ": starting for " in line
    ]


def test_a_burst_triggers_one_run_after_the_debounce(
    receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    watcher = trigger("--debounce-seconds", "1").start()
    send_spaced(receiver, 8, gap=0.2)
    wait_for(lambda: watcher.events()[-1:] == ["end 8"], "the run")
    time.sleep(QUIET_SECONDS)
    assert watcher.runs() == [8]
    assert "run 1: starting for 8 notifications" in watcher.text()
    assert "run 1: exit status 0" in watcher.text()
    assert watcher.stop() == 0


def test_a_steady_trickle_runs_within_max_delay_but_not_more_often_than_min_interval(
    receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    watcher = trigger(
        "--debounce-seconds", "1", "--max-delay-seconds", "0.5", "--min-interval-seconds", "2"
    ).start()
    send_spaced(receiver, 25, gap=0.2)  # never a 1 s pause: only the max delay starts runs
    wait_for(lambda: sum(watcher.runs()) == 25, "every notification to be run for")
    assert len(watcher.runs()) >= 2
    starts = start_times(watcher)
    assert all(later - earlier >= timedelta(seconds=1.95) for earlier, later in pairwise(starts))
    assert watcher.stop() == 0


def test_no_notification_no_run_and_old_ones_are_history(
    receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    send(receiver, 3)  # landed before the watcher started, without a state file: history
    watcher = trigger().start()
    time.sleep(QUIET_SECONDS)
    assert watcher.stop() == 0
    assert watcher.runs() == []
    assert "SIGTERM: stopping" in watcher.text()


def test_notifications_during_a_run_cause_exactly_one_follow_up_run(
    tmp_path: Path, receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    watcher = trigger().start()
    hold = Path(f"{watcher.out}.hold")
    hold.touch()
    send(receiver, 2)
    wait_for(lambda: watcher.runs() == [2], "the first run to start")
    send(receiver, 5)
    send(receiver, 4)
    time.sleep(1.0)  # the first run is still held
    assert watcher.runs() == [2]
    hold.unlink()
    wait_for(lambda: len(watcher.runs()) == 2, "the follow-up run")
    time.sleep(QUIET_SECONDS)
    assert watcher.runs() == [2, 9]
    # Never two at once: every start is followed by its own end.
    assert watcher.events() == ["start 2", "end 2", "start 9", "end 9"]

    # SIGTERM during a run lets it finish, then the watcher exits.
    hold.touch()
    send(receiver, 1)
    wait_for(lambda: watcher.runs() == [2, 9, 1], "a third run")
    assert watcher.proc is not None
    watcher.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert watcher.proc.poll() is None, "the watcher must wait for the running command"
    hold.unlink()
    assert watcher.proc.wait(timeout=30) == 0
    assert watcher.events()[-1] == "end 1"


def test_a_restart_with_the_state_file_does_not_retrigger(
    tmp_path: Path, receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    state = tmp_path / "state" / "trigger.json"
    once = trigger("--state-file", str(state), "--once").start()
    send(receiver, 3)
    assert once.proc is not None
    assert once.proc.wait(timeout=60) == 0
    assert once.runs() == [3]
    keys = reader.list_keys(receiver.landing, "sandbox")
    saved = json.loads(state.read_text())
    assert saved["last_key"] == keys[-1]
    assert saved["environment"] == "sandbox"

    watcher = trigger("--state-file", str(state)).start()
    time.sleep(QUIET_SECONDS)
    assert watcher.stop() == 0
    assert watcher.runs() == [3]

    send(receiver, 2)  # while no watcher runs: the restart picks them up, and only them
    watcher = trigger("--state-file", str(state)).start()
    wait_for(lambda: len(watcher.runs()) == 2, "the run for what landed while down")
    send(receiver, 1)
    wait_for(lambda: len(watcher.runs()) == 3, "the next run")
    time.sleep(QUIET_SECONDS)
    assert watcher.stop() == 0
    assert watcher.runs() == [3, 2, 1]
    assert not [p for p in state.parent.iterdir() if p != state], "temp files left behind"


def test_a_failing_command_is_logged_and_retried_on_the_next_notification(
    receiver: ReceiverProcess, trigger: Callable[..., Trigger]
) -> None:
    watcher = trigger().start()
    Path(f"{watcher.out}.fail").touch()
    send(receiver, 1)
    wait_for(lambda: "run 1: exit status 3" in watcher.text(), "the failed run")
    time.sleep(QUIET_SECONDS)
    assert watcher.runs() == [1]  # no retry on a timer: the schedule is the backstop
    assert watcher.proc is not None and watcher.proc.poll() is None
    send(receiver, 1)
    wait_for(lambda: "run 2: exit status 0" in watcher.text(), "the retry")
    assert watcher.runs() == [1, 1]
    assert watcher.stop() == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("--landing {tmp}/missing -- true", "--landing"),
        ("--landing {tmp}", "after --"),
        ("--landing {tmp} -- no-such-command-xyz", "no-such-command-xyz"),
        ("--landing {tmp} --max-delay-seconds -1 -- true", "--max-delay-seconds"),
        ("--landing {tmp} --poll-seconds 0 -- true", "--poll-seconds"),
        ("--landing {tmp} --state-file {tmp}/bad.json -- true", "--state-file"),
    ],
)
def test_configuration_errors_name_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, message: str
) -> None:
    (tmp_path / "bad.json").write_text("{")
    args = extra.replace("{tmp}", str(tmp_path)).split()
    assert cli_main(["trigger", "--environment", "sandbox", *args]) == 2
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["bad.json"]
