# SPDX-License-Identifier: Apache-2.0
"""The durable queue: a full queue answers 503 and loses nothing accepted; a
full disk is told apart from a full queue; a kill -9 mid-burst loses no
acknowledged alert and applies no action twice; an action left in doubt passes
the governor again; one alert whose journal no longer matches its playbook
leaves the queue instead of blocking it; SIGTERM ends the daemon even when a
client hung up while its alert was being committed."""
import collections
import concurrent.futures
import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from conftest import INTEGRATION_NFT, PLAYBOOK_LOCK_ACCOUNTS, nft_set, ssh_alert, write_program, reversible_exec


def test_full_queue_answers_503_and_keeps_what_it_accepted(make_daemon, tmp_path):
    # One worker, held by a slow program, so the queue fills up.
    slow = write_program(tmp_path / "slow", "sleep 1\n")
    integrations = INTEGRATION_NFT + f"""\
  - name: slow
    kind: exec
    timeout_ms: 10000
    settings:
      program: {slow}
{reversible_exec(tmp_path, "slow")}      timeout_ms: 10000
"""
    book = """\
name: slow
version: 1
trigger:
  type: ssh.bruteforce
automation_level: 3
steps:
  - id: wait
    action: exec.run
    integration: slow
  - id: block
    action: nft.block
    integration: fw
    targets: alert.observables.ips
"""
    d = make_daemon(integrations=integrations, playbooks={"s.yaml": book},
                    extra="workers: 1\nqueue:\n  capacity: 3\n").start()
    accepted, refused = [], []
    for i in range(8):
        r = d.post_alert(ssh_alert(f"192.0.2.{100 + i}"))
        if r.status_code == 202:
            accepted.append((r.json()["id"], f"192.0.2.{100 + i}"))
        else:
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "1"
            assert r.json()["error"]["code"] == "queue_full"
            refused.append(i)
    assert len(accepted) >= 3 and refused, (accepted, refused)
    for alert_id, ip in accepted:
        d.wait_alert_done(alert_id, timeout=30)
    blocked = nft_set()
    assert {ip for _, ip in accepted} <= blocked
    assert 'bulwark_alerts_rejected_total{reason="queue_full"}' in d.get("/metrics").text


def test_kill_9_mid_burst_loses_nothing_and_applies_nothing_twice(make_daemon, tmp_path):
    applied = tmp_path / "applied.log"
    applied.touch()
    applied.chmod(0o666)  # its programs run as the integration's own uid
    # The apply program records each action's idempotency key; the verify program
    # tells the engine whether a key was recorded (how in-doubt actions are checked).
    apply_prog = write_program(tmp_path / "record", f'echo "$BULWARK_IDEMPOTENCY_KEY" >> {applied}\n')
    verify_prog = write_program(tmp_path / "check", f'grep -qx "$BULWARK_IDEMPOTENCY_KEY" {applied}\n')
    integrations = INTEGRATION_NFT + f"""\
  - name: journal
    kind: exec
    settings:
      program: {apply_prog}
      verify_program: {verify_prog}
{reversible_exec(tmp_path, "journal")}"""
    book = """\
name: block-and-record
version: 1
trigger:
  type: ssh.bruteforce
automation_level: 3
steps:
  - id: block
    action: nft.block
    integration: fw
    targets: alert.observables.ips
  - id: record
    action: exec.run
    integration: journal
    targets: alert.observables.ips
"""
    d = make_daemon(integrations=integrations, playbooks={"b.yaml": book}).start()
    total = 1000
    acked = {}
    lock = threading.Lock()

    def send(i):
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        try:
            r = requests.post(d.url + "/v1/alerts", json=ssh_alert(ip), timeout=10,
                              headers={"Authorization": f"Bearer {d.token}"})
        except requests.RequestException:
            return
        if r.status_code == 202:
            with lock:
                acked[r.json()["id"]] = ip

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(send, i) for i in range(1, total + 1)]
        while len(acked) < 300:
            time.sleep(0.005)
        d.kill9()
        for f in futures:
            f.result()
    assert 300 <= len(acked) < total, len(acked)

    d.start()
    # Send the rest after the restart, as a SIEM retrying would.
    for i in range(total + 1, total + 51):
        send(i)
    for alert_id in acked:
        d.wait_alert_done(alert_id, timeout=60)
    blocked = nft_set()
    missing = [ip for ip in acked.values() if ip not in blocked]
    assert not missing, f"{len(missing)} acknowledged alerts never acted on: {missing[:5]}"

    keys = applied.read_text().split()
    counts = collections.Counter(keys)
    twice = [k for k, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} actions applied twice"
    # Every acknowledged alert's record action ran exactly once.
    record_keys = set()
    for alert_id in acked:
        doc = d.get(f"/v1/alerts/{alert_id}").json()
        ex = d.get(f"/v1/executions/{doc['executions'][0]}").json()
        rec = [a for a in ex["actions"] if a["step_id"] == "record"][0]
        assert rec["state"] == "applied", rec
        record_keys.add(rec["idempotency_key"])
    assert record_keys <= set(counts)


class HeldAction:
    """An exec integration "ad" whose program records each run's idempotency key
    in `started`, then holds until the file `hold` goes (so the daemon can be
    killed while the action is in INTENT); `done` gets the key when it ends, and
    a verify program checks `done`."""

    def __init__(self, tmp_path):
        self.started, self.hold, self.done = tmp_path / "started", tmp_path / "hold", tmp_path / "done"
        self.hold.touch()
        key = '"$BULWARK_IDEMPOTENCY_KEY"'
        prog = write_program(tmp_path / "disable", f"echo {key} >> {self.started}; "
                             f"while [ -f {self.hold} ]; do sleep 0.05; done; echo {key} >> {self.done}\n")
        check = write_program(tmp_path / "check", f"[ -f {self.done} ] && grep -qx {key} {self.done}\n")
        self.integrations = INTEGRATION_NFT + f"""\
  - name: ad
    kind: exec
    timeout_ms: 60000
    settings:
      program: {prog}
      verify_program: {check}
{reversible_exec(tmp_path, "ad")}      timeout_ms: 50000
"""

    def runs(self):
        return self.started.read_text().count("\n") if self.started.exists() else 0

    def wait_runs(self, n):
        deadline = time.time() + 10
        while time.time() < deadline and self.runs() < n:
            time.sleep(0.05)
        return self.runs()


def account_alert(account):
    return {"source": "idp", "type": "account.compromised", "severity": "high",
            "observables": {"accounts": [account]}}


def test_in_doubt_action_passes_the_governor_again_after_a_restart(make_daemon, tmp_path):
    held = HeldAction(tmp_path)
    d = make_daemon(integrations=held.integrations, playbooks={"l.yaml": PLAYBOOK_LOCK_ACCOUNTS}).start()
    alert_id = d.post_alert(account_alert("j.doe")).json()["id"]
    assert held.wait_runs(1) == 1
    d.kill9()  # the action is in INTENT: in doubt
    # Meanwhile the account became protected: the restarted engine must not apply it.
    d.config.write_text(d.config.read_text() + "governor:\n  protected:\n    accounts: [j.doe]\n")
    d.start()
    action = d.execution_of(alert_id)["actions"][0]
    assert action["state"] == "denied", action
    assert "not run again" in action["detail"] and "protected" in action["detail"]
    held.hold.unlink()
    assert held.runs() == 1  # the program never ran a second time


def test_alert_whose_playbook_changed_mid_flight_leaves_the_queue_alone(make_daemon, tmp_path):
    held = HeldAction(tmp_path)
    d = make_daemon(integrations=held.integrations, playbooks={"l.yaml": PLAYBOOK_LOCK_ACCOUNTS}).start()
    stuck = d.post_alert(account_alert("j.doe")).json()["id"]
    assert held.wait_runs(1) == 1
    d.kill9()
    held.hold.unlink()
    # The playbook changes while the alert is in flight: its journal no longer matches.
    (d.playbook_dir / "l.yaml").write_text(PLAYBOOK_LOCK_ACCOUNTS + "    params:\n      reason: changed\n")
    d.start()
    assert d.wait_alert_done(stuck)["state"] == "done"
    dead = [x for x in d.log_lines() if x["event"] == "alert.dead_letter"]
    assert dead and dead[0]["alert_id"] == stuck and dead[0]["removed"] is True
    # The queue is not blocked: the next alert runs.
    d.post_alert(account_alert("a.smith"))
    assert held.wait_runs(2) == 2


@pytest.fixture
def small_disk(tmp_path):
    """A 40 MiB tmpfs of the test's own for the daemon's data_dir (unmounted at
    the end, after the daemon stopped)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(path):
    """Writes path until the file system refuses another byte."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e


def test_full_disk_is_store_unavailable_not_queue_full(small_disk, make_daemon):
    d = make_daemon()
    d.config.write_text(d.config.read_text().replace(f"data_dir: {d.dir}/data\n", f"data_dir: {small_disk}/data\n"))
    d.start()
    first = d.post_alert(ssh_alert("192.0.2.30"))
    assert first.status_code == 202, first.text
    ready = requests.get(d.url + "/readyz", timeout=5)
    assert ready.status_code == 200 and d.get("/v1/status").json()["checks"]["store"] == "writable", ready.text

    # Full but for 64 KiB: the ping's one row still fits, a 60 kB alert does not.
    filler = small_disk / "filler"
    fill(filler)
    os.truncate(filler, filler.stat().st_size - 64 * 1024)
    big = ssh_alert("192.0.2.31", raw={"blob": "A" * 60000})
    answers = [d.post_alert(big) for _ in range(20)]
    failed = [r for r in answers if r.status_code != 202]
    assert failed, "a full disk refuses alerts"
    for r in failed:
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "store_unavailable", r.text
    assert 'bulwark_alerts_rejected_total{reason="store_unavailable"}' in d.get("/metrics").text
    # Readiness says so too, although its small durable write would still fit
    # (the ping is cached for a second).
    time.sleep(1.1)
    ready = requests.get(d.url + "/readyz", timeout=5)
    assert ready.status_code == 503 and ready.json() == {"ready": False}, ready.text
    assert d.get("/v1/status").json()["checks"]["store"] == "NOT WRITABLE: the disk is full"

    # Room again: ready, and alerts are stored; what was acknowledged is there.
    filler.unlink()
    time.sleep(1.1)
    ready = requests.get(d.url + "/readyz", timeout=5)
    assert ready.status_code == 200 and d.get("/v1/status").json()["checks"]["store"] == "writable", ready.text
    again = d.post_alert(ssh_alert("192.0.2.32"))
    assert again.status_code == 202, again.text
    for r in [first, again] + [r for r in answers if r.status_code == 202]:
        assert d.get(f"/v1/alerts/{r.json()['id']}").status_code == 200
    d.wait_alert_done(again.json()["id"])
    assert d.stop() == 0


def post_and_hang_up(d, alert):
    """Sends a POST /v1/alerts and closes the connection without reading the answer."""
    body = json.dumps(alert).encode()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"POST /v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + d.token.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" +
              body)
    return s


@pytest.mark.parametrize("term_first", [False, True], ids=["commit-then-term", "term-then-commit"])
def test_shutdown_completes_after_a_client_hung_up_on_its_202(make_daemon, term_first):
    """A request waiting for its commit, whose client has gone: SIGTERM still
    ends the daemon, cleanly, and the alert is stored whole or not at all."""
    d = make_daemon().start()
    # Another process holds the store's write lock: the writer waits for it
    # (busy timeout), so the request stays suspended.
    lock = sqlite3.connect(str(d.dir / "data" / "bulwark.db"), timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    conns = [post_and_hang_up(d, ssh_alert(f"192.0.2.{40 + i}")) for i in range(3)]
    time.sleep(0.5)
    for s in conns:
        s.close()
    time.sleep(0.2)
    if term_first:
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
    lock.execute("ROLLBACK")
    lock.close()
    if not term_first:
        time.sleep(0.5)
        d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        d.proc.wait()
        raise AssertionError("bulwarkd did not exit within 20 s of SIGTERM:\n" + d.log.read_text()[-3000:])
    d.logf.close()
    d.proc = None
    assert rc == 0, d.log.read_text()[-3000:]
    # Each alert was stored whole (its commit came before the answer that
    # nobody read) or not at all; those stored are acted on after a restart.
    d.start()
    stored = [r.json() for r in (d.get(f"/v1/alerts/{i}") for i in range(1, 4)) if r.status_code == 200]
    assert all(x["alert"]["type"] == "ssh.bruteforce" for x in stored)
    for x in stored:
        d.wait_alert_done(x["id"])
    assert {x["alert"]["observables"]["ips"][0] for x in stored} <= nft_set()
