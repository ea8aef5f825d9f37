"""Dashboard users and roles, kept in a TOML file with salted scrypt password hashes.

File format (``RINGWATCH_USERS`` or ``--users``)::

    [users."alice"]
    role = "supervisor"          # viewer | investigator | supervisor
    display_name = "Alice"
    password = "scrypt$16384$8$1$<salt, base64>$<hash, base64>"

Roles:

- ``viewer``: reads alerts and cases, everything masked,
- ``investigator``: also case work (status, assignee, notes),
- ``supervisor``: case work and may unmask personal data (each unmask is audit-logged).

Create or update an entry (the password is read from the terminal, or from stdin with
``--password-stdin``)::

    python -m ringwatch.dashboard.users add alice --role supervisor --file users.toml
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ringwatch.errors import ConfigError


@dataclass(frozen=True)
class Role:
    """What a role may do."""

    name: str
    can_casework: bool
    can_unmask: bool


ROLES: dict[str, Role] = {
    "viewer": Role("viewer", can_casework=False, can_unmask=False),
    "investigator": Role("investigator", can_casework=True, can_unmask=False),
    "supervisor": Role("supervisor", can_casework=True, can_unmask=True),
}

#: the user of local single-user mode (no users file configured)
LOCAL_USER = "local"

_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    """A signed-in dashboard user."""

    name: str
    role: Role
    display_name: str

    @property
    def can_casework(self) -> bool:
        return self.role.can_casework

    @property
    def can_unmask(self) -> bool:
        return self.role.can_unmask


@dataclass(frozen=True)
class UserRecord:
    """One entry of the users file."""

    name: str
    role: str
    password_hash: str
    display_name: str


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password with scrypt and a random 16-byte salt.

    Parameters
    ----------
    password
        The clear-text password.
    salt
        Fixed salt (tests only); a fresh random salt by default.

    Returns
    -------
    str
        ``scrypt$N$r$p$salt$hash`` (base64 parts), safe to store in the users file.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Check a password against a stored ``scrypt$…`` or ``pbkdf2_sha256$…`` hash.

    Parameters
    ----------
    password
        What the user typed.
    stored
        The stored hash string.

    Returns
    -------
    bool
        ``True`` when it matches (constant-time comparison); malformed hashes never match.
    """
    try:
        scheme, *parts = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt_b64, hash_b64 = parts
            expected = base64.b64decode(hash_b64)
            got = hashlib.scrypt(
                password.encode("utf-8"),
                salt=base64.b64decode(salt_b64),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=len(expected),
                maxmem=256 * 1024 * 1024,
            )
        elif scheme == "pbkdf2_sha256":
            iterations, salt_b64, hash_b64 = parts
            expected = base64.b64decode(hash_b64)
            got = hashlib.pbkdf2_hmac(
                "sha256", password.encode("utf-8"), base64.b64decode(salt_b64), int(iterations)
            )
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


_DUMMY_HASH = hash_password("ringwatch-dummy", salt=b"\x00" * 16)


def load_users(path: Path) -> dict[str, UserRecord]:
    """Read a users file.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    dict
        User name -> record.

    Raises
    ------
    ConfigError
        Missing file, invalid TOML, unknown role or an entry without a password hash.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError("users file not found", file=str(path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"users file is not valid TOML: {e}", file=str(path)) from e
    users: dict[str, UserRecord] = {}
    for name, entry in dict(raw.get("users", {})).items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"entry users.{name} must be a table", file=str(path))
        role = str(entry.get("role", ""))
        if role not in ROLES:
            raise ConfigError(f"user {name!r}: role must be one of {sorted(ROLES)}", file=str(path))
        pw = entry.get("password")
        if not isinstance(pw, str) or "$" not in pw:
            raise ConfigError(f"user {name!r}: password must be a hash string", file=str(path))
        users[name] = UserRecord(name, role, pw, str(entry.get("display_name") or name))
    return users


def authenticate(users: Mapping[str, UserRecord], name: str, password: str) -> User | None:
    """Check a user name and password.

    Parameters
    ----------
    users
        Records from :func:`load_users`.
    name, password
        What was typed.

    Returns
    -------
    User or None
        The user on success; ``None`` for an unknown name or a wrong password (an unknown
        name costs as much time as a wrong password).
    """
    rec = users.get(name.strip())
    if rec is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, rec.password_hash):
        return None
    return User(rec.name, ROLES[rec.role], rec.display_name)


def local_user() -> User:
    """The user of local single-user mode: a supervisor (the machine's owner)."""
    return User(LOCAL_USER, ROLES["supervisor"], LOCAL_USER)


def _toml_str(value: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are valid TOML basic-string escapes
    return json.dumps(value, ensure_ascii=False)


def render_users(users: Mapping[str, UserRecord]) -> str:
    """Render records as users-file TOML (sorted by name)."""
    lines = ["# ringwatch dashboard users (python -m ringwatch.dashboard.users add NAME --role ROLE)", ""]
    for name in sorted(users):
        rec = users[name]
        lines += [
            f"[users.{_toml_str(name)}]",
            f"role = {_toml_str(rec.role)}",
            f"display_name = {_toml_str(rec.display_name)}",
            f"password = {_toml_str(rec.password_hash)}",
            "",
        ]
    return "\n".join(lines)


def add_user(path: Path, name: str, role: str, password: str, display_name: str | None = None) -> None:
    """Create or replace one user in a users file (created when missing).

    Parameters
    ----------
    path
        The users TOML file.
    name
        Login name (letters, digits, ``_ . @ -``; at most 64 characters).
    role
        ``viewer``, ``investigator`` or ``supervisor``.
    password
        Clear-text password (at least 8 characters); only its hash is written.
    display_name
        Shown in the dashboard and the audit log (default: the name).

    Raises
    ------
    ConfigError
        Bad name, role or password, or an unreadable existing file.
    """
    if not _NAME_RE.match(name):
        raise ConfigError("user name must be 1-64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise ConfigError(f"role must be one of {sorted(ROLES)}")
    if len(password) < 8:
        raise ConfigError("password must have at least 8 characters")
    users = load_users(path) if path.exists() else {}
    users[name] = UserRecord(name, role, hash_password(password), display_name or name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(render_users(users), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ringwatch.dashboard.users add NAME --role ROLE [--file F] [--password-stdin]``.

    Returns
    -------
    int
        0 on success, 2 on bad input.
    """
    ap = argparse.ArgumentParser(
        prog="python -m ringwatch.dashboard.users", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="create or update a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--display-name", default=None)
    add.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("RINGWATCH_USERS") or "users.toml"),
        help="users file (default: $RINGWATCH_USERS or ./users.toml)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = ap.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("repeat: ") != password:
            sys.stderr.write("passwords differ\n")
            return 2
    try:
        add_user(args.file, args.name, args.role, password, args.display_name)
    except ConfigError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    sys.stderr.write(f"user {args.name} ({args.role}) written to {args.file}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
