"""The database that holds a shared search study (PostgreSQL, MySQL, SQLite through Optuna's
RDBStorage): which driver a plain URL means, its password kept out of everything printed or
stored, and a failure to connect said in one line.

A plain `postgresql://` URL means psycopg 3 to SQLAlchemy 2.1 and psycopg2 to older ones;
babysit names the driver that is installed (`pip install 'babysit[postgres]'` gives psycopg 3,
the README's `psycopg2-binary` works as well), so that either one works with the same URL.
"""

from __future__ import annotations

import importlib.util
import re
import time

__all__ = ["masked", "with_driver", "open_database"]

# A plain PostgreSQL URL's driver, in order of preference: (module, SQLAlchemy dialect+driver).
_POSTGRES_DRIVERS = (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"))
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_CREATE_TRIES = 5  # workers that create a fresh database's tables at once: the losers retry


def masked(spec) -> str:
    """`spec` with any password replaced by ***: "postgresql://ann:pw@host/db" ->
    "postgresql://ann:***@host/db" (also a `password=` query parameter). What babysit prints
    and stores in place of a storage URL; a file path comes back unchanged."""
    text = str(spec)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    path = re.sub(r"(?i)(password=)[^&]*", r"\1***", path)
    return f"{scheme}://{netloc}{slash}{path}"


def with_driver(url: str) -> str:
    """`url` with a PostgreSQL driver named when it names none: psycopg 3 when installed, else
    psycopg2. Other URLs come back unchanged. ValueError when neither driver is installed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _POSTGRES_SCHEMES:
        return url
    for module, dialect in _POSTGRES_DRIVERS:
        if importlib.util.find_spec(module) is not None:
            return f"{dialect}://{rest}"
    raise ValueError(f"the storage {masked(url)} needs a PostgreSQL driver: pip install "
                     f"'babysit[postgres]' (psycopg 3), or psycopg2-binary")


def open_database(url: str):
    """Optuna's RDBStorage on the database `url`, its tables created when the database is new.

    Two workers that start on a fresh database at once both create the tables; the one that
    loses finds them made on a retry. A failure to connect (wrong password, closed port,
    missing database, unknown driver) is a ValueError of one line naming the masked URL.
    """
    import optuna
    import sqlalchemy.exc

    target = with_driver(url)
    for attempt in range(1, _CREATE_TRIES + 1):
        try:
            return optuna.storages.RDBStorage(target)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            failure = err
            if attempt < _CREATE_TRIES:
                time.sleep(0.2 * attempt)
                continue
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
            failure = err  # ValueError: a URL SQLAlchemy cannot parse ("host:port" not a number)
        break
    raise ValueError(f"cannot open the storage {masked(url)}: {_reason(failure, url)}")


def _reason(err: Exception, url: str) -> str:
    """The driver's own words for `err`, on one line, without the password."""
    text = str(getattr(err, "orig", None) or err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = "; ".join(lines[:2]) if lines else type(err).__name__
    password = _password(url)
    return reason.replace(password, "***") if password else reason


def _password(url: str) -> str | None:
    userinfo, at, _ = url.partition("://")[2].partition("/")[0].rpartition("@")
    return userinfo.partition(":")[2] or None if at else None
