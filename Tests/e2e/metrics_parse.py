"""Scrapes GET /metrics twice around some operations and parses it with prometheus_client's text parser.

Usage: metrics_parse.py BASE_URL. Exits non-zero (with the reason) unless the exposition parses, has the
documented families, and its counters moved with the operations in between.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

BASE = sys.argv[1]


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def scrape():
    status, body = call("GET", "/metrics")
    assert status == 200, status
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return families


def value(families, name, sample_name, **labels):
    family = families.get(name)
    if family is None:
        return 0.0
    return sum(s.value for s in family.samples
               if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()))


before = scrape()
_, created = call("POST", "/v1/sockets", {"family": "inet", "type": "dgram"})
sid = json.loads(created)["id"]
call("POST", f"/v1/sockets/{sid}/send", {"data": "hello", "encoding": "utf8", "to": {"host": "127.0.0.1", "port": 9}})
call("DELETE", f"/v1/sockets/{sid}")
after = scrape()

for family in ["sockpit_operations", "sockpit_bytes_sent", "sockpit_bytes_received", "sockpit_open_sockets",
               "sockpit_http_request_duration_seconds", "sockpit_database_size_bytes"]:
    assert family in after, f"family {family} missing; have {sorted(after)}"
assert after["sockpit_http_request_duration_seconds"].type == "histogram"

moved = {
    "create": value(after, "sockpit_operations", "sockpit_operations_total", op="create", outcome="ok")
    - value(before, "sockpit_operations", "sockpit_operations_total", op="create", outcome="ok"),
    "send": value(after, "sockpit_operations", "sockpit_operations_total", op="send", outcome="ok")
    - value(before, "sockpit_operations", "sockpit_operations_total", op="send", outcome="ok"),
    "close": value(after, "sockpit_operations", "sockpit_operations_total", op="close", outcome="ok")
    - value(before, "sockpit_operations", "sockpit_operations_total", op="close", outcome="ok"),
    "bytes": value(after, "sockpit_bytes_sent", "sockpit_bytes_sent_total")
    - value(before, "sockpit_bytes_sent", "sockpit_bytes_sent_total"),
}
print("counters moved:", moved)
assert moved == {"create": 1, "send": 1, "close": 1, "bytes": 5}, moved
scrapes = value(after, "sockpit_http_request_duration_seconds", "sockpit_http_request_duration_seconds_count",
                route="/metrics", method="GET", status="200")
assert scrapes >= 1, "the first scrape was not timed"
print("metrics: parsed", len(after), "families with prometheus_client")
