"""Alembic's environment for meetsrv: run by meetsrv.store.migrations with a connection it opened.

The caller (the server at start, `meetsrv-admin migrate`) opens the connection, begins the
transaction and takes the lock; this file only hands that connection to Alembic.
"""

from alembic import context

from meetsrv.store.migrations import compare_options

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("meetsrv migrations run through meetsrv.store.migrations (a connection is needed)")

context.configure(
    connection=connection,
    # SQLite cannot ALTER most things: later revisions use op.batch_alter_table, which this renders
    render_as_batch=connection.dialect.name == "sqlite",
    **compare_options(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
