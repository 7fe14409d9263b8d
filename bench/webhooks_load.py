"""Load a real receiver on loopback and print throughput and latency figures.

    .venv/bin/python bench/webhooks_load.py --count 5000 --concurrency 20

Checks while it measures: every notification lands exactly once, nothing forged is accepted.
Latency is per HTTP request as the sender sees it (queueing in the sender's threads included);
the receiver's own view is in its /metrics histogram, also printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from partnerapi_sandbox.webhook_delivery import WebhookSender, sample_notifications
from partnerapi_webhooks import reader
from partnerapi_webhooks.process import ReceiverProcess


def server_quantile(metrics: str, q: float) -> float | None:
    buckets = [
        (float(le), float(n))
        for le, n in re.findall(
            r'request_duration_seconds_bucket\{[^}]*le="([^"]+)"\} (\S+)', metrics
        )
    ]
    total = buckets[-1][1] if buckets else 0
    for le, n in buckets:
        if total and n >= q * total:
            return le
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    notifications = sample_notifications(args.count, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as tmp:
        with ReceiverProcess(Path(tmp), secrets=["bench_secret"]) as process:
            sender = WebhookSender(process.webhook_url, ["bench_secret"], seed=args.seed)
            report = sender.deliver_all(
                notifications,
                concurrency=args.concurrency,
                duplicates=args.duplicates,
                out_of_order=True,
                seed=args.seed,
            )
            metrics = process.metrics()
        landed = Counter(
            reader.read(process.landing, key)["notification_id"]
            for key in reader.list_keys(process.landing, "sandbox")
        )
    expected = {n["id"] for n in notifications}
    figures = {
        **report.summary(),
        "notifications": len(expected),
        "concurrency": args.concurrency,
        "lost": len(expected - set(landed)),
        "duplicated": sum(1 for n in landed.values() if n > 1),
        "server_p99_le_seconds": server_quantile(metrics, 0.99),
    }
    print("WEBHOOKS_BENCH " + json.dumps(figures))
    ok = figures["lost"] == 0 and figures["duplicated"] == 0 and figures["undelivered"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
