"""Prometheus metrics: /metrics on the main port (or on --metrics-port, or off), read as a
scraper reads them, moving with requests, chat messages, sockets, transactions and timers."""

from __future__ import annotations

import pytest
import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import task

from meetsrv.metrics import METRIC_NAMES
from tests.clients.directory import auth, create_event, member
from tests.clients.rooms import register
from tests.support.backends import REDIS
from tests.support.waiting import until


class Scrape:
    def __init__(self, text: str):
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def names(self) -> set[str]:
        return {s.name for s in self.samples} | {
            f.name + ("_total" if f.type == "counter" else "") for f in self.families.values()
        }

    def value(self, name: str, **labels) -> float:
        """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def label_values(self, name: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.samples if s.name == name and label in s.labels}


async def scrape(http, url: str) -> Scrape:
    r = await http.get(url + "/metrics")
    assert r.code == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4")
    return Scrape(r.body.decode())


@pytest_twisted.ensureDeferred
async def test_every_metric_is_listed(server, http):
    names = (await scrape(http, server.url)).names()
    missing = [n for n in METRIC_NAMES if n not in names]
    assert missing == [], names
    assert "process_resident_memory_bytes" in names  # the client's process collector, ours alone


@pytest_twisted.ensureDeferred
async def test_requests_are_counted_by_door_route_pattern_method_and_status(server, http):
    before = await scrape(http, server.url)
    requests = "meetsrv_http_requests_total"
    info = dict(door="rooms", route="/v1/info/", method="GET")
    assert before.value(requests, status="401", **info) == 0
    assert (await http.get(server.url + "/v1/info")).code == 401
    session = await register(http, server, "ann")
    assert (await http.get(server.url + "/v1/info", headers={"X-Session-Id": session})).code == 200
    # the route is the pattern, never the path: one series for every room
    for room in (12345, 67890):
        await http.get(server.url + f"/v1/rooms/{room}/messages", headers={"X-Session-Id": session})
    await http.request("BREW", server.url + "/v1/info")
    await http.get(server.url + "/no/such/path")
    assert (await http.get(server.url + "/healthz")).code == 200
    after = await scrape(http, server.url)
    assert after.value(requests, status="401", **info) == 1
    assert after.value(requests, status="200", **info) == 1
    assert after.value("meetsrv_http_request_duration_seconds_count", **info) == 2
    assert after.value("meetsrv_http_request_duration_seconds_sum", **info) > 0
    assert after.value(requests, door="rooms", route="/v1/rooms/<room_id>/messages/") == 2
    routes = after.label_values(requests, "route")
    assert not any("12345" in r or "67890" in r or "/no/such" in r for r in routes), routes
    assert after.value(requests, door="none", route="unmatched", status="404") == 1
    assert after.value(requests, door="healthz", route="/healthz", status="200") == 1
    # a method the server does not know is "other", whatever the client sent
    assert "BREW" not in after.label_values(requests, "method")
    assert after.value(requests, method="other", door="rooms") == 1
    # the scrape before this one was counted too
    assert after.value(requests, door="metrics", route="/metrics", status="200") >= 1


@pytest_twisted.ensureDeferred
async def test_chat_message_stored_delivered_and_sockets_open(server, http, ws):
    ann, ben = await register(http, server, "ann"), await register(http, server, "ben")
    ben_id = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ben})).json["id"]
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [{"id": ben_id}]},
                            headers={"X-Session-Id": ann})).json
    before = await scrape(http, server.url)
    sa = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={ann}")
    sb = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={ben}")
    opened = await scrape(http, server.url)
    assert opened.value("meetsrv_websockets_open", door="rooms") == 2
    sa.send_json({"text": "hello"})
    assert (await sb.next_json())["text"] == "hello"
    after = await scrape(http, server.url)
    assert after.value("meetsrv_chat_messages_stored_total") == before.value("meetsrv_chat_messages_stored_total") + 1
    # the rooms door does not echo to the sender: one socket received it
    assert after.value("meetsrv_chat_messages_delivered_total") == before.value("meetsrv_chat_messages_delivered_total") + 1
    publishes = "meetsrv_bus_publish_duration_seconds_count"
    assert after.value(publishes) > before.value(publishes)
    await sa.close()
    await sb.close()
    await until(lambda: not server.services.hub._open, timeout=5.0)  # the server has seen both closes
    assert (await scrape(http, server.url)).value("meetsrv_websockets_open", door="rooms") == 0


@pytest_twisted.ensureDeferred
async def test_database_transactions_are_timed_by_name(server, http):
    before = await scrape(http, server.url)
    await register(http, server, "ann")
    after = await scrape(http, server.url)
    names = after.label_values("meetsrv_db_transaction_duration_seconds_count", "transaction")
    inserted = [n for n in names
                if after.value("meetsrv_db_transaction_duration_seconds_count", transaction=n)
                > before.value("meetsrv_db_transaction_duration_seconds_count", transaction=n)]
    assert inserted, names
    assert all(after.value("meetsrv_db_pool_wait_seconds_count", transaction=n) > 0 for n in inserted)


@pytest_twisted.ensureDeferred
async def test_database_observer_gets_name_wait_and_run_time(server):
    seen = []
    server.db.add_observer(lambda desc, wait, run: seen.append((desc, wait, run)))

    def count_users(txn):
        return txn.cursor.execute("SELECT count(*) FROM users") and None

    await server.db.interact("test.count_users", count_users)
    (desc, wait, run), = seen
    assert desc == "test.count_users" and wait >= 0 and run > 0
    # a failing transaction is observed too, and still fails
    with pytest.raises(ZeroDivisionError):
        await server.db.interact("test.divide", lambda txn: 1 / 0)
    assert [d for d, _, _ in seen] == ["test.count_users", "test.divide"]


@pytest_twisted.ensureDeferred
async def test_delayed_events_pending_gauge(start_server, http, clock):
    server = await start_server(clock=clock)
    _, token = await member(http, server, "ann@example.com")
    await create_event(http, server, token, {"title": "Talk", "date": "2031-02-20"})
    assert (await scrape(http, server.url)).value("meetsrv_delayed_events_pending") == 1
    clock.advance(60)
    await server.services.event_jobs.idle()
    assert (await scrape(http, server.url)).value("meetsrv_delayed_events_pending") == 0
    r = await http.get(server.url + "/api/events/", headers=auth(token))
    assert r.json["count"] == 1


@pytest_twisted.ensureDeferred
async def test_metrics_port_serves_them_elsewhere(start_server, http):
    server = await start_server(metrics_port="tcp:0:interface=127.0.0.1")
    assert (await http.get(server.url + "/metrics")).code == 404
    other = f"http://127.0.0.1:{server.metrics_port.getHost().port}"
    assert (await http.get(server.url + "/v1/info")).code == 401
    scraped = await scrape(http, other)
    assert scraped.value("meetsrv_http_requests_total", door="rooms", route="/v1/info/", status="401") == 1
    # requests to the metrics port are not the server's requests
    assert scraped.value("meetsrv_http_requests_total", door="metrics") == 0
    assert (await http.get(other + "/v1/info")).code == 404
    await server.stop()
    assert server.metrics_port is None


@pytest_twisted.ensureDeferred
async def test_no_metrics(start_server, http):
    server = await start_server(metrics=False)
    assert server.metrics is None
    assert (await http.get(server.url + "/metrics")).code == 404
    assert (await http.get(server.url + "/v1/info")).code == 401  # the server still serves


def test_metric_options_from_command_line_and_environment():
    from meetsrv.config import ConfigError, build_settings

    assert build_settings({}, {}).metrics is True
    assert build_settings({"no-metrics": 1}, {}).metrics is False
    assert build_settings({}, {"MEETSRV_NO_METRICS": "1"}).metrics is False
    assert build_settings({"metrics-port": "tcp:9100"}, {}).metrics_port == "tcp:9100"
    assert build_settings({}, {"MEETSRV_METRICS_PORT": "tcp:9101"}).metrics_port == "tcp:9101"
    assert build_settings({}, {"MEETSRV_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="--log-format: expected json or text"):
        build_settings({"log-format": "xml"}, {})


def test_each_worker_serves_metrics_on_a_port_of_its_own():
    from meetsrv.config import Settings
    from meetsrv.service import worker_metrics_port

    def port(description, index):
        return worker_metrics_port(Settings(metrics_port=description, worker_index=index))

    assert port("tcp:9100:interface=127.0.0.1", 0) == "tcp:9100:interface=127.0.0.1"
    assert port("tcp:9100:interface=127.0.0.1", 1) == "tcp:9100:interface=127.0.0.1"
    assert port("tcp:9100:interface=127.0.0.1", 3) == "tcp:9102:interface=127.0.0.1"
    assert port("9100", 2) == "tcp:9101"
    assert port("tcp:0", 2) == "tcp:0"
    assert port("unix:/run/meetsrv-metrics.sock", 2) == "unix:/run/meetsrv-metrics.sock"


def test_two_servers_in_one_process_count_apart(make_settings):
    from meetsrv.service import MeetServer

    one, two = MeetServer(make_settings()), MeetServer(make_settings())
    one.metrics.chat_message_stored()
    assert one.metrics.registry.get_sample_value("meetsrv_chat_messages_stored_total") == 1
    assert two.metrics.registry.get_sample_value("meetsrv_chat_messages_stored_total") == 0


@pytest.mark.skipif(not REDIS, reason="needs MEETSRV_TEST_REDIS")
@pytest_twisted.ensureDeferred
async def test_redis_bus_reconnects_are_counted(server, http):
    from twisted.internet import reactor

    bus = server.bus
    assert (await scrape(http, server.url)).value("meetsrv_bus_reconnects_total") == 0
    old = bus._subscriber
    lost = old.whenDisconnected()
    old.transport.loseConnection()
    await lost
    # txredisapi reconnects by itself after about a second
    for _ in range(150):  # reconnecting is real time: poll, bounded to 15 s
        if bus.connected and bus.reconnects:
            break
        await task.deferLater(reactor, 0.1, lambda: None)
    assert (await scrape(http, server.url)).value("meetsrv_bus_reconnects_total") == 1


def test_histogram_buckets_count_values_up_to_their_bound():
    from meetsrv.metrics import Metrics

    metrics = Metrics()
    for seconds in (0.0005, 0.003, 20.0):
        metrics.observe_request("rooms", "/v1/info/", b"GET", 200, seconds)
    metrics.observe_request("rooms", "/v1/info/", b"GET", 401, 0.0001)
    value = metrics.registry.get_sample_value
    labels = {"door": "rooms", "route": "/v1/info/", "method": "GET"}
    bucket = "meetsrv_http_request_duration_seconds_bucket"
    assert [value(bucket, {**labels, "le": le}) for le in ("0.0005", "0.001", "0.0025", "0.005", "10.0", "+Inf")] == [
        2, 2, 2, 3, 3, 4]
    assert value("meetsrv_http_request_duration_seconds_count", labels) == 4
    assert value("meetsrv_http_request_duration_seconds_sum", labels) == pytest.approx(20.0036)
    assert value("meetsrv_http_requests_total", {**labels, "status": "200"}) == 3
    assert value("meetsrv_http_requests_total", {**labels, "status": "401"}) == 1
