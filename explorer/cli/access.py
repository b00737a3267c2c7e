"""``explorer token NAME``: a user's personal access token for a shared server."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "token", help="print a user's access token for a shared server (needs submit_token configured)",
        description="A personal token signs its holder in as NAME: they run jobs and see only their own, at most "
                    "limits.jobs_per_user unfinished at a time. Tokens are derived from submit_token, so "
                    "changing submit_token revokes them all; the submit_token itself signs in as the operator.",
    )
    p.add_argument("name", help="user name: lower-case letters, digits, '_' or '-'")
    p.add_argument("--json", action="store_true", help="print {name, token} as JSON")
    p.set_defaults(handler=_token)


def _token(args: argparse.Namespace) -> int:
    from explorer.core.access import issue_token
    from explorer.core.errors import UserError
    from explorer.core.settings import get_settings

    secret = get_settings().submit_token
    if secret is None:
        raise UserError("no submit_token is configured (EXPLORER_SUBMIT_TOKEN or submit_token in explorer.toml): "
                        "without one the server is open to everyone and needs no tokens")
    token = issue_token(secret, args.name)
    print(json.dumps({"name": args.name, "token": token}) if args.json else token)
    return 0
