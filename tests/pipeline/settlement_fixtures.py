"""Helpers for the settlement tests: an S3 API on loopback (moto's server), the tap's Singer
messages piped through the real loader (`meltano invoke target-duckdb-bulk`), and what the
warehouse holds afterwards compared with the sandbox's truth."""

from __future__ import annotations

import json
import socket
import subprocess
import typing as t
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.support.dbt_fixtures import MELTANO, ROOT, dbt, meltano_env, query

SELECT = "stg_settlements+ payment_reconciliation+ +payments"
LINE_COLUMNS = ("environment", "payout_id", "seq", "line_id", "transaction_id", "payment_id",
                "line_type", "gross", "fee", "net", "currency", "description")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def moto_env() -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    finally:
        server.stop()


def load_messages(db_path: Path, messages: Iterable[dict[str, t.Any]]) -> None:
    """The tap's messages, as its stdout would carry them, into the real target-duckdb-bulk."""
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    for _attempt in range(3):
        proc = subprocess.run([str(MELTANO), "invoke", "target-duckdb-bulk"], input=stdin,
                              text=True, capture_output=True, cwd=ROOT,
                              env=meltano_env(db_path), check=False)
        if "is an empty file" not in proc.stderr:  # see dbt_fixtures.load
            break
    assert proc.returncode == 0, proc.stderr[-4000:]


def build(db_path: Path, scenario: dict[str, t.Any]) -> t.Any:
    """dbt build of the settlement models (and the payments they reconcile with), as of the
    sandbox's clock so the counts it expects are exact."""
    dbt_vars = {"settlement_as_of": _sql_ts(scenario["as_of"]),
                "settlement_expected_from": _sql_ts(scenario["expected_from"]),
                "settlement_grace_days": scenario["grace_days"]}
    # cautious: the tests of payments that need customers and invoices stay out.
    # The quarantine gate (a child of stg_settlements) is asserted by the tests themselves.
    result = dbt(db_path, "build", "--select", *SELECT.split(), "--exclude", "stg_quarantine",
                 "--indirect-selection", "cautious", "--vars", json.dumps(dbt_vars))
    assert result.returncode == 0, result.output[-6000:]
    return result


def warehouse_lines(db_path: Path) -> list[tuple]:
    return query(db_path, f"select {', '.join(LINE_COLUMNS)} from analytics.settlement_lines "
                          "order by payout_id, line_id")


def truth_lines(truth: list[dict[str, t.Any]]) -> list[tuple]:
    rows = [{**line, "line_type": line["type"]} for line in truth]
    return sorted((tuple(r[c] for c in LINE_COLUMNS) for r in rows),
                  key=lambda r: (r[1], r[3]))


def reconciliation_counts(db_path: Path) -> dict[str, int]:
    return dict(query(db_path, "select category, count(*) from "
                               "analytics.payment_reconciliation group by category"))


def _sql_ts(text: str) -> str:
    return text.replace("T", " ").rstrip("Z")
