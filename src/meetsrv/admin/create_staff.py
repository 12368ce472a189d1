"""Create the first staff account (or make an existing account staff with a new password).

    python -m meetsrv.admin.create_staff --db sqlite:///meetsrv.sqlite3 admin@example.com 'password'

--db defaults to $MEETSRV_DB, then to sqlite:///meetsrv.sqlite3.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meetsrv.admin.create_staff", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("MEETSRV_DB") or "sqlite:///meetsrv.sqlite3")
    parser.add_argument("email")
    parser.add_argument("password")
    args = parser.parse_args(argv)
    if "@" not in args.email or not args.password:
        parser.error("give an email address and a non-empty password")

    from twisted.internet import defer, task

    from meetsrv.config import ConfigError
    from meetsrv.service import _NoReactor
    from meetsrv.bus.local import LocalEphemeral
    from meetsrv.core.accounts.email import DirectoryAccounts
    from meetsrv.core.accounts.limiter import LoginLimiter
    from meetsrv.core.accounts.passwords import PasswordHasher
    from meetsrv.store.db import Database, DatabaseUnavailable
    from meetsrv.store.accounts.email import DirectoryAccountStore

    try:
        Database(args.db, _NoReactor()).check_reachable()
    except (ConfigError, DatabaseUnavailable) as e:
        print(f"create_staff: {e}", file=sys.stderr)
        return 2
    result = {}

    @defer.inlineCallbacks
    def run(reactor):
        db = Database(args.db, reactor)
        try:
            yield db.create_schema()
            # no sign-in happens here, so the limiter needs no shared store
            limiter = LoginLimiter(LocalEphemeral(reactor))
            accounts = DirectoryAccounts(DirectoryAccountStore(db), PasswordHasher(reactor), None, reactor, limiter)
            result["id"] = yield accounts.ensure_staff(args.email, args.password)
        finally:
            db.close()

    try:
        task.react(lambda reactor: run(reactor))
    except SystemExit as e:
        if e.code:
            return int(e.code)
    print(f"staff account {args.email} (id {result.get('id')}) is ready; sign in at /admin/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
