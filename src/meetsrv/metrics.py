"""Prometheus metrics of one server: kept per server (several servers in one process, as in the
tests, count apart), exported through a registry of its own, served by a resource.

Every label has few values: the door, the route pattern of the door's URL map (never the raw
path), a known HTTP method, the status, a transaction's name. Values that already exist
somewhere (open sockets, armed timers, bus reconnects) are read when scraped, not kept twice.

Everything is observed on the reactor thread (requests, sockets, chat, bus callbacks, and the
database observer, which the pool calls back there), and scrapes run there too. So the counts
are plain numbers: prometheus_client's Counter and Histogram take a lock on every call, for
threaded programs, which made an observation about five times dearer on the request path. The
client library still does the exposition (families built at scrape time) and the process metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString
from twisted.web.resource import Resource

from meetsrv.http.answers import json_answer

# a client can send any method; only these become label values, the rest count as "other"
_METHODS = {m: m.decode() for m in (b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS")}

# seconds; requests, transactions and publishes are mostly well under a millisecond to a few ms
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METRIC_NAMES = (
    "meetsrv_http_requests_total",
    "meetsrv_http_request_duration_seconds",
    "meetsrv_websockets_open",
    "meetsrv_chat_messages_stored_total",
    "meetsrv_chat_messages_delivered_total",
    "meetsrv_bus_publish_duration_seconds",
    "meetsrv_bus_reconnects_total",
    "meetsrv_db_pool_wait_seconds",
    "meetsrv_db_transaction_duration_seconds",
    "meetsrv_delayed_events_pending",
)


class _Counts:
    """A counter family: label values -> count."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...] = ()):
        self.name, self.documentation, self.labels = name, documentation, labels
        self.values: dict[tuple, float] = {}

    def inc(self, labels: tuple = (), amount: float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in self.values.items():
            family.add_metric(labels, value)
        if not self.labels and not self.values:
            family.add_metric((), 0)
        return family


class _Histograms:
    """A histogram family: label values -> [count per bucket, ..., count above the last, sum]."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...] = (), bounds=_FAST_BUCKETS):
        self.name, self.documentation, self.labels = name, documentation, labels
        self.bounds = bounds
        self.les = [floatToGoString(b) for b in bounds] + ["+Inf"]
        self.series: dict[tuple, list] = {}

    def observe(self, labels: tuple, value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = [0] * (len(self.bounds) + 1) + [0.0]
        # bisect_left: the first bound >= value, as Prometheus buckets count value <= le
        series[bisect_left(self.bounds, value)] += 1
        series[-1] += value

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, series in self.series.items():
            family.add_metric(labels, list(zip(self.les, accumulate(series[:-1]))), series[-1])
        if not self.labels and not self.series:
            family.add_metric((), [(le, 0) for le in self.les], 0.0)
        return family


class Metrics:
    def __init__(self):
        self.requests = _Counts(
            "meetsrv_http_requests", "HTTP requests answered, by door, route pattern, method and status.",
            ("door", "route", "method", "status"),
        )
        self.request_seconds = _Histograms(
            "meetsrv_http_request_duration_seconds",
            "Time from a request's arrival (body read) to its answer, by door, route pattern and method.",
            ("door", "route", "method"),
        )
        self.chat_stored = _Counts("meetsrv_chat_messages_stored", "Chat messages stored (every door's chats).")
        self.chat_delivered = _Counts(
            "meetsrv_chat_messages_delivered",
            "Chat message frames sent to this process's sockets (one per receiving socket).",
        )
        self.publish_seconds = _Histograms(
            "meetsrv_bus_publish_duration_seconds", "Time for the bus to accept a published message.",
        )
        self.db_wait_seconds = _Histograms(
            "meetsrv_db_pool_wait_seconds",
            "Time a transaction waited for a pool thread and connection, by transaction name.", ("transaction",),
        )
        self.db_run_seconds = _Histograms(
            "meetsrv_db_transaction_duration_seconds",
            "Time a transaction's function ran on its connection, by transaction name.", ("transaction",),
        )
        self.hub = self.bus = self.delayed_events = None
        self.registry = CollectorRegistry()
        self.registry.register(self)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def watch(self, hub=None, bus=None, delayed_events=None) -> None:
        """Where the scrape-time values are read: the socket hub, the bus, the delayed-save service."""
        self.hub, self.bus, self.delayed_events = hub, bus, delayed_events

    # -- recorded as things happen ---------------------------------------------------------------
    def observe_request(self, door: str, route: str, method: bytes, status: int, seconds: float) -> None:
        name = _METHODS.get(method, "other")
        self.requests.inc((door, route, name, str(status)))
        self.request_seconds.observe((door, route, name), seconds)

    def observe_transaction(self, desc: str, wait_seconds: float, run_seconds: float) -> None:
        labels = (desc,)
        self.db_wait_seconds.observe(labels, wait_seconds)
        self.db_run_seconds.observe(labels, run_seconds)

    def observe_publish(self, seconds: float) -> None:
        self.publish_seconds.observe((), seconds)

    def chat_message_stored(self) -> None:
        self.chat_stored.inc()

    def chat_messages_delivered(self, count: int) -> None:
        self.chat_delivered.inc((), count)

    # -- scraped -----------------------------------------------------------------------------------
    def describe(self):
        return []  # nothing to check against other collectors: the registry is ours alone

    def collect(self):
        yield self.requests.family()
        yield self.request_seconds.family()
        sockets = GaugeMetricFamily("meetsrv_websockets_open", "Open WebSockets, by door.", labels=["door"])
        if self.hub is not None:
            for door, count in sorted(self.hub.open_by_door.items()):
                sockets.add_metric([door], count)
        yield sockets
        yield self.chat_stored.family()
        yield self.chat_delivered.family()
        yield self.publish_seconds.family()
        reconnects = CounterMetricFamily(
            "meetsrv_bus_reconnects", "Times the Redis bus's subscriber connection came back after a loss.",
        )
        reconnects.add_metric([], getattr(self.bus, "reconnects", 0))
        yield reconnects
        yield self.db_wait_seconds.family()
        yield self.db_run_seconds.family()
        pending = GaugeMetricFamily(
            "meetsrv_delayed_events_pending", "Directory events waiting for their delayed save in this process.",
        )
        pending.add_metric([], self.delayed_events.pending() if self.delayed_events is not None else 0)
        yield pending

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition (text, or OpenMetrics when the scraper asks for it) and its content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class NoMetrics:
    """--no-metrics: the same calls, doing nothing."""

    registry = None

    def watch(self, hub=None, bus=None, delayed_events=None) -> None:
        pass

    def observe_request(self, door, route, method, status, seconds) -> None:
        pass

    def observe_transaction(self, desc, wait_seconds, run_seconds) -> None:
        pass

    def observe_publish(self, seconds) -> None:
        pass

    def chat_message_stored(self) -> None:
        pass

    def chat_messages_delivered(self, count) -> None:
        pass


class MetricsRoot(Resource):
    """The root of --metrics-port: /metrics, and 404 for any other path."""

    def __init__(self, metrics: Metrics):
        super().__init__()
        self.putChild(b"metrics", MetricsResource(metrics))

    def getChild(self, name, request):
        return _NotFound()


class _NotFound(Resource):
    isLeaf = True

    def render(self, request):
        return json_answer(request, {"detail": "Not found."}, 404)


class MetricsResource(Resource):
    """GET /metrics: the text exposition format."""

    isLeaf = True

    def __init__(self, metrics: Metrics):
        super().__init__()
        self.metrics = metrics

    def render(self, request):
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return json_answer(request, {"detail": f'Method "{request.method.decode("latin-1")}" not allowed.'}, 405)
        accept = request.getHeader(b"accept")
        body, content_type = self.metrics.render(accept.decode("latin-1") if accept else None)
        request.setHeader(b"content-type", content_type.encode("ascii"))
        return body
