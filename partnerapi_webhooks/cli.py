"""``partnerapi-webhooks serve | prune | trigger`` — serve, prune: PARTNERAPI_WEBHOOK_* env vars."""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn
from starlette.applications import Starlette

from partnerapi_webhooks import trigger
from partnerapi_webhooks.app import create_app
from partnerapi_webhooks.config import ConfigError, Settings
from partnerapi_webhooks.dedup_store import DedupStore

log = logging.getLogger("partnerapi_webhooks")


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory partnerapi_webhooks.cli:app_from_env`` and for workers."""
    settings = Settings.from_env()
    # Counts and places only: the secrets themselves are never logged.
    log.info(
        "webhook receiver: environment=%s path=%s landing=%s state_db=%s secrets=%d",
        settings.environment,
        settings.path,
        settings.landing,
        settings.state_db,
        len(settings.secrets),
    )
    if settings.crash_point:
        log.warning("TEST fault injection active: crash at %s", settings.crash_point)
    return create_app(settings)


def _serve(args: argparse.Namespace) -> int:
    try:
        Settings.from_env()  # fail fast, before binding, on a bad configuration
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    common = {
        "factory": True,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "timeout_keep_alive": 30,
    }
    if args.workers > 1:
        print(f"WEBHOOKS_URL=http://{args.host}:{args.port}", flush=True)
        uvicorn.run(
            "partnerapi_webhooks.cli:app_from_env",
            host=args.host,
            port=args.port,
            workers=args.workers,
            **common,
        )
        return 0
    # Bind first so that --port 0 works and the printed URL names the real port.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config("partnerapi_webhooks.cli:app_from_env", **common)
    server = uvicorn.Server(config)
    print(f"WEBHOOKS_URL=http://{args.host}:{port}", flush=True)
    server.run(sockets=[sock])
    return 0


def _prune(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    removed = DedupStore(settings.state_db).prune(args.days * 86400)
    print(f"pruned {removed} landed ids older than {args.days} days")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partnerapi-webhooks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the receiver (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8088)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="load balancer addresses trusted for X-Forwarded-For",
    )
    prune = sub.add_parser("prune", help="forget landed ids past the vendor's retry horizon")
    prune.add_argument("--days", type=float, default=7.0)
    trigger.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "trigger":
        return trigger.main(args)
    return _serve(args) if args.command == "serve" else _prune(args)


if __name__ == "__main__":
    sys.exit(main())
