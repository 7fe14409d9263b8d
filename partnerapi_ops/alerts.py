"""Alert sink: Slack-compatible JSON to a webhook, one message per incident transition.

An incident is identified by a key (``freshness:invoices``, ``run_failed:partnerapi_incremental``).
It opens once, stays quiet while the condition lasts, and resolves once. The open incidents live
in a JSON state file guarded by an exclusive lock, so this holds across processes (Airflow
tasks, callbacks, cron) and restarts.

Delivery is at-least-once per transition: an open whose POST failed is retried on the next
``fire``; a resolve whose POST failed keeps the incident open so the next evaluation retries it.
An incident nobody was told about is dropped silently on resolve.

Stdlib only: the Airflow virtualenv imports this module for its failure callbacks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS = (
    "run_failed",
    "quarantine",
    "data_test_failed",
    "anomaly",
    "freshness",
    "coverage_gap",
    "deletes_held_back",
)
_TITLES = {
    "run_failed": "Run failed",
    "quarantine": "Quarantine not empty",
    "data_test_failed": "Data test failed",
    "anomaly": "Volume anomaly",
    "freshness": "Freshness SLO breached",
    "coverage_gap": "Coverage gap",
    "deletes_held_back": "Deletes held back by the guard",
}
_RED, _GREEN = "#d00000", "#2eb67d"


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}; expected one of {KINDS}")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AlertSink:
    """Posts incident transitions to ``webhook_url`` (or logs them when it is empty)."""

    def __init__(
        self,
        state_path: Path | str,
        webhook_url: str = "",
        *,
        environment: str = "",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.state_path = Path(state_path)
        self.webhook_url = webhook_url
        self.environment = environment
        self.timeout_seconds = timeout_seconds

    @classmethod
    def from_env(cls) -> AlertSink:
        from partnerapi_ops.config import OpsConfig

        cfg = OpsConfig.from_env()
        return cls(cfg.state_path, cfg.webhook_url, environment=cfg.environment)

    # -- public API ---------------------------------------------------------------------

    def fire(self, alert: Alert) -> bool:
        """Record that the condition holds now; notify only if the incident is new."""
        with self._state() as state:
            return self._fire(state, alert)

    def resolve(self, key: str, note: str = "") -> bool:
        """Record that the condition is over; notify once if it was open."""
        with self._state() as state:
            return self._resolve(state, key, note)

    def reconcile(self, active: Iterable[Alert], kinds: Iterable[str]) -> dict[str, list[str]]:
        """Make the open incidents of ``kinds`` equal ``active``: fire new, resolve the rest.

        Incidents of other kinds are left alone: a check that did not evaluate a condition
        (e.g. the warehouse was busy) must not resolve it.
        """
        active = list(active)
        kinds = set(kinds)
        done: dict[str, list[str]] = {"opened": [], "resolved": []}
        with self._state() as state:
            for alert in active:
                if self._fire(state, alert):
                    done["opened"].append(alert.key)
            wanted = {a.key for a in active}
            for key, inc in list(state["open"].items()):
                if inc["kind"] in kinds and key not in wanted and self._resolve(state, key, ""):
                    done["resolved"].append(key)
        return done

    def open_incidents(self) -> dict[str, dict[str, Any]]:
        with self._state() as state:
            return dict(state["open"])

    # -- transitions (caller holds the lock) ------------------------------------------

    def _fire(self, state: dict[str, Any], alert: Alert) -> bool:
        now = _now()
        inc = state["open"].get(alert.key)
        if inc is None:
            inc = {
                "kind": alert.kind,
                "summary": alert.summary,
                "details": alert.details,
                "opened_at": now,
                "occurrences": 0,
                "notified": False,
            }
            state["open"][alert.key] = inc
        inc["last_seen_at"] = now
        inc["last_summary"] = alert.summary
        inc["occurrences"] += 1
        if inc["notified"]:
            return False
        inc["notified"] = self._post(self._payload("open", alert.key, inc))
        return inc["notified"]

    def _resolve(self, state: dict[str, Any], key: str, note: str) -> bool:
        inc = state["open"].get(key)
        if inc is None:
            return False
        if inc["notified"]:
            inc["resolved_at"] = _now()
            inc["resolve_note"] = note
            if not self._post(self._payload("resolved", key, inc)):
                return False  # stays open: the next evaluation retries the resolve
        del state["open"][key]
        state["resolved_total"] = state.get("resolved_total", 0) + 1
        return bool(inc["notified"])

    # -- delivery ---------------------------------------------------------------------

    def _payload(self, event: str, key: str, inc: dict[str, Any]) -> dict[str, Any]:
        title = _TITLES[inc["kind"]]
        env = f"[partnerapi/{self.environment}] " if self.environment else "[partnerapi] "
        if event == "open":
            text = f":red_circle: {env}{title}: {inc['summary']}"
        else:
            text = f":large_green_circle: {env}RESOLVED {title}: {inc['summary']}"
            if inc.get("resolve_note"):
                text += f" ({inc['resolve_note']})"
        fields = [
            {"title": "incident", "value": key, "short": True},
            {"title": "opened at", "value": inc["opened_at"], "short": True},
        ]
        if event == "resolved":
            fields.append({"title": "resolved at", "value": inc["resolved_at"], "short": True})
            fields.append({"title": "occurrences", "value": str(inc["occurrences"]), "short": True})
        return {
            "text": text,
            "attachments": [{"color": _RED if event == "open" else _GREEN, "fields": fields}],
            # Slack ignores unknown top-level keys; other receivers get the structured record.
            "partnerapi": {
                "event": event,
                "key": key,
                "kind": inc["kind"],
                "environment": self.environment,
                "summary": inc["summary"],
                "details": inc.get("details", {}),
                "opened_at": inc["opened_at"],
                "resolved_at": inc.get("resolved_at"),
            },
        }

    def _post(self, payload: dict[str, Any]) -> bool:
        if not self.webhook_url:
            print(f"ALERT {json.dumps(payload['partnerapi'], sort_keys=True)}", file=sys.stderr)
            return True
        body = json.dumps(payload).encode()
        req = urllib.request.Request(
            self.webhook_url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_seconds) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError) as exc:
            log.warning("alert webhook failed (%s); will retry on next evaluation", exc)
            return False

    # -- durable state ----------------------------------------------------------------

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.state_path.with_name(self.state_path.name + ".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._load()
                yield state
                tmp = self.state_path.with_name(self.state_path.name + ".tmp")
                tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
                # rename is atomic: a crash leaves the old or the new state, never half of one.
                os.replace(tmp, self.state_path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            state = {}
        state.setdefault("open", {})
        return state
