"""Which database errors are an outage to wait out rather than a failure of the work.

Why here and not with the retry policies (``sextant_platform.resilience``): the predicate
reads SQLAlchemy's exceptions, and a service without a database (embeddings) must not
install the database stack to import the policies.
"""

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sextant_platform.resilience import is_connection_error

TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57")
"""Connection exception, insufficient resources, operator intervention (the server is
starting, stopping or crashed: ``57P03`` "not yet accepting connections")."""
TRANSIENT_SQLSTATES = ("40001", "40P01")
"""Serialization failure and deadlock: the same statement succeeds when run again."""


def is_database_outage(error: BaseException) -> bool:
    """A connection failure, SQLAlchemy reporting that PostgreSQL went away, or an error
    whose SQLSTATE says the server cannot serve right now (it says so for a restart,
    which a caller should wait out, not treat as a failure of its work)."""
    if is_connection_error(error) or isinstance(error, OperationalError | InterfaceError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
    return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
