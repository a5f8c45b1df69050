# SPDX-License-Identifier: Apache-2.0
"""Hostile input: every bad input class gets a clear error naming the field and
changes nothing (no alert stored, only a log line and a counter)."""
import json
import socket

import pytest
import requests

from conftest import nft_set, ssh_alert

BAD_ALERTS = [
    # (body, status, code, field)
    (b'{"source":"x","type":"t","severity":"high"', 400, None, ""),
    # Invalid UTF-8 names the field holding it, however deep.
    (b'{"source":"s\xff","type":"t","severity":"high"}', 400, "bad_utf8", "source"),
    (b'{"source":"s","type":"t","severity":"low","labels":{"env":"pr\xc3"}}', 400, "bad_utf8", "labels.env"),
    (b'{"source":"s","type":"t","severity":"low","observables":{"accounts":["a","b","c\xed\xa0\x80"]}}',
     400, "bad_utf8", "observables.accounts[2]"),
    (b'{"source":"s","type":"t","severity":"low","raw":{"k":[1,"\x00"]}}', 400, "bad_utf8", "raw.k[1]"),
    (json.dumps({"source": "s", "type": "t", "severity": "high",
                 "raw": [[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]}), 400, "too_deep", None),
    (json.dumps({"source": "s", "type": "t", "severity": "high", "extra": 1}), 400, "unknown_field", "extra"),
    (json.dumps({"source": "s", "type": "t"}), 400, "missing", "severity"),
    (json.dumps({"source": "s", "type": "t", "severity": "urgent"}), 400, "invalid", "severity"),
    (json.dumps({"source": "s", "type": "t", "severity": 3}), 400, "invalid", "severity"),
    (json.dumps(ssh_alert(["192.0.2.1", "1.2.3.256"])), 400, "invalid", "observables.ips[1]"),
    (json.dumps(ssh_alert("10.0.0.1/33")), 400, "invalid", "observables.ips[0]"),
    (json.dumps({"source": "s", "type": "t", "severity": "low",
                 "observables": {"accounts": ["-rf"]}}), 400, "invalid", "observables.accounts[0]"),
    (json.dumps({"source": "s", "type": "t", "severity": "low",
                 "observables": {"accounts": ["a;rm -rf /"]}}), 400, "invalid", "observables.accounts[0]"),
    (json.dumps({"source": "s", "type": "t", "severity": "low",
                 "observables": {"hosts": ["a..b"]}}), 400, "invalid", "observables.hosts[0]"),
    (json.dumps(ssh_alert([f"10.0.{i // 256}.{i % 256}" for i in range(300)])), 400, "too_large",
     "observables.ips"),
    (json.dumps({"source": "s", "type": "t", "severity": "low", "labels": {"k": 5}}), 400, "invalid", "labels.k"),
    (json.dumps({"source": "s", "type": "t", "severity": "low", "observed_at": "yesterday"}), 400, "invalid",
     "observed_at"),
]


@pytest.mark.parametrize("body,status,code,field", BAD_ALERTS)
def test_bad_alert_is_rejected_naming_the_field(make_daemon, body, status, code, field):
    d = make_daemon().start()
    r = d.post_alert(body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"]
    if code:
        assert err["code"] == code, err
    if field is not None:
        assert err["field"] == field, err
    # Nothing was stored: the next accepted alert is number 1.
    ok = d.post_alert(ssh_alert("192.0.2.200"))
    assert ok.status_code == 202 and ok.json()["id"] == 1
    assert 'bulwark_alerts_rejected_total{reason="invalid"} 1' in d.get("/metrics").text or status != 400
    rejected = [x for x in d.log_lines() if x["event"] == "alert.rejected"]
    assert rejected, "a rejected alert leaves a log line"


def test_body_over_limit_is_413(make_daemon):
    d = make_daemon().start()
    big = json.dumps(ssh_alert("192.0.2.1", raw={"blob": "A" * 70000}))
    r = d.post_alert(big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"
    assert 'bulwark_alerts_rejected_total{reason="too_large"} 1' in d.get("/metrics").text


def test_missing_or_wrong_token_is_401_and_nothing_stored(make_daemon):
    d = make_daemon().start()
    r = requests.post(d.url + "/v1/alerts", json=ssh_alert(), timeout=5)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    r = requests.post(d.url + "/v1/alerts", json=ssh_alert(), timeout=5,
                      headers={"Authorization": "Bearer " + "0" * 64})
    assert r.status_code == 401
    r = requests.get(d.url + "/v1/executions", timeout=5)
    assert r.status_code == 401
    assert requests.get(d.url + "/healthz", timeout=5).status_code == 200
    assert d.post_alert(ssh_alert()).json()["id"] == 1


def test_unknown_route_and_method(make_daemon):
    d = make_daemon().start()
    assert d.get("/v1/nope").status_code == 404
    r = d.session.delete(d.url + "/v1/alerts", timeout=5)
    assert r.status_code == 405
    assert d.get("/v1/alerts/abc").status_code == 404
    assert d.get("/v1/alerts/-1").status_code == 404


def test_batch_answers_per_line(make_daemon):
    d = make_daemon().start()
    lines = [json.dumps(ssh_alert("192.0.2.61")),
             json.dumps({"source": "s", "type": "t", "severity": "bad"}),
             "",
             json.dumps(ssh_alert("192.0.2.62"))]
    r = d.session.post(d.url + "/v1/alerts/batch", data="\n".join(lines) + "\n",
                       headers={"Content-Type": "application/x-ndjson"}, timeout=10)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["accepted"] == 2 and doc["rejected"] == 1
    res = doc["results"]
    assert res[0]["line"] == 1 and "id" in res[0]
    assert res[1]["line"] == 2 and res[1]["error"]["field"] == "severity"
    assert res[2]["line"] == 4 and "id" in res[2]
    for x in (res[0], res[2]):
        d.wait_alert_done(x["id"])
    assert {"192.0.2.61", "192.0.2.62"} <= nft_set()


def test_batch_line_with_invalid_utf8_names_its_field(make_daemon):
    d = make_daemon().start()
    body = json.dumps(ssh_alert("192.0.2.63")).encode() + b"\n" + \
        b'{"source":"s","type":"t\xff","severity":"low"}\n'
    r = d.session.post(d.url + "/v1/alerts/batch", data=body, timeout=10)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["accepted"] == 1 and doc["rejected"] == 1
    err = doc["results"][1]["error"]
    assert err["code"] == "bad_utf8" and err["field"] == "type", err


def test_batch_over_1000_alerts_is_refused_whole(make_daemon):
    d = make_daemon().start()
    body = "\n".join(json.dumps(ssh_alert(f"10.9.{i // 256}.{i % 256}")) for i in range(1001))
    r = d.session.post(d.url + "/v1/alerts/batch", data=body, timeout=10)
    assert r.status_code == 413
    assert d.post_alert(ssh_alert()).json()["id"] == 1


def raw_request(d, request_line, body=b""):
    """Sends request_line (bytes, sent as is) over a plain socket and returns
    (status, body) of the answer."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + d.token.encode() +
                  b"\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


# Request targets whose raw or decoded form holds a NUL or a control byte: each
# would otherwise reach the router cut short or altered ("/v1/alerts/1%00/x"
# was served as alert 1).
CONTROL_TARGETS = [
    (b"/v1/alerts/1%00/x", "path"), (b"/v1/alerts/1\x00/x", "path"), (b"/v1/alerts/1%00", "path"),
    (b"/v1/alerts/1%0a", "path"), (b"/v1/alerts/1%0D", "path"), (b"/v1/alerts/1%1f/x", "path"),
    (b"/v1/alerts/1%7F", "path"), (b"/v1/alerts/1\x01", "path"), (b"/v1/alerts/1\x7f", "path"),
    (b"/v1/alerts/1\t", "path"), (b"/v1/executions?limit=1%00", "query"),
    (b"/v1/executions?limit=1\x00x", "query"), (b"/v1/approvals?state=all%0a", "query"),
]


def test_control_bytes_in_the_request_target_are_400_naming_it(make_daemon):
    d = make_daemon().start()
    assert d.post_alert(ssh_alert()).status_code == 202
    for target, field in CONTROL_TARGETS:
        status, body = raw_request(d, b"GET " + target + b" HTTP/1.1")
        assert status == 400, (target, status, body)
        err = json.loads(body)["error"]
        assert err["code"] == "invalid" and err["field"] == field, (target, err)
    # Well-formed escapes still decode: %31 is "1", and the route answers.
    status, body = raw_request(d, b"GET /v1/alerts/%31 HTTP/1.1")
    assert status == 200 and json.loads(body)["id"] == 1, body
    status, _ = raw_request(d, b"GET /v1/alerts/1%2f HTTP/1.1")
    assert status == 404
    # A POST with such a target stores nothing.
    status, _ = raw_request(d, b"POST /v1/alerts%00 HTTP/1.1", json.dumps(ssh_alert()).encode())
    assert status == 400
    assert d.post_alert(ssh_alert("192.0.2.9")).json()["id"] == 2
