"""Receiver settings come from the environment; secrets never show in a repr or a log."""

from __future__ import annotations

from pathlib import Path

import pytest

from partnerapi_sandbox.webhook_delivery import WebhookSender, sample_notifications
from partnerapi_webhooks.config import ConfigError, Settings
from partnerapi_webhooks.process import ReceiverProcess


def test_from_env_reads_every_setting() -> None:
    settings = Settings.from_env(
        {
            "PARTNERAPI_WEBHOOK_ENVIRONMENT": "production",
            "PARTNERAPI_WEBHOOK_SECRETS": " whsec_new , whsec_old ,",
            "PARTNERAPI_WEBHOOK_LANDING": "s3://bucket/webhooks",
            "PARTNERAPI_WEBHOOK_MAX_BODY_BYTES": "2048",
            "PARTNERAPI_WEBHOOK_TOLERANCE_SECONDS": "120",
        }
    )
    assert settings.secrets == ("whsec_new", "whsec_old")
    assert settings.landing == "s3://bucket/webhooks"
    assert (settings.max_body_bytes, settings.tolerance_seconds) == (2048, 120)
    assert "whsec" not in repr(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"PARTNERAPI_WEBHOOK_SECRETS": "s"},  # no environment
        {"PARTNERAPI_WEBHOOK_ENVIRONMENT": "staging", "PARTNERAPI_WEBHOOK_SECRETS": "s"},
        {"PARTNERAPI_WEBHOOK_ENVIRONMENT": "sandbox"},  # no secret
        {
            "PARTNERAPI_WEBHOOK_ENVIRONMENT": "sandbox",
            "PARTNERAPI_WEBHOOK_SECRETS": "s",
            "PARTNERAPI_WEBHOOK_MAX_BODY_BYTES": "lots",
        },
        {
            "PARTNERAPI_WEBHOOK_ENVIRONMENT": "sandbox",
            "PARTNERAPI_WEBHOOK_SECRETS": "s",
            "PARTNERAPI_WEBHOOK_TEST_CRASH_POINT": "sometime",
        },
    ],
)
def test_bad_configuration_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_the_running_receiver_never_logs_its_secrets(tmp_path: Path) -> None:
    secret = "whsec_do_not_log_4f1c"
    with ReceiverProcess(tmp_path, secrets=[secret]) as process:
        sender = WebhookSender(process.webhook_url, [secret])
        sender.deliver_all(sample_notifications(5), bad_signature=1.0, stale=1.0)
    log = process.log_path.read_text()
    assert "secrets=1" in log
    assert secret not in log
