# SPDX-License-Identifier: Apache-2.0
"""The durable queue: a full queue answers 503 and loses nothing accepted; a
kill -9 mid-burst loses no acknowledged alert and applies no action twice."""
import collections
import concurrent.futures
import threading
import time

import requests

from conftest import INTEGRATION_NFT, nft_set, ssh_alert, write_program



def test_full_queue_answers_503_and_keeps_what_it_accepted(make_daemon, tmp_path):
    # One worker, held by a slow program, so the queue fills up.
    slow = write_program(tmp_path / "slow", "sleep 1\n")
    integrations = INTEGRATION_NFT + f"""\
  - name: slow
    kind: exec
    timeout_ms: 10000
    settings:
      program: {slow}
      timeout_ms: 10000
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
"""
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
