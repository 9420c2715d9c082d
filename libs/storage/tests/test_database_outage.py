"""Which database errors are outages (waited out) rather than failures of the analysis.

Found by ``make chaos``: a request consumed while PostgreSQL was restarting failed with
"the database system is not yet accepting connections" (SQLSTATE 57P03), which was not
taken for an outage, so the request was dead-lettered before admission and its analysis
never existed.
"""

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from sextant_storage.outages import is_database_outage


class _Driver(Exception):
    """What the asyncpg adapter hands SQLAlchemy: the error carries its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _Driver(sqlstate))


@pytest.mark.parametrize(
    "sqlstate",
    [
        "57P03",  # cannot_connect_now: starting up or shutting down
        "57P01",  # admin_shutdown: the server is being stopped
        "57P02",  # crash_shutdown
        "08006",  # connection_failure
        "08003",  # connection_does_not_exist
        "53300",  # too_many_connections
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
    ],
)
def test_a_server_that_is_starting_stopping_or_busy_is_an_outage(sqlstate: str) -> None:
    assert is_database_outage(_wrapped(sqlstate))


@pytest.mark.parametrize("sqlstate", ["22P05", "23505", "42P01"])
def test_errors_about_the_data_or_the_statement_are_not(sqlstate: str) -> None:
    assert not is_database_outage(_wrapped(sqlstate))
    assert not is_database_outage(IntegrityError("INSERT", {}, _Driver(sqlstate)))
