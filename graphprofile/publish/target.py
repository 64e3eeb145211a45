"""Profile-store URIs: ``postgresql://`` and ``redis://``, never with a password.

Nothing here imports a driver. Passwords come only from the environment (``PGPASSWORD``
for PostgreSQL, as libpq reads it; ``REDIS_PASSWORD`` for Redis), so they never appear on
a command line, in ``ps``, in logs or in errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from graphprofile.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss")
DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379}
#: Environment variable holding each kind's password.
PASSWORD_ENV = {"postgresql": "PGPASSWORD", "redis": "REDIS_PASSWORD"}


@dataclass(frozen=True)
class TargetURI:
    """A parsed profile-store URI without credentials.

    Attributes
    ----------
    kind : str
        ``"postgresql"`` or ``"redis"``.
    host, port : str, int
        Server address.
    user : str or None
        User name (PostgreSQL role, Redis ACL user), if the URI names one.
    database : str or None
        PostgreSQL database name, or the Redis database number as text.
    tls : bool
        ``rediss://`` (PostgreSQL TLS follows libpq's ``PGSSLMODE``).
    """

    kind: str
    host: str
    port: int
    user: str | None = None
    database: str | None = None
    tls: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def redacted(self) -> str:
        """The URI as it may be shown: no password (there never is one), no query."""
        scheme = "rediss" if self.tls else self.kind
        user = f"{self.user}@" if self.user else ""
        db = f"/{self.database}" if self.database else ""
        return f"{scheme}://{user}{self.host}:{self.port}{db}"


def parse_target_uri(uri: str) -> TargetURI:
    """Parse ``postgresql://[user@]host[:port]/database`` or ``redis://[user@]host[:port][/db]``.

    Raises
    ------
    ConfigError
        Unknown scheme, a password in the URI (it must come from the environment), no
        PostgreSQL database, or a Redis database that is not a number.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise ConfigError(
            "cannot read the --to URI; use postgresql://user@host:5432/db or redis://host:6379/0"
        ) from None
    scheme = parts.scheme.lower()
    if scheme in POSTGRES_SCHEMES:
        kind = "postgresql"
    elif scheme in REDIS_SCHEMES:
        kind = "redis"
    else:
        raise ConfigError(
            f"unknown profile store scheme {parts.scheme + '://' if parts.scheme else '(none)'}; "
            "use postgresql://user@host:5432/db or redis://host:6379/0"
        )
    if parts.password is not None:
        raise ConfigError(
            f"the --to URI contains a password; remove it and set {PASSWORD_ENV[kind]} "
            "in the environment instead"
        )
    if not parts.hostname:
        raise ConfigError(f"the --to URI names no host; e.g. {kind}://localhost")
    database = unquote(parts.path.lstrip("/")) or None
    if kind == "postgresql" and not database:
        raise ConfigError("the --to URI names no database; e.g. postgresql://user@host:5432/db")
    if kind == "redis" and database is not None and not database.isdigit():
        raise ConfigError(f"Redis database must be a number, got {database!r}")
    return TargetURI(
        kind=kind,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[kind],
        user=unquote(parts.username) if parts.username else None,
        database=database,
        tls=scheme == "rediss",
    )


__all__ = ["PASSWORD_ENV", "TargetURI", "parse_target_uri"]
