"""Helpers to run tap-partnerapi against a sandbox: in-process (fast, messages captured)
or as the real CLI in a subprocess (exit status, kill mid-run)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

from singer_sdk.io_base import SingerWriter

from tap_partnerapi.tap import TapPartnerAPI

TAP_BIN = str(Path(sys.executable).with_name("tap-partnerapi"))


def tap_config(sb: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    """A config for `sb` with test-sized waits (backoff, timeouts)."""
    return {
        "api_url": sb.url, "client_id": "demo-client", "client_secret": "demo-secret",
        "environment": sb.environment, "page_size": 500, "requests_per_minute": 1000,
        "request_timeout": 0.5, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05,
        "max_retries": 12, "max_retry_seconds": 120, **overrides,
    }


class CapturingWriter(SingerWriter):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, t.Any]] = []

    def write_message(self, message: t.Any) -> None:
        # Round-trip through JSON, exactly as a target would read it.
        self.messages.append(json.loads(self.format_message(message)))


@dataclasses.dataclass
class Run:
    messages: list[dict[str, t.Any]]
    returncode: int = 0
    stderr: str = ""
    tap: TapPartnerAPI | None = None

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [m["record"] for m in self.messages
                if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def state(self) -> dict[str, t.Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    @property
    def summaries(self) -> dict[str, dict[str, t.Any]]:
        out = {}
        for line in self.stderr.splitlines():
            if "PARTNERAPI_SUMMARY " in line:
                data = json.loads(line.split("PARTNERAPI_SUMMARY ", 1)[1])
                out[data["stream"]] = data
        return out


def select(streams: t.Iterable[str]) -> dict[str, t.Any]:
    """A catalog selecting exactly `streams` (discovered from the tap itself)."""
    wanted = set(streams)
    catalog = TapPartnerAPI(config=None, validate_config=False,
                            setup_mapper=False).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def run_tap(config: dict[str, t.Any], *, state: dict | None = None,
            streams: t.Iterable[str] | None = None) -> Run:
    """Run the tap in-process; messages are captured, exceptions propagate."""
    writer = CapturingWriter()
    tap = TapPartnerAPI(config=config, state=state,
                        catalog=select(streams) if streams is not None else None,
                        message_writer=writer)
    run = Run(writer.messages, tap=tap)
    tap.sync_all()
    return run


def run_cli(config: dict[str, t.Any], *, state: dict | None = None,
            streams: t.Iterable[str] | None = None, timeout: float = 120,
            kill_after_records: int | None = None, env: dict[str, str] | None = None,
            state_text: str | None = None) -> Run:
    """Run the real `tap-partnerapi` executable; optionally SIGKILL it mid-stream.
    ``env``: extra environment variables; ``state_text``: the state file's exact text."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [TAP_BIN, "--config", _dump(tmp, "config.json", config)]
        if state is not None:
            args += ["--state", _dump(tmp, "state.json", state)]
        elif state_text is not None:
            Path(tmp, "state.json").write_text(state_text)
            args += ["--state", str(Path(tmp, "state.json"))]
        if streams is not None:
            args += ["--catalog", _dump(tmp, "catalog.json", select(streams))]
        err_path = Path(tmp, "stderr.log")
        with err_path.open("w") as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1",
                                         **(env or {})})
            messages: list[dict[str, t.Any]] = []
            records = 0
            assert proc.stdout is not None
            for line in proc.stdout:
                messages.append(json.loads(line))
                if messages[-1]["type"] == "RECORD":
                    records += 1
                    if kill_after_records is not None and records >= kill_after_records:
                        proc.kill()
                        break
            proc.wait(timeout=timeout)
        return Run(messages, proc.returncode, err_path.read_text())


def _dump(tmp: str, name: str, data: t.Any) -> str:
    path = Path(tmp, name)
    path.write_text(json.dumps(data))
    return str(path)


def by_key(records: t.Iterable[dict[str, t.Any]], id_field: str = "id") -> dict:
    """Latest version of each record by (environment, id) - the dedup a target performs."""
    out: dict[tuple[str, str], dict[str, t.Any]] = {}
    for rec in records:
        key = (rec["environment"], rec[id_field])
        if key not in out or rec["updated_at"] >= out[key]["updated_at"]:
            out[key] = rec
    return out


TARGET_DUCKDB = Path(__file__).resolve().parents[2] / ".meltano" / "loaders" / \
    "target-duckdb-bulk" / "venv" / "bin" / "target-duckdb-bulk"


def load_duckdb(db: Path, messages: list[dict[str, t.Any]]) -> None:
    """Pipe a run's messages into the project's embedded loader (its own virtualenv)."""
    config = db.with_suffix(".target.json")
    config.write_text(json.dumps({"path": str(db), "default_target_schema": "raw"}))
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    proc = subprocess.run([str(TARGET_DUCKDB), "--config", str(config)], input=lines,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]


def settle(sb: t.Any, pages_served: int, timeout: float = 10.0) -> None:
    """Wait until the sandbox has served `pages_served` listing pages.

    The tap fetches page N+1 while page N is processed; a test that changes the sandbox
    between two pages waits for that prefetch first, so the change lands deterministically
    before the *next* request."""
    import time

    deadline = time.monotonic() + timeout
    while sb.counters()["pages"] < pages_served:
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox served {sb.counters()['pages']} < {pages_served}")
        time.sleep(0.01)
