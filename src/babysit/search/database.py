"""The database that holds a shared search study (PostgreSQL, MySQL, SQLite through Optuna's
RDBStorage): which driver a plain URL means, its password kept out of everything printed or
stored, and a failure to connect said in one line.

A plain `postgresql://` URL means psycopg 3 to SQLAlchemy 2.1 and psycopg2 to older ones;
babysit names the driver that is installed (`pip install 'babysit[postgres]'` gives psycopg 3,
docs/search.md's `psycopg2-binary` works as well), so that either one works with the same
URL.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
import time

__all__ = ["DatabaseLostError", "RecordLostError", "each_call", "masked", "open_database",
           "password_warning", "with_driver"]

# A plain PostgreSQL URL's driver, in order of preference: (module, SQLAlchemy dialect+driver).
_POSTGRES_DRIVERS = (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"))
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_CREATE_TRIES = 5  # workers that create a fresh database's tables at once: the losers retry
# A connection to the database lost (a server restarted, a network that dropped) is tried
# again after waits doubling from _FIRST_WAIT up to _MAX_WAIT, at most this many seconds of
# them in all, before the search stops with `DatabaseLostError`.
_RETRY_SECONDS = 60.0
_FIRST_WAIT, _MAX_WAIT = 0.5, 8.0
# The RDBStorage methods Optuna's cache in front of it calls besides the public ones (each
# opens a session of its own, so that it can be called again whole).
_CACHE_CALLS = ("_create_new_trial", "_set_trial_param", "_get_best_trial_id", "_get_trials",
                "_get_stale_trial_ids")


class DatabaseLostError(ValueError):
    """The connection to the study's database was lost and did not come back in time: one
    line, status 2; the finished trials are in the database, and the same command resumes."""


class RecordLostError(ValueError):
    """The study's database no longer holds a record (a trial, a study) that this process
    created or read: a restart lost its latest commits, as a server that acknowledges a commit
    before it is on disk (PostgreSQL's synchronous_commit off) does when it crashes. One
    line, status 2: Optuna's copy of the study in this process is wrong from then on, and the
    same command resumes with a fresh one."""


# The words of Optuna's KeyError for an id the database does not hold.
_NOT_FOUND = "Record does not exist."


def masked(spec) -> str:
    """`spec` with any password replaced by ***: "postgresql://ann:pw@host/db" ->
    "postgresql://ann:***@host/db" (also a `password=` query parameter). What babysit prints
    and stores in place of a storage URL; a file path comes back unchanged."""
    text = str(spec)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    # up to the last '@': a password written with '/' or '@' in it is masked whole too
    userinfo, at, after = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:***@{after}"
    rest = re.sub(r"(?i)(password=)[^&]*", r"\1***", rest)
    return f"{scheme}://{rest}"


# Characters a URL's password must percent-encode: SQLAlchemy reads them as the URL's parts.
_RESERVED = re.compile(r"[@/?#\[\]]|%(?![0-9A-Fa-f]{2})")


def _refuse_unencoded_password(url: str) -> None:
    """A ValueError when the password in `url` holds a character a URL reserves, written as
    is: the URL would be read wrong (another host, a port "invalid literal for int()") and
    the error would show a piece of the password. The password is never repeated."""
    password = _password(url)
    if password and _RESERVED.search(password):
        raise ValueError(f"the storage {masked(url)}: its password holds a character that a "
                         f"URL reserves (@ / ? # [ ] or a % not followed by two hex digits); "
                         f"percent-encode the password (in Python: urllib.parse.quote("
                         f"password, safe='')), or leave it out of the URL and set PGPASSWORD "
                         f"or a ~/.pgpass file")


def password_warning(url: str) -> str | None:
    """What to say when `url`, given on a command line, holds a password: every user of the
    machine sees it in the process list (ps). None when it holds none."""
    if not _password(url):
        return None
    return (f"the password in --storage {masked(url)} shows in the process list (ps) of every "
            f"user of this machine; leave it out of the URL and set PGPASSWORD, or keep it in "
            f"~/.pgpass (PostgreSQL's password file)")


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

    _refuse_unencoded_password(url)
    target = with_driver(url)
    for attempt in range(1, _CREATE_TRIES + 1):
        try:
            return _retrying(optuna.storages.RDBStorage(target), url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            failure = err
            if attempt < _CREATE_TRIES:
                time.sleep(0.2 * attempt)
                continue
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
            failure = err  # ValueError: a URL SQLAlchemy cannot parse ("host:port" not a number)
        break
    raise ValueError(f"cannot open the storage {masked(url)}: {_reason(failure, url)}")


def _retrying(storage, url: str, seconds: float = _RETRY_SECONDS):
    """`storage` (an RDBStorage) whose every method that opens a session of its own (the
    public ones, and `_CACHE_CALLS`) tries again, waiting for up to `seconds` in all,
    when the connection to the database is lost (`_connection_lost`), saying so once per
    outage in one line on stderr; past that, a `DatabaseLostError`. A record the database no
    longer holds is a `RecordLostError`; other errors pass at once.

    A write retried after a commit that did reach the database is harmless here: a trial
    created twice leaves one RUNNING trial without a heartbeat, which the workers fail
    (`workers.fail_stale`), and a result told twice is refused as already finished."""
    outage = {"said": False}
    return each_call(storage, lambda method: _retried(method, url, seconds, outage),
                     _CACHE_CALLS)


def each_call(storage, wrap, extra=()):
    """`storage` (an Optuna storage) with each of its public methods (those of Optuna's
    BaseStorage) and each method named in `extra` replaced by `wrap(method)`: what a call
    into the storage does around it (tries again, holds back a stop)."""
    import optuna

    public = [name for name in dir(optuna.storages.BaseStorage) if not name.startswith("_")]
    for name in [*public, *extra]:
        method = getattr(storage, name, None)
        if callable(method):
            setattr(storage, name, wrap(method))
    return storage


def _retried(method, url: str, seconds: float, outage: dict):
    @functools.wraps(method)
    def call(*args, **kwargs):
        wait, waited = _FIRST_WAIT, 0.0
        while True:
            try:
                result = method(*args, **kwargs)
            except Exception as err:
                if isinstance(err, KeyError) and err.args == (_NOT_FOUND,) \
                        and method.__name__ != "get_study_id_from_name":  # a name: a question
                    raise RecordLostError(
                        f"the study's database {masked(url)} no longer holds a record this "
                        f"process wrote or read ({method.__name__}): a restart lost its latest "
                        f"commits (as a server with synchronous_commit off does in a crash); "
                        f"the finished trials are kept there: the same command resumes the "
                        f"search") from err
                lost = _connection_lost(err)
                if lost is None:
                    raise
                if waited + wait > seconds:
                    raise DatabaseLostError(
                        f"lost the connection to the study's database {masked(url)} "
                        f"({_reason(lost, url)}), and it did not come back within "
                        f"{seconds:g} s; the finished trials are kept there: the same command "
                        f"resumes the search") from err
                if not outage["said"]:
                    print(f"babysit search: lost the connection to the study's database "
                          f"{masked(url)}; trying again for up to {seconds:g} s",
                          file=sys.stderr, flush=True)
                    outage["said"] = True
                time.sleep(wait)
                waited += wait
                wait = min(2 * wait, _MAX_WAIT)
                continue
            outage["said"] = False
            return result
    return call


def _connection_lost(err: BaseException) -> BaseException | None:
    """The error in `err`'s chain (itself, or one it was raised from) that says the connection
    to the database was lost (SQLAlchemy's OperationalError or InterfaceError, a connection
    it invalidated, or a session left waiting for the rollback of one), or None; Optuna
    reports these as a StorageInternalError about "invalid data in the commit"."""
    import sqlalchemy.exc

    seen = set()
    while err is not None and id(err) not in seen and not isinstance(err, DatabaseLostError):
        seen.add(id(err))   # a call inside a call that already waited gives up with it
        if isinstance(err, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
                      | sqlalchemy.exc.PendingRollbackError) \
                or getattr(err, "connection_invalidated", False):
            return err
        err = err.__cause__ or err.__context__
    return None


def _reason(err: Exception, url: str) -> str:
    """The driver's own words for `err`, on one line, without the password."""
    text = str(getattr(err, "orig", None) or err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = "; ".join(lines[:2]) if lines else type(err).__name__
    password = _password(url)
    if not password:
        return reason
    # the password where it stands as a token of its own, not inside the driver's words
    # (a password "p" would otherwise mask every p of "port 1 failed ... accepting")
    token = rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])"
    return re.sub(token, "***", reason.replace(url, masked(url)))


def _password(url: str) -> str | None:
    """The password in `url` as written (up to its last '@'), or in a `password=` query
    parameter, or None."""
    userinfo, at, _ = url.partition("://")[2].rpartition("@")
    if at and userinfo.partition(":")[2]:
        return userinfo.partition(":")[2]
    query = re.search(r"(?i)[?&]password=([^&]*)", url)
    return query.group(1) or None if query else None
