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

STATE = Path(os.environ.get("LETTERBOX_STATE_DIR", Path.cwd() / ".letterbox"))


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
        raise SystemExit("no local stack (.letterbox/stack.json) and no --stack given")
    import boto3

    from letterbox.local.provision import load_template
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in resources["StackResources"]}
    # Each variable is a plain !Ref, and a resource's Ref is its physical id.
    return {name: physical[value["Ref"]] for name, value in variables.items()
            if value["Ref"] in physical}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="letterbox", description=__doc__)
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

    carrier = nouns.add_parser("carrier", help="physical-mail carriers").add_subparsers(
        dest="verb", required=True)
    carrier.add_parser("list", help="the carriers this deployment has credentials for")
    carrier.add_parser("push-url", help="the tracking push URL to register with a carrier"
                       ).add_argument("carrier", choices=["usps", "fedex", "dhl", "sandbox"])
    printing = nouns.add_parser("print", help="the print partner").add_subparsers(
        dest="verb", required=True)
    printing.add_parser("partner-key", help="the key (and its id) to give the print partner")
    return parser


def run(args: argparse.Namespace) -> Any:
    os.environ.update(_stack_env(args.stack))
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    wiring.reset()
    accounts = wiring.container().accounts
    now = utcnow()
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
                raise SystemExit("add-domain is for local mode; use POST /v1/domains")
            from letterbox.local.seed import add_local_domain
            domain_id = add_local_domain(wiring.container(), args.account_id, args.domain)
            return {"domain_id": domain_id, "name": args.domain, "status": "verified"}
        case ("key", "create"):
            key = accounts.create_key(args.account_id, args.scope, now, args.domain)
            return {"key_id": key.key_id, "api_key": key.token, "scope": key.scope}
        case ("key", "revoke"):
            accounts.revoke_key(args.key_id, now)
            return {"key_id": args.key_id, "revoked": True}
        case ("key", "list"):
            return {"keys": accounts.list_keys(args.account_id)}
        case ("carrier", "list"):
            return {"carriers": wiring.container().carriers.configured()}
        case ("carrier", "push-url"):
            from chalicelib.api.routes.letters import push_token
            base = wiring.container().settings.public_base_url
            return {"carrier": args.carrier,
                    "url": f"{base}/webhooks/carriers/{args.carrier}?token="
                           f"{push_token(args.carrier)}"}
        case ("print", "partner-key"):
            from chalicelib.tokens import PRINT_PARTNER
            tokens = wiring.container().tokens
            return {"key_id": tokens.current_key_id, "key": tokens.partner_key(PRINT_PARTNER)}
    raise SystemExit(f"unknown command {args.noun} {args.verb}")


def main(argv: list[str] | None = None) -> int:
    from chalicelib.errors import LetterboxError
    args = _parser().parse_args(argv)
    try:
        result = run(args)
    except LetterboxError as err:
        print(json.dumps(err.to_body()), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
