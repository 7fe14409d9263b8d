"""The alert sink: one message when an incident opens, silence while it lasts, one when it
resolves — across processes and restarts, and through a webhook that is sometimes down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from partnerapi_ops.alerts import Alert, AlertSink
from tests.ops.ops_fixtures import webhook_receiver

FRESH = Alert("freshness:sandbox", "freshness", "sandbox: invoices 42 min old", {"x": 1})
GAP = Alert("coverage_gap:sandbox:events", "coverage_gap", "sandbox/events: 1 gap")


def test_incident_opens_once_stays_quiet_and_resolves_once(tmp_path: Path) -> None:
    state = tmp_path / "incidents.json"
    with webhook_receiver() as hook:
        sink = AlertSink(state, hook.url, environment="production")
        assert sink.fire(FRESH) is True
        assert sink.fire(FRESH) is False
        # A restart: a new process reads the same state file and stays quiet.
        assert AlertSink(state, hook.url).fire(FRESH) is False
        assert AlertSink(state, hook.url).resolve(FRESH.key) is True
        assert AlertSink(state, hook.url).resolve(FRESH.key) is False
        assert hook.events() == [("open", FRESH.key), ("resolved", FRESH.key)]

        opened, resolved = hook.posts
        # Slack-compatible: `text` plus attachments; the structured record rides along.
        assert opened["text"].startswith(":red_circle: [partnerapi/production] Freshness SLO")
        assert opened["attachments"][0]["fields"][0] == {
            "title": "incident",
            "value": FRESH.key,
            "short": True,
        }
        assert resolved["text"].startswith(":large_green_circle:")
        assert resolved["partnerapi"]["details"] == {"x": 1}
        assert json.loads(state.read_text())["open"] == {}

        # The same condition coming back later is a new incident: one more open.
        sink.fire(FRESH)
        assert hook.events()[-1] == ("open", FRESH.key)


def test_dead_webhook_delays_messages_but_never_duplicates_them(tmp_path: Path) -> None:
    state = tmp_path / "incidents.json"
    with webhook_receiver() as hook:
        sink = AlertSink(state, hook.url, timeout_seconds=5)
        hook.status = 500
        assert sink.fire(FRESH) is False  # recorded, not delivered
        hook.status = 200
        assert sink.fire(FRESH) is True  # delivered on the next evaluation
        assert sink.fire(FRESH) is False
        hook.status = 500
        assert sink.resolve(FRESH.key) is False  # still open: the resolve is retried later
        assert FRESH.key in sink.open_incidents()
        hook.status = 200
        assert sink.reconcile([], kinds={"freshness"}) == {"opened": [], "resolved": [FRESH.key]}
        assert hook.events() == [("open", FRESH.key), ("resolved", FRESH.key)]


def test_incident_nobody_heard_of_resolves_silently(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        sink = AlertSink(tmp_path / "s.json", hook.url)
        hook.status = 500
        sink.fire(GAP)
        hook.status = 200
        assert sink.resolve(GAP.key) is False
        assert hook.posts == []
        assert sink.open_incidents() == {}


def test_reconcile_leaves_kinds_it_did_not_evaluate_alone(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        sink = AlertSink(tmp_path / "s.json", hook.url)
        sink.reconcile([FRESH, GAP], kinds={"freshness", "coverage_gap"})
        # The warehouse was busy: only quarantine was evaluated this time.
        assert sink.reconcile([], kinds={"quarantine"}) == {"opened": [], "resolved": []}
        assert set(sink.open_incidents()) == {FRESH.key, GAP.key}
        assert sink.reconcile([GAP], kinds={"freshness", "coverage_gap"})["resolved"] == [FRESH.key]
        assert hook.events() == [("open", FRESH.key), ("open", GAP.key), ("resolved", FRESH.key)]


FIRE = """
import sys
from partnerapi_ops.alerts import Alert, AlertSink
sink = AlertSink(sys.argv[1], sys.argv[2])
for _ in range(5):
    sink.fire(Alert("run_failed:partnerapi_incremental", "run_failed", "boom"))
"""


def test_concurrent_processes_open_an_incident_once(tmp_path: Path) -> None:
    state = tmp_path / "incidents.json"
    with webhook_receiver() as hook:
        procs = [
            subprocess.Popen([sys.executable, "-c", FIRE, str(state), hook.url]) for _ in range(4)
        ]
        assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
        assert hook.events() == [("open", "run_failed:partnerapi_incremental")]
        assert (
            AlertSink(state).open_incidents()["run_failed:partnerapi_incremental"]["occurrences"]
            == 20
        )
