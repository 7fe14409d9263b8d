"""OAuth2: one cached token per process, renewal on expiry, fatal credential errors."""

from __future__ import annotations

import re

import pytest

from tap_partnerapi.errors import InvalidClientError, PartnerAPIError
from tap_partnerapi.tap import TapPartnerAPI
from tests.support.tap_fixtures import CapturingWriter, run_tap, settle, tap_config

ALL = ["customers", "plans", "subscriptions", "invoices", "invoice_items", "payments",
       "refunds", "events"]


def test_one_token_serves_every_stream(sandbox):
    sb = sandbox(seed=2)
    run = run_tap(tap_config(sb), streams=ALL)
    assert sb.counters()["token_requests"] == 1
    assert run.tap.authenticator.token_requests == 1


def test_token_expiring_mid_sync_is_renewed_once(sandbox):
    sb = sandbox(seed=2)
    tap = TapPartnerAPI(config=tap_config(sb, page_size=500), message_writer=CapturingWriter())
    stream = tap.streams["events"]
    records = stream.get_records(None)
    seen = [next(records) for _ in range(500)]
    settle(sb, 2)  # the second page is prefetched meanwhile
    sb.advance(minutes=16)  # the 900 s token has expired on the vendor's clock
    seen += list(records)
    assert stream.stats.retries["invalid_token"] == 1
    assert sb.counters()["token_requests"] == 2
    assert {r["event_id"] for r in seen} == set(sb.truth("events"))


def test_invalid_client_is_fatal_with_a_clear_message(sandbox):
    sb = sandbox(seed=2)
    with pytest.raises(InvalidClientError, match="client_secret"):
        run_tap(tap_config(sb, client_secret="wrong"), streams=["plans"])
    assert sb.counters()["token_requests"] == 1  # no retry can help


def test_second_401_in_a_row_is_fatal(sandbox):
    sb = sandbox(seed=2, token_lifetime_seconds=0)  # every token is dead on arrival
    with pytest.raises(PartnerAPIError, match="second 401") as info:
        run_tap(tap_config(sb), streams=["plans"])
    assert "request_id=req_" in str(info.value)
    assert sb.counters()["token_requests"] == 2


def test_forbidden_resource_fails_its_stream_with_the_request_id(sandbox):
    sb = sandbox(seed=2)
    config = tap_config(sb, client_id="limited-client", client_secret="limited-secret")
    run = run_tap(config, streams=["customers", "invoices"])
    assert set(run.tap.failed_streams) == {"invoices"}
    assert re.search(r"HTTP 403 forbidden.*request_id=req_", run.tap.failed_streams["invoices"])
    assert run.records("customers")  # the stream this client may read is read


def test_secret_is_never_logged(sandbox, caplog):
    sb = sandbox(seed=2, token_lifetime_seconds=0)
    with pytest.raises(PartnerAPIError):
        run_tap(tap_config(sb, client_secret="demo-secret"), streams=["plans"])
    assert "demo-secret" not in caplog.text


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:9", "https://api.partner.invalid"])
def test_unreachable_host_fails_fast_naming_it(api_url):
    config = {"api_url": api_url, "client_id": "x", "client_secret": "y",
              "environment": "production"}
    with pytest.raises(PartnerAPIError, match="Cannot reach the Partner API") as info:
        run_tap(config, streams=["plans"])
    assert api_url.split("//")[1] in str(info.value)
    assert "api_url" in str(info.value)
