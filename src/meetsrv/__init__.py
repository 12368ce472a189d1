"""meetsrv: one Twisted server for meetup and event apps, with five client APIs."""

__version__ = "0.1.0"
