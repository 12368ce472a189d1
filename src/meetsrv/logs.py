"""JSON log lines for twistd: `--log-format json` (or MEETSRV_LOG_FORMAT=json).

twistd starts logging before it builds the service, from its own options: `--logger` names a
factory of the log observer. The plugin's `--log-format json` sets that option to
`meetsrv.logs.json_observer` (see the plugin's postOptions), so twistd installs the observer the
way it installs its own; `twistd --logger meetsrv.logs.json_observer meetsrv` does the same.

Each event is one line of `eventAsJSON` (it reads back with twisted.logger.eventFromJSON), plus
`log_text`, the formatted message, and `log_traceback` for a logged failure.
"""

from __future__ import annotations

import sys

from twisted.logger import FileLogObserver, eventAsJSON, formatEvent
from twisted.python.logfile import LogFile

# twistd's --logfile and --nodaemon, noted by the plugin before twistd asks for the observer
_destination = {"logfile": None, "nodaemon": True}


def note_twistd_options(logfile: str | None, nodaemon: bool) -> None:
    _destination["logfile"] = logfile
    _destination["nodaemon"] = nodaemon


def json_line(event: dict) -> str:
    event = dict(event)
    event.pop("log_logger", None)  # the Logger object: always {"unpersistable": true}
    event["log_text"] = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        try:
            event["log_traceback"] = failure.getTraceback()
        except Exception:
            pass
    return eventAsJSON(event) + "\n"


def json_observer(out=None) -> FileLogObserver:
    """The observer twistd installs (as --logger): to standard output, or where twistd would
    write its text log (--logfile, else twistd.log when it runs as a daemon)."""
    if out is None:
        out = _open(_destination["logfile"], _destination["nodaemon"])
    return FileLogObserver(out, json_line)


def _open(logfile: str | None, nodaemon: bool):
    # as twistd's own observer: '-' is standard output, and so is no --logfile under -n
    if logfile == "-" or (not logfile and nodaemon):
        return sys.stdout
    return LogFile.fromFullPath(logfile or "twistd.log")
