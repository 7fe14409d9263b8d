"""Settings: a bad one fails fast, naming the setting; --about and --discover work."""

from __future__ import annotations

import json
import subprocess

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_partnerapi.tap import TapPartnerAPI
from tests.support.tap_fixtures import TAP_BIN

GOOD = {"api_url": "http://127.0.0.1:1", "client_id": "c", "client_secret": "s",
        "environment": "sandbox"}


@pytest.mark.parametrize(("override", "named"), [
    ({"environment": "staging"}, "environment"),
    ({"page_size": 5001}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"requests_per_minute": 1001}, "requests_per_minute"),
    ({"start_date": "yesterday"}, "start_date"),
    ({"start_date": "2026-01-02", "end_date": "2026-01-01"}, "end_date"),
    ({"end_date": "2026-01-01"}, "end_date"),
    ({"api_url": "api.partner.example"}, "api_url"),
    ({"api_url": "https://api.partner.example/v1"}, "api_url"),
    ({"overlap_hours": -1}, "overlap_hours"),
    ({"client_secret": None}, "client_secret"),
])
def test_bad_setting_fails_fast_naming_it(override, named):
    config = {**GOOD, **override}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ConfigValidationError) as info:
        TapPartnerAPI(config=config)
    assert any(named in error for error in info.value.errors), info.value.errors


def test_good_settings_pass():
    TapPartnerAPI(config={**GOOD, "start_date": "2026-01-01",
                          "end_date": "2026-02-01T00:00:00Z"})


def test_about_and_discover():
    about = json.loads(subprocess.run([TAP_BIN, "--about", "--format=json"], check=True,
                                      capture_output=True, text=True).stdout)
    assert {"api_url", "client_secret", "environment", "page_size",
            "requests_per_minute"} <= set(about["settings"]["properties"])
    assert about["settings"]["properties"]["client_secret"].get("secret") is True
    catalog = json.loads(subprocess.run([TAP_BIN, "--discover"], check=True,
                                        capture_output=True, text=True).stdout)
    keys = {s["tap_stream_id"]: s["key_properties"] for s in catalog["streams"]}
    assert keys["events"] == ["environment", "event_id", "_pa_version"]
    assert all("environment" in k for k in keys.values())


def test_a_deselected_property_is_not_emitted(sandbox):
    from tests.support.tap_fixtures import CapturingWriter, select, tap_config

    sb = sandbox(seed=1)
    catalog = select(["customers"])
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "customers")
    for md in entry["metadata"]:
        if md["breadcrumb"] == ["properties", "_pa_request_id"]:
            md["metadata"]["selected"] = False
    writer = CapturingWriter()
    TapPartnerAPI(config=tap_config(sb), catalog=catalog, message_writer=writer).sync_all()
    records = [m["record"] for m in writer.messages
               if m["type"] == "RECORD" and m["stream"] == "customers"]
    assert records and all("_pa_request_id" not in r and "_pa_version" in r for r in records)
