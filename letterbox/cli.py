"""``letterbox``: the operator's command for accounts and keys.

It talks to local mode when ``.letterbox/stack.json`` exists (written by ``make dev``), and to
a deployed stack otherwise, with ordinary AWS credentials: ``--stack letterbox-prod``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from letterbox.jsonargs import JsonArgumentParser, JsonVersion

STATE = Path(os.environ.get("LETTERBOX_STATE_DIR", Path.cwd() / ".letterbox"))


class CliError(Exception):
    """A problem the operator can fix: printed as one JSON line on stderr, exit 1."""


def _stack_env(stack: str | None) -> dict[str, str]:
    """The functions' environment: from local mode's state file, or the deployed stack."""
    local = STATE / "stack.json"
    if stack is None and local.exists():
        state = json.loads(local.read_text())
        os.environ.update({"AWS_ENDPOINT_URL": state["aws_endpoint_url"],
                           "AWS_ACCESS_KEY_ID": "letterbox-local",
                           "AWS_SECRET_ACCESS_KEY": "letterbox-local",
                           "AWS_REGION": state["region"], "AWS_DEFAULT_REGION": state["region"]})
        return dict(state["env"])
    if stack is None:
        raise CliError("no local stack (.letterbox/stack.json) and no --stack given")
    return deployed_env(stack)


def deployed_env(stack: str, session: Any = None) -> dict[str, str]:
    """Exactly what the deployed API function sees (parameters such as PublicBaseUrl and
    !Sub values resolved by CloudFormation), read from the function itself."""
    import boto3
    session = session or boto3.Session()
    resources = session.client("cloudformation").describe_stack_resources(StackName=stack)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in resources["StackResources"]}
    if "APIHandler" not in physical:
        raise CliError(f"stack {stack} has no Letterbox API function (APIHandler)")
    config = session.client("lambda").get_function_configuration(
        FunctionName=physical["APIHandler"])
    variables = config.get("Environment", {}).get("Variables", {})
    env = {k: str(v) for k, v in variables.items() if k.startswith("LETTERBOX_")}
    if not env.get("LETTERBOX_PUBLIC_BASE_URL", "").startswith("https://"):
        raise CliError(f"stack {stack}'s API has no https LETTERBOX_PUBLIC_BASE_URL")
    return env


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="letterbox", description=__doc__)
    parser.add_argument("--version", action=JsonVersion, help="print the version as JSON")
    parser.add_argument("--stack", help="deployed CloudFormation stack (default: local mode)")
    nouns = parser.add_subparsers(dest="noun", required=True)

    account = nouns.add_parser("account", help="accounts").add_subparsers(dest="verb",
                                                                           required=True)
    account.add_parser("create", help="create an account and its first full-scope key"
                       ).add_argument("name")
    account.add_parser("close", help="close an account and revoke its keys"
                       ).add_argument("account_id")
    account.add_parser("resume", help="resume sending after account protection paused it"
                       ).add_argument("account_id")
    verified = account.add_parser(
        "add-domain", help="local mode: create a domain, publish its records in the local "
                           "zone and verify it")
    verified.add_argument("account_id")
    verified.add_argument("domain")

    key = nouns.add_parser("key", help="API keys").add_subparsers(dest="verb", required=True)
    create = key.add_parser("create", help="create an API key (shown once)")
    create.add_argument("account_id")
    create.add_argument("--scope", choices=["full", "sending"], default="full")
    create.add_argument("--domain", action="append", default=[],
                        help="limit a key to this sending domain (repeatable)")
    key.add_parser("revoke", help="revoke an API key").add_argument("key_id")
    key.add_parser("list", help="list an account's keys (never the secrets)"
                   ).add_argument("account_id")

    _dashboard_commands(nouns)
    carrier = nouns.add_parser("carrier", help="physical-mail carriers").add_subparsers(
        dest="verb", required=True)
    carrier.add_parser("list", help="the carriers this deployment has credentials for")
    carrier.add_parser("push-url", help="the tracking push URL to register with a carrier"
                       ).add_argument("carrier", choices=["usps", "fedex", "dhl", "sandbox"])

    letters = nouns.add_parser("letters", help="physical mail").add_subparsers(
        dest="verb", required=True)
    letters.add_parser("poll", help="local mode: poll the carriers' tracking now (within "
                                    "each carrier's per-second and per-day pace)")
    printing = nouns.add_parser("print", help="the print partner").add_subparsers(
        dest="verb", required=True)
    printing.add_parser("partner-key", help="the key (and its id) to give the print partner")
    return parser


def _dashboard_commands(nouns: Any) -> None:
    user = nouns.add_parser("user", help="dashboard users").add_subparsers(dest="verb",
                                                                           required=True)
    create = user.add_parser("create", help="create a user and print its invite link (7 days)")
    create.add_argument("account_id")
    create.add_argument("email")
    create.add_argument("--role", choices=["owner", "admin", "member"], default="member")
    user.add_parser("list", help="an account's dashboard users").add_argument("account_id")
    remove = user.add_parser("remove", help="remove a dashboard user and end its sessions")
    remove.add_argument("account_id")
    remove.add_argument("user_id")

    notice = nouns.add_parser("notice", help="notices shown in the dashboard").add_subparsers(
        dest="verb", required=True)
    post = notice.add_parser("post", help="post a notice, shown until each user dismisses it")
    post.add_argument("--title", required=True)
    post.add_argument("--body", required=True)
    post.add_argument("--effective", help="YYYY-MM-DD: when the announced change takes effect")
    notice.add_parser("list", help="every notice")

    analytics = nouns.add_parser("analytics", help="first-party dashboard analytics"
                                 ).add_subparsers(dest="verb", required=True)
    analytics.add_parser("daily", help="one day's page views (consented visitors only)"
                         ).add_argument("--day", help="YYYY-MM-DD (default: today, UTC)")


def run_dashboard(args: argparse.Namespace, dashboard: Any, now: Any) -> Any:
    from datetime import date
    match (args.noun, args.verb):
        case ("user", "create"):
            user, url = dashboard.users.create_user(args.account_id, args.email, args.role, now)
            return {"user_id": user.user_id, "email": user.email, "role": user.role,
                    "invite_url": url, "expires_in": "7 days, single use"}
        case ("user", "list"):
            return {"users": [{"user_id": u.user_id, "email": u.email, "role": u.role,
                               "status": u.status, "two_step": u.has_totp}
                              for u in dashboard.users.list_users(args.account_id)]}
        case ("user", "remove"):
            dashboard.users.remove_user(args.account_id, args.user_id)
            return {"user_id": args.user_id, "removed": True}
        case ("notice", "post"):
            effective = date.fromisoformat(args.effective) if args.effective else None
            return dashboard.notices.post(args.title, args.body, effective, now)
        case ("notice", "list"):
            return {"notices": dashboard.notices.all()}
        case ("analytics", "daily"):
            return dashboard.analytics.daily(args.day or now.strftime("%Y-%m-%d"))
    raise SystemExit(f"unknown command {args.noun} {args.verb}")


def run(args: argparse.Namespace) -> Any:
    os.environ.update(_stack_env(args.stack))
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    wiring.reset()
    accounts = wiring.container().accounts
    now = utcnow()
    if args.noun in ("user", "notice", "analytics"):
        return run_dashboard(args, wiring.container().dashboard, now)
    match (args.noun, args.verb):
        case ("account", "create"):
            account_id, key = accounts.create_account(args.name, now)
            return {"account_id": account_id, "api_key": key.token, "key_id": key.key_id}
        case ("account", "resume"):
            accounts.resume_sending(args.account_id)
            return {"account_id": args.account_id, "sending_paused": False}
        case ("account", "close"):
            accounts.close_account(args.account_id, now)
            return {"account_id": args.account_id, "status": "closed"}
        case ("account", "add-domain"):
            if args.stack is not None:
                raise CliError("add-domain is for local mode; use POST /v1/domains")
            from letterbox.local.seed import add_local_domain
            domain_id = add_local_domain(wiring.container(), args.account_id, args.domain)
            return {"domain_id": domain_id, "name": args.domain, "status": "verified"}
        case ("key", "create"):
            key = accounts.create_key(args.account_id, args.scope, now, args.domain)
            return {"key_id": key.key_id, "api_key": key.token, "scope": key.scope}
        case ("key", "revoke"):
            owner = wiring.container().account_store.get_key(args.key_id)
            if owner is None:
                raise CliError(f"no API key {args.key_id}")
            accounts.revoke_key(owner["account_id"], args.key_id, now)
            return {"key_id": args.key_id, "revoked": True}
        case ("key", "list"):
            return {"keys": accounts.list_keys(args.account_id)}
        case ("carrier", "list"):
            return {"carriers": wiring.container().carriers.configured()}
        case ("carrier", "push-url"):
            from chalicelib.api.routes.letters import push_token
            base = wiring.container().settings.public_base_url.rstrip("/")
            if not base.startswith(("https://", "http://")):
                raise CliError("the stack has no public base URL (LETTERBOX_PUBLIC_BASE_URL)")
            return {"carrier": args.carrier,
                    "url": f"{base}/webhooks/carriers/{args.carrier}?token="
                           f"{push_token(args.carrier)}"}
        case ("letters", "poll"):
            if args.stack is not None:
                raise CliError("letters poll is for local mode; deployed stacks poll on "
                               "their schedule")
            return {"recorded": wiring.container().letter_tracker.poll(now, everything=True)}
        case ("print", "partner-key"):
            from chalicelib.tokens import PRINT_PARTNER
            tokens = wiring.container().tokens
            return {"key_id": tokens.current_key_id, "key": tokens.partner_key(PRINT_PARTNER)}
    raise CliError(f"unknown command {args.noun} {args.verb}")


def _fail(code: str, message: str) -> int:
    print(json.dumps({"error": {"code": code, "message": message}}), file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Errors are one JSON line on stderr and a non-zero exit, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.errors import LetterboxError
    args = _parser().parse_args(argv)
    try:
        result = run(args)
    except LetterboxError as err:
        print(json.dumps(err.to_body()), file=sys.stderr)
        return 1
    except CliError as err:
        return _fail("usage_error", str(err))
    except ClientError as err:
        error = err.response.get("Error", {})
        return _fail("aws_error", f"{error.get('Code', 'error')}: {error.get('Message', '')}")
    except BotoCoreError as err:
        return _fail("aws_error", str(err))
    except Exception as err:  # a bug: still one line, and the type names it
        return _fail("internal_error", f"{type(err).__name__}: {err}")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
