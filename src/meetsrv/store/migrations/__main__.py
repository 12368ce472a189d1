"""A new revision file after changing tables.py (developers; operators use `meetsrv-admin migrate`):

    python -m meetsrv.store.migrations revision --rev-id 0003 -m "what changes" [--autogenerate] [--db URL]

--autogenerate compares tables.py with a database at head (default: a new SQLite file migrated
to head) and writes the difference as a first draft: read it, fix it, test it on both databases.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meetsrv.store.migrations", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="write a new revision file in versions/")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--rev-id", required=True, help="the next number, e.g. 0003 (revisions are numbered)")
    rev.add_argument("--autogenerate", action="store_true")
    rev.add_argument("--db", help="a database at head to compare with (default: a new SQLite file)")
    args = parser.parse_args(argv)

    from alembic import command

    from meetsrv.store import migrations

    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'head.sqlite3'}"
        migrations.upgrade(url)
        engine = migrations.engine_for(url)
        try:
            with engine.begin() as connection:
                command.revision(migrations.alembic_config(connection), message=args.message,
                                 autogenerate=args.autogenerate, rev_id=args.rev_id)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
