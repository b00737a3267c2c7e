"""Alembic environment for the job store.

Run programmatically by ``db.store.engine.upgrade(engine)``, which hands over an open connection
(in ``config.attributes["connection"]``) already inside a locked transaction, so concurrent
start-ups of several workers migrate a fresh database once. The ``alembic`` command line works too
(``alembic -x url=sqlite:///data/jobs.sqlite -c db/alembic.ini upgrade head``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import db.hypotheses  # noqa: F401 - its tables join Base.metadata (migration 0002)
from db.store.schema import Base

config = context.config


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).begin() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
