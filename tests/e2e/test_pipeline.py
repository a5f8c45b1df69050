# SPDX-License-Identifier: Apache-2.0
"""The alert-to-action pipeline on real parts: HTTP in, SQLite, playbooks,
connector worker processes, a real nftables set, a real HTTP receiver, a real
program."""
import json

import requests

from conftest import PLAYBOOK_LOCK_ACCOUNTS, PLAYBOOK_BLOCK, INTEGRATION_NFT, nft_set, ssh_alert, write_program, reversible_exec


def test_alert_blocks_ip_in_real_nft_set(make_daemon):
    d = make_daemon().start()
    r = d.post_alert(ssh_alert("203.0.113.7"))
    assert r.status_code == 202, r.text
    alert_id = r.json()["id"]
    ex = d.execution_of(alert_id)
    assert ex["status"] == "succeeded", ex
    assert ex["playbook"] == "block-ssh"
    (action,) = ex["actions"]
    assert action["state"] == "applied"
    assert action["targets"] == ["203.0.113.7"]
    assert action["connector"] == "nft" and action["verb"] == "block"
    assert len(action["idempotency_key"]) == 64
    assert "203.0.113.7" in nft_set()


def test_ipv6_and_cidr_are_normalised_and_blocked(make_daemon):
    d = make_daemon().start()
    # A /27 is 32 addresses: within the ceiling of 50 (a /24 is not).
    r = d.post_alert(ssh_alert(["2001:DB8:0:0::1", "198.51.100.77/27"]))
    assert r.status_code == 202, r.text
    ex = d.execution_of(r.json()["id"])
    assert ex["status"] == "succeeded", ex
    assert ex["actions"][0]["targets"] == ["2001:db8::1", "198.51.100.64/27"]
    assert "198.51.100.64/27" in nft_set(name="blocknets_v4")
    assert "2001:db8::1" in nft_set(name="blocklist_v6")


def test_below_min_severity_or_other_type_runs_nothing(make_daemon):
    d = make_daemon().start()
    low = d.post_alert(ssh_alert("192.0.2.10", severity="medium")).json()["id"]
    other = d.post_alert({"source": "ids", "type": "port.scan", "severity": "critical",
                          "observables": {"ips": ["192.0.2.11"]}}).json()["id"]
    for alert_id in (low, other):
        doc = d.wait_alert_done(alert_id)
        assert doc["executions"] == []
    assert not {"192.0.2.10", "192.0.2.11"} & nft_set()


def test_levels_1_2_4_record_but_do_not_act(make_daemon):
    books = {}
    for level in (1, 2, 4):
        books[f"l{level}.yaml"] = (PLAYBOOK_BLOCK.replace("name: block-ssh", f"name: level-{level}")
                                   .replace("automation_level: 3", f"automation_level: {level}"))
    d = make_daemon(playbooks=books).start()
    alert_id = d.post_alert(ssh_alert("192.0.2.50")).json()["id"]
    doc = d.wait_alert_done(alert_id)
    assert len(doc["executions"]) == 3
    states = {}
    for exec_id in doc["executions"]:
        ex = d.get(f"/v1/executions/{exec_id}").json()
        assert ex["status"] == ("awaiting_approval" if ex["level"] == 4 else "recorded")
        states[ex["level"]] = ex["actions"][0]["state"]
    assert states == {1: "skipped", 2: "recommended", 4: "awaiting_approval"}
    assert "192.0.2.50" not in nft_set()


def test_playbook_without_level_defaults_to_recommend(make_daemon):
    book = PLAYBOOK_BLOCK.replace("automation_level: 3\n", "")
    d = make_daemon(playbooks={"b.yaml": book}).start()
    ex = d.execution_of(d.post_alert(ssh_alert("192.0.2.51")).json()["id"])
    assert ex["level"] == 2 and ex["actions"][0]["state"] == "recommended"
    assert "192.0.2.51" not in nft_set()


def test_http_and_notify_steps_reach_a_real_receiver(make_daemon, receiver):
    url = f"http://127.0.0.1:{receiver.port}"
    integrations = INTEGRATION_NFT + f"""\
  - name: edr
    kind: http
    settings:
      url: {url}
      path: /isolate
      snapshot_url: {url}/state
      rollback_url: {url}/restore
      allow_http_loopback: true
  - name: chat
    kind: notify
    settings:
      url: {url}/hook
      allow_http_loopback: true
"""
    book = """\
name: isolate
version: 2
author: bob
trigger:
  type: malware.detected
automation_level: 3
steps:
  - id: isolate
    action: http.request
    integration: edr
    targets: alert.observables.hosts
    params:
      reason: malware
      source:
        from: alert.source
  - id: tell
    action: notify.send
    integration: chat
    params:
      text: host isolated
"""
    d = make_daemon(integrations=integrations, playbooks={"i.yaml": book}).start()
    alert = {"source": "edr-sensor", "type": "malware.detected", "severity": "critical",
             "observables": {"hosts": ["ws-042.corp.example"]}}
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "succeeded", ex
    # The snapshot GET before the change, then the change and the notification.
    assert [(r["method"], r["path"]) for r in receiver.requests][0] == ("GET", "/state")
    assert len(receiver.requests) == 3
    assert ex["actions"][0]["result"]["snapshot"] == {"state": "before"}
    paths = {r["path"]: r for r in receiver.requests}
    iso = paths["/isolate"]
    body = json.loads(iso["body"])
    assert body["targets"] == ["ws-042.corp.example"]
    assert body["target_kind"] == "host"
    assert body["params"] == {"reason": "malware", "source": "edr-sensor"}
    assert iso["headers"]["Idempotency-Key"] == ex["actions"][0]["idempotency_key"]
    hook = json.loads(paths["/hook"]["body"])
    assert hook["params"]["text"] == "host isolated"


def test_http_error_status_fails_the_action(make_daemon, receiver):
    receiver.status = 500
    integrations = INTEGRATION_NFT + f"""\
  - name: edr
    kind: http
    settings:
      url: http://127.0.0.1:{receiver.port}
      snapshot_url: http://127.0.0.1:{receiver.port}/state
      rollback_url: http://127.0.0.1:{receiver.port}/restore
      allow_http_loopback: true
"""
    book = """\
name: isolate
version: 1
trigger:
  type: malware.detected
automation_level: 3
steps:
  - id: isolate
    action: http.request
    integration: edr
    targets: alert.observables.hosts
"""
    d = make_daemon(integrations=integrations, playbooks={"i.yaml": book}).start()
    alert = {"source": "edr", "type": "malware.detected", "severity": "high",
             "observables": {"hosts": ["db-1"]}}
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "failed"
    assert ex["actions"][0]["state"] == "failed"
    assert "500" in ex["actions"][0]["detail"]



def test_exec_step_runs_a_real_program_with_argv_and_clean_env(make_daemon, tmp_path):
    out = tmp_path / "ran.txt"
    prog = write_program(tmp_path / "disable-account",
                         f'{{ printf "%s\\n" "$@"; echo "HOME=${{HOME-unset}}"; '
                         f'echo "KEY=$BULWARK_IDEMPOTENCY_KEY"; cat; }} > {out}\n')
    integrations = INTEGRATION_NFT + f"""\
  - name: ad
    kind: exec
    settings:
      program: {prog}
{reversible_exec(tmp_path, "ad")}      args: ["--disable"]
"""
    d = make_daemon(integrations=integrations, playbooks={"a.yaml": PLAYBOOK_LOCK_ACCOUNTS}).start()
    alert = {"source": "idp", "type": "account.compromised", "severity": "critical",
             "observables": {"accounts": ["j.doe@example.com", "svc_backup$"]}}
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "succeeded", ex
    lines = out.read_text().splitlines()
    assert lines[:3] == ["--disable", "j.doe@example.com", "svc_backup$"]
    assert "HOME=unset" in lines
    assert f"KEY={ex['actions'][0]['idempotency_key']}" in lines
    stdin = json.loads(lines[-1])
    assert stdin["targets"] == ["j.doe@example.com", "svc_backup$"]


def test_read_routes_and_metrics(make_daemon):
    d = make_daemon().start()
    alert_id = d.post_alert(ssh_alert("192.0.2.99")).json()["id"]
    doc = d.wait_alert_done(alert_id)
    assert doc["alert"]["observables"]["ips"] == ["192.0.2.99"]
    assert doc["alert"]["severity"] == "high"
    lst = d.get("/v1/executions?limit=10").json()["executions"]
    assert lst[0]["alert_id"] == alert_id
    assert d.get("/v1/executions/999999").status_code == 404
    assert d.get("/v1/alerts/999999").status_code == 404
    assert d.get("/v1/executions?limit=0").json()["error"]["field"] == "limit"
    m = d.get("/metrics").text
    assert "bulwark_alerts_accepted_total 1" in m
    assert 'bulwark_actions_total{connector="nft",outcome="applied"} 1' in m
    assert "bulwark_queue_depth 0" in m
    assert "bulwark_alert_to_action_seconds_count 1" in m
    h = d.get("/healthz")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    status = d.get("/v1/status").json()
    assert status["ready"] is True and status["checks"]["store"] == "writable"
    assert status["checks"]["integrations"]["workers"]["fw"]["up"] is True


def test_readiness_tells_anyone_only_up_or_down(make_daemon):
    # Unauthenticated: ready or not, and nothing about what runs (integration
    # names, kinds, worker pids, the queue's size are an admin's to read).
    d = make_daemon().start()
    anonymous = requests.get(d.url + "/readyz", timeout=5)
    assert anonymous.status_code == 200 and anonymous.json() == {"ready": True}, anonymous.text
    for word in ("fw", "nft", "pid", "capacity", "workers"):
        assert word not in anonymous.text
    assert requests.get(d.url + "/v1/status", timeout=5).status_code == 401
    status = d.get("/v1/status").json()
    assert status["checks"]["integrations"]["workers"]["fw"]["kind"] == "nft"


def test_logs_are_json_lines_with_ids(make_daemon):
    d = make_daemon().start()
    alert_id = d.post_alert(ssh_alert("192.0.2.98")).json()["id"]
    ex = d.execution_of(alert_id)
    lines = d.log_lines()
    assert all({"ts", "level", "component", "event"} <= set(line) for line in lines)
    started = [x for x in lines if x["event"] == "execution.started"]
    assert started and started[0]["alert_id"] == alert_id and started[0]["exec_id"] == ex["id"]
    applied = [x for x in lines if x["event"] == "action.applied"]
    assert applied and applied[0]["action_id"] == ex["actions"][0]["id"]
    assert d.token not in d.log.read_text()


def test_timed_block_expires_even_across_a_restart(make_daemon):
    import time

    book = PLAYBOOK_BLOCK + "    params:\n      timeout_s: 2\n"
    d = make_daemon(playbooks={"b.yaml": book}).start()
    ex = d.execution_of(d.post_alert(ssh_alert("192.0.2.77")).json()["id"])
    applied_at = time.time()
    assert ex["status"] == "succeeded" and ex["actions"][0]["params"] == {"timeout_s": 2}
    assert "192.0.2.77" in nft_set()
    d.stop()
    d.start()  # the expiry is the kernel's: it does not depend on the daemon
    while time.time() < applied_at + 2.5:
        time.sleep(0.1)
    assert "192.0.2.77" not in nft_set()
