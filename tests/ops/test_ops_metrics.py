"""Metrics and health checks: exposition that prometheus_client parses and that adds up to the
tap's run summaries; every alert kind raised from its source and resolved when healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.ops_fixtures import webhook_receiver
from tests.support.tap_fixtures import run_tap, tap_config

OPS = str(Path(sys.executable).with_name("partnerapi-ops"))
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def ops_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERAPI_")}
    env.update(
        PARTNERAPI_PROJECT_ROOT=str(tmp),
        PARTNERAPI_SUMMARY_PATH=str(tmp / "summary.jsonl"),
        PARTNERAPI_DUCKDB_PATH=str(tmp / "wh.duckdb"),
        PARTNERAPI_DBT_RUN_RESULTS=str(tmp / "run_results.json"),
        PARTNERAPI_DBT_MANIFEST=str(tmp / "manifest.json"),
        PARTNERAPI_ALERT_STATE=str(tmp / "incidents.json"),
        PARTNERAPI_METRICS_TEXTFILE=str(tmp / "partnerapi.prom"),
        **extra,
    )
    return env


def ops(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([OPS, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_metrics_from_real_tap_runs_parse_and_add_up(sandbox: Any, tmp_path: Path) -> None:
    sb = sandbox(seed=11, scale="small", faults={"http_500": 0.3, "partial_page": 0.1})
    config = tap_config(sb, summary_path=str(tmp_path / "summary.jsonl"), page_size=100)
    run_tap(config)
    sb.advance(hours=1)
    run_tap(config, state=None)
    lines = [json.loads(x) for x in (tmp_path / "summary.jsonl").read_text().splitlines()]
    assert len({x["run_id"] for x in lines}) == 2

    text = ops(["metrics"], ops_env(tmp_path))
    assert (tmp_path / "partnerapi.prom").read_text() == text
    got = samples(text)
    for stream in {x["stream"] for x in lines}:
        mine = [x for x in lines if x["stream"] == stream]
        lab = {"environment": "sandbox", "stream": stream}

        def value(name: str, extra: dict[str, str] | None = None, lab: dict = lab) -> float:
            return got[(name, frozenset({**lab, **(extra or {})}.items()))]

        assert value("partnerapi_records_total") == sum(x["records"] for x in mine)
        for cause in mine[0]["retries"]:
            expected = sum(x["retries"][cause] for x in mine)
            assert value("partnerapi_retries_total", {"cause": cause}) == expected
        assert value("partnerapi_requests_total") == sum(
            x["pages"] + sum(x["retries"].values()) for x in mine
        )
        assert value("partnerapi_http_429_total") == sum(x["http_429"] for x in mine)
        assert value("partnerapi_last_run_records") == mine[-1]["records"]
        assert value("partnerapi_last_run_failed") == 0
        assert (
            value("partnerapi_last_success_timestamp_seconds")
            == datetime.fromisoformat(mine[-1]["finished_at"].replace("Z", "+00:00")).timestamp()
        )
    retried = sum(v for (n, _), v in got.items() if n == "partnerapi_retries_total")
    assert retried > 0, "faults were injected: the retries must show"


def _warehouse(path: Path, *, newest: datetime, gap: bool, quarantined: int) -> None:
    """The raw layer as design.md documents it (what the loader writes), built directly."""
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for stream in ("invoices", "events"):
            con.execute(
                f"create table raw.{stream} (environment varchar, id varchar, updated_at timestamp)"
            )
            con.execute(
                f"insert into raw.{stream} values ('sandbox', 'a', ?), ('sandbox', 'b', ?)",
                [newest - timedelta(hours=3), newest],
            )
        con.execute(
            "create table raw.coverage_ledger (environment varchar, stream varchar, "
            "run_id varchar, request_id varchar, covered_from timestamp, covered_to timestamp)"
        )
        t0 = newest - timedelta(hours=6)
        pages = [(t0, t0 + timedelta(hours=2)), (t0 + timedelta(hours=2), newest)]
        if gap:  # the second page starts 30 minutes after the first one ended
            pages[1] = (t0 + timedelta(hours=2, minutes=30), newest)
        for stream in ("invoices", "events"):
            for i, (f, t) in enumerate(pages):
                con.execute(
                    "insert into raw.coverage_ledger values ('sandbox', ?, 'r1', ?, ?, ?)",
                    [stream, f"req{i}", f, t],
                )
        con.execute(
            "create table raw.quarantine (environment varchar, stream varchar, record_id varchar)"
        )
        for i in range(quarantined):
            con.execute("insert into raw.quarantine values ('sandbox', 'invoices', ?)", [f"in_{i}"])


def _summaries(path: Path, *, payments_last: int, invoices_quarantined: int) -> None:
    base = {
        "environment": "sandbox",
        "versions_repeated": 0,
        "pages": 1,
        "retries": {"http_5xx": 0},
        "http_429": 0,
        "rate_limit_wait_seconds": 0,
        "new_fields": [],
        "duration_seconds": 1.0,
    }
    lines = []
    for i in range(8):
        end = ts(NOW - timedelta(minutes=5 * (8 - i)))
        last = i == 7
        for stream, n in (("payments", payments_last if last else 120), ("invoices", 80)):
            q = invoices_quarantined if last and stream == "invoices" else 0
            lines.append(
                {
                    **base,
                    "run_id": f"run{i}",
                    "stream": stream,
                    "records": n,
                    "versions_new": n,
                    "quarantined": q,
                    "status": "quarantined" if q else "ok",
                    "started_at": end,
                    "finished_at": end,
                }
            )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _dbt(tmp: Path, *, failing: bool) -> None:
    test = "test.partnerapi.not_null_stg_partnerapi__invoices_total.1a2b"
    results = {
        "metadata": {"generated_at": ts(NOW)},
        "results": [
            {"unique_id": test, "status": "fail" if failing else "pass", "failures": 2},
            {"unique_id": "test.partnerapi.unique_payments_id.3c4d", "status": "pass"},
            {"unique_id": "model.partnerapi.invoices", "status": "success"},
        ],
    }
    manifest = {"nodes": {test: {"attached_node": "model.partnerapi.stg_partnerapi__invoices"}}}
    (tmp / "run_results.json").write_text(json.dumps(results))
    (tmp / "manifest.json").write_text(json.dumps(manifest))


def test_check_opens_each_kind_once_and_resolves_when_healthy(tmp_path: Path) -> None:
    _warehouse(tmp_path / "wh.duckdb", newest=NOW - timedelta(minutes=40), gap=True, quarantined=3)
    _summaries(tmp_path / "summary.jsonl", payments_last=0, invoices_quarantined=3)
    _dbt(tmp_path, failing=True)
    with webhook_receiver() as hook:
        env = ops_env(tmp_path, PARTNERAPI_ALERT_WEBHOOK_URL=hook.url)
        now = ["--now", ts(NOW)]
        result = json.loads(ops([*now, "check"], env))
        expected = {
            "anomaly:sandbox:payments",
            "coverage_gap:sandbox:events",
            "coverage_gap:sandbox:invoices",
            "data_test_failed:invoices",
            "freshness:sandbox",
            "quarantine:sandbox:invoices",
        }
        assert set(result["opened"]) == expected
        assert sorted(k for e, k in hook.events()) == sorted(expected)
        assert all(e == "open" for e, _ in hook.events())

        status = ops([*now, "status"], env)
        assert "NOT OK: 6 open incident(s), 2 stale stream(s), 1 failing dbt test(s)" in status
        assert "freshness:sandbox" in status and "invoices" in status

        got = samples((tmp_path / "partnerapi.prom").read_text())
        inv = frozenset({"environment": "sandbox", "stream": "invoices"}.items())
        assert got[("partnerapi_freshness_seconds", inv)] == 40 * 60
        assert got[("partnerapi_coverage_gaps", inv)] == 1
        assert got[("partnerapi_quarantine_rows", inv)] == 3
        assert got[("partnerapi_dbt_tests_failed", frozenset({("stream", "invoices")}))] == 1

        # Still broken: not a word more.
        assert json.loads(ops([*now, "check"], env))["opened"] == []
        assert len(hook.posts) == 6

        _warehouse(
            tmp_path / "wh.duckdb", newest=NOW - timedelta(minutes=2), gap=False, quarantined=0
        )
        _summaries(tmp_path / "summary.jsonl", payments_last=110, invoices_quarantined=0)
        _dbt(tmp_path, failing=False)
        result = json.loads(ops([*now, "check"], env))
        assert set(result["resolved"]) == expected and result["active"] == []
        assert sorted(k for e, k in hook.events() if e == "resolved") == sorted(expected)
        assert "OK" in ops([*now, "status"], env).splitlines()[0]


def test_locked_or_absent_warehouse_neither_opens_nor_resolves(tmp_path: Path) -> None:
    _warehouse(tmp_path / "wh.duckdb", newest=NOW - timedelta(hours=2), gap=False, quarantined=0)
    env = ops_env(tmp_path)
    assert json.loads(ops(["--now", ts(NOW), "check"], env))["opened"] == ["freshness:sandbox"]
    (tmp_path / "wh.duckdb").unlink()
    result = json.loads(ops(["--now", ts(NOW), "check"], env))
    assert "freshness" not in result["evaluated"] and result["resolved"] == []
    assert "freshness:sandbox" in json.loads(ops(["incidents"], env))


def test_metrics_are_pushed_to_a_pushgateway(tmp_path: Path) -> None:
    pushed: list[tuple[str, str, bytes]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            pushed.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _summaries(tmp_path / "summary.jsonl", payments_last=100, invoices_quarantined=0)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        env = ops_env(tmp_path, PARTNERAPI_PUSHGATEWAY_URL=url, PARTNERAPI_ENVIRONMENT="sandbox")
        ops(["metrics"], env)
    finally:
        server.shutdown()
        server.server_close()
    [(method, path, body)] = pushed
    assert (method, path) == ("PUT", "/metrics/job/partnerapi/environment/sandbox")
    got = samples(body.decode())
    lab = frozenset({"environment": "sandbox", "stream": "payments"}.items())
    assert got[("partnerapi_records_total", lab)] == 7 * 120 + 100
