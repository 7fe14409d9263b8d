"""End to end: sandbox changes -> signed notifications -> the real receiver -> `meltano run`
(tap -> target-duckdb-bulk -> dbt build) -> curated tables.

Issue 10's acceptance: a notification for an updated payment is visible in the curated tables
after the next pipeline run, and a `customers.deleted` notification flags the customer before
the next reconciliation (which stays authoritative). The payment's new version is kept
invisible to polling (a 6-hour visibility lag), so only the webhook path can bring it in.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from partnerapi_sandbox import Sandbox
from partnerapi_sandbox.webhook_delivery import ChangeFeed, WebhookSender
from partnerapi_webhooks.process import ReceiverProcess
from tests.support.meltano_fixtures import pipeline_env

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))
SECRETS = ["whsec_new", "whsec_old"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("webhooks_pipeline")
    sandbox = Sandbox(seed=23, scale="small", faults="off", environment="sandbox",
                      rate_limit_per_minute=1000, token_lifetime_seconds=900).start()
    feed = ChangeFeed(seed=23).attach(sandbox)
    receiver = ReceiverProcess(tmp / "receiver", secrets=SECRETS).start()
    env = pipeline_env(tmp, sandbox.url,
                       TAP_PARTNERAPI_WEBHOOKS_LANDING=str(receiver.landing))
    try:
        yield {"sandbox": sandbox, "feed": feed, "receiver": receiver, "env": env,
               "db": tmp / "warehouse.duckdb"}
    finally:
        receiver.stop()
        sandbox.stop()


def meltano_run(env: dict[str, str], job: str) -> None:
    proc = subprocess.run([MELTANO, "run", "--timeout", "600", job], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=660)
    assert proc.returncode == 0, proc.stderr[-4000:]


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_pushed_updates_and_deletes_reach_the_curated_tables_before_polling_does(
        pipeline: dict) -> None:
    sandbox, feed, env, db = (pipeline[k] for k in ("sandbox", "feed", "env", "db"))
    meltano_run(env, "incremental")
    feed.drain()  # nothing is pending yet; only the changes below are pushed

    # A payment changes, but polling will not see the new version for 6 hours; a customer
    # is hard-deleted (gone from listings at once, so the reconciliation below agrees).
    payment = sandbox.touch("payments", lag_seconds=6 * 3600)
    customer = sandbox.delete("customers")
    notifications = feed.drain()
    assert {(n["type"], n["data"]["object"]["id"]) for n in notifications} == {
        ("payments.updated", payment["id"]), ("customers.deleted", customer)}
    report = WebhookSender(pipeline["receiver"].webhook_url, SECRETS).deliver_all(
        notifications, concurrency=2, duplicates=1.0, out_of_order=True)
    assert report.summary()["undelivered"] == 0

    meltano_run(env, "incremental")

    # The raw layer has each notification once, though every one was delivered twice.
    assert query(db, "select count(*), count(distinct notification_id) "
                     "from raw.webhook_notifications") == [(2, 2)]
    # Polling did not bring the payment's new version: only the webhook did.
    assert query(db, 'select count(*) from raw.payments where id = ? and updated_at = ?',
                 payment["id"], payment["updated_at"]) == [(0,)]
    [(updated_at, request_id)] = query(
        db, "select strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%fZ'), _pa_request_id "
            "from analytics.payments where id = ?", payment["id"])
    assert updated_at == payment["updated_at"]
    assert request_id.startswith("webhook:whk_")
    assert query(db, "select count(*) from analytics.payments_history where id = ? "
                     "and is_current and _pa_request_id like 'webhook:%'",
                 payment["id"]) == [(1,)]
    # The customer is flagged before any reconciliation ran.
    assert not query(db, "select 1 from information_schema.tables where table_schema = 'raw' "
                         "and table_name = 'id_snapshot_runs'")
    assert query(db, "select is_deleted, deleted_source from analytics.customers "
                     "where id = ?", customer) == [(True, "webhook")]
    assert query(db, "select count(*) from analytics.customers where is_deleted") == [(1,)]

    # The daily reconciliation lists every id: it confirms the delete and takes it over.
    meltano_run(env, "reconcile")
    assert query(db, "select is_deleted, deleted_source from analytics.customers "
                     "where id = ?", customer) == [(True, "reconciliation")]
