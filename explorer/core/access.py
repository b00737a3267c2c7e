"""Who is asking: access tokens for shared servers, and which jobs a user may see.

With no ``submit_token`` configured (a personal or lab machine) everyone is ``OPEN``: they see every
job and may submit. Once a token is configured the server is shared:

- the configured token itself is the operator's (``admin``): every job, no per-user limit;
- a personal token ``NAME.SIGNATURE`` (``explorer token NAME`` prints one) signs in as ``NAME``,
  who sees and submits only their own jobs, at most ``limits.jobs_per_user`` unfinished at a time;
- no token: ``GUEST``, who may browse cells and the warehouse but sees no jobs and submits none.

Personal tokens are an HMAC of the name under the configured token, so the server keeps no user
table: changing ``submit_token`` revokes every personal token at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from explorer.core.errors import UserError

ADMIN = "admin"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SIGNATURE_CHARS = 32  # 192 bits of the SHA-256 HMAC, base64url


class AccessError(UserError):
    """A token that is not valid here, or an action the user may not take. Fit to show."""


@dataclass(frozen=True)
class User:
    name: str | None  # stored as the owner of the jobs this user submits
    sees_all: bool  # every job, and no per-user job limit
    can_submit: bool

    def can_see(self, owner: str | None) -> bool:
        """Whether a job owned by ``owner`` is visible to this user."""
        return self.sees_all or (self.name is not None and self.name == owner)

    @property
    def label(self) -> str:
        if self.name is None:
            return "everyone (no token configured)" if self.sees_all else "guest"
        return self.name


OPEN = User(None, sees_all=True, can_submit=True)
GUEST = User(None, sees_all=False, can_submit=False)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise AccessError(f"user name {name!r}: use 1–64 lower-case letters, digits, '_' or '-', "
                          "starting with a letter or digit")
    if name == ADMIN:
        raise AccessError(f"{ADMIN!r} is the operator, whose token is the configured submit_token itself")
    return name


def _signature(secret: str, name: str) -> str:
    digest = hmac.new(secret.encode(), b"explorer-user:" + name.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_SIGNATURE_CHARS]


def issue_token(secret: str, name: str) -> str:
    """The personal token of ``name`` on a server whose ``submit_token`` is ``secret``."""
    return f"{check_name(name)}.{_signature(secret, name)}"


def sign_in(secret: str | None, token: str | None) -> User:
    """The user a token stands for on a server configured with ``secret`` (``submit_token``).
    Raises ``AccessError`` for a token that is not valid here; no token is ``GUEST``."""
    if secret is None:
        return OPEN
    token = (token or "").strip()
    if not token:
        return GUEST
    if hmac.compare_digest(token.encode(), secret.encode()):
        return User(ADMIN, sees_all=True, can_submit=True)
    name, _, signature = token.rpartition(".")
    if (
        _NAME.match(name)
        and name != ADMIN
        and hmac.compare_digest(signature.encode(), _signature(secret, name).encode())
    ):
        return User(name, sees_all=False, can_submit=True)
    raise AccessError("that access token is not valid on this server: check it, or ask the operator "
                      "for yours (they print it with `explorer token NAME`)")


def may_read(reader: str | None, source: str | None) -> bool:
    """Whether a job owned by ``reader`` may read the artifacts of a job owned by ``source``:
    the operator's (or, without tokens, everyone's) jobs read anything; a user's job reads its user's."""
    return reader in (None, ADMIN) or reader == source


def owner_user(owner: str | None) -> User:
    """The user whose jobs are stored with ``owner``, to act on their behalf (the follow-up jobs of
    their run): no owner is ``OPEN`` (no token was configured), ``admin`` the operator."""
    if owner is None:
        return OPEN
    return User(owner, sees_all=owner == ADMIN, can_submit=True)
