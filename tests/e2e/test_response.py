# SPDX-License-Identifier: Apache-2.0
"""Alert storms never become action storms, and what Bulwark did can be undone,
against the real daemon and real nftables: threshold triggers (durable windows),
folding of actions already in effect (not charged to the budget), manual rollback
of an execution restoring the set exactly, automatic rollback when verify fails,
and expiring actions reverted by the engine, across a restart too."""

import json
import subprocess
import time

from conftest import wait_for, BULWARK, INTEGRATION_NFT, PLAYBOOK_BLOCK, nft_set, ssh_alert, write_program

THRESHOLD = """\
name: brute-force
version: 1
author: alice
trigger:
  type: auth.failed
  threshold:
    count: 5
    group_by: alert.observables.ips
    window_s: 600
automation_level: 3
steps:
  - id: block
    action: nft.block
    integration: fw
    targets: alert.observables.ips
"""


def failed_login(ip):
    return {"source": "sshd", "type": "auth.failed", "severity": "medium", "observables": {"ips": [ip]}}


def post_batch(d, alerts):
    body = "\n".join(json.dumps(a) for a in alerts) + "\n"
    r = d.session.post(d.url + "/v1/alerts/batch", data=body, headers={"Content-Type": "application/x-ndjson"},
                       timeout=30)
    assert r.status_code in (200, 202), r.text
    return r.json()




def executions(d):
    return d.get("/v1/executions?limit=1000").json()["executions"]


def queue_empty(d):
    m = d.get("/metrics").text
    return "bulwark_queue_depth 0" in m and "bulwark_queue_in_flight 0" in m


def test_100_alerts_for_one_ip_with_threshold_5_block_once(make_daemon):
    d = make_daemon(playbooks={"t.yaml": THRESHOLD}).start()
    post_batch(d, [failed_login("203.0.113.60")] * 100 + [failed_login("203.0.113.61")] * 4)
    wait_for(lambda: queue_empty(d))
    ex = executions(d)
    assert len(ex) == 1, ex
    full = d.get(f"/v1/executions/{ex[0]['id']}").json()
    assert full["status"] == "succeeded" and json.loads(json.dumps(full["actions"][0]["targets"])) == [
        "203.0.113.60"]
    assert "203.0.113.60" in nft_set() and "203.0.113.61" not in nft_set()


def test_threshold_window_survives_a_restart(make_daemon):
    d = make_daemon(playbooks={"t.yaml": THRESHOLD}).start()
    post_batch(d, [failed_login("203.0.113.62")] * 3)
    wait_for(lambda: queue_empty(d))
    assert executions(d) == []
    d.stop()
    d.start()
    post_batch(d, [failed_login("203.0.113.62")] * 2)
    wait_for(lambda: "203.0.113.62" in nft_set())
    assert len(executions(d)) == 1


def test_an_action_already_in_effect_is_folded_and_not_charged(make_daemon):
    # One nft.block per minute: the second alert for the same IP must not spend
    # (nor exceed) the budget, because the IP is already blocked.
    d = make_daemon(extra="governor:\n  rate_limits:\n    nft.block:\n      per_minute: 1\n").start()
    first = d.execution_of(d.post_alert(ssh_alert("203.0.113.63")).json()["id"])
    assert first["status"] == "succeeded"
    second = d.execution_of(d.post_alert(ssh_alert("203.0.113.63")).json()["id"])
    action = second["actions"][0]
    assert action["state"] == "satisfied", second
    assert f"already in effect through action {first['actions'][0]['id']}" in action["detail"]
    assert second["status"] == "succeeded"
    assert d.get("/v1/breaker").json()["open"] is False
    # The budget is still spent by the first block only: a new IP trips it.
    third = d.execution_of(d.post_alert(ssh_alert("203.0.113.64")).json()["id"])
    assert third["actions"][0]["state"] == "recommended"
    assert d.get("/v1/breaker").json()["open"] is True


def nft(*args):
    subprocess.run(["nft", *args], check=True)


def test_manual_rollback_restores_the_set_exactly(make_daemon, tmp_path):
    d = make_daemon().start()
    nft("add", "element", "inet", "bulwark", "blocklist_v4", "{ 192.0.2.99 }")
    before = nft_set()
    ex = d.execution_of(d.post_alert(ssh_alert(["203.0.113.65", "192.0.2.99"])).json()["id"])
    assert ex["status"] == "succeeded" and "203.0.113.65" in nft_set()
    out = subprocess.run([BULWARK, "--url", d.url, "--token-file", str(d.token_file), "exec", "rollback",
                          str(ex["id"]), "--reason", "false positive: partner scanner"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["actions"] == 1
    done = wait_for(lambda: (lambda e: e if e["status"] == "rolled_back" else None)(
        d.get(f"/v1/executions/{ex['id']}").json()))
    assert done["actions"][0]["state"] == "rolled_back"
    assert "verified" in done["actions"][0]["detail"]
    assert nft_set() == before  # 192.0.2.99 was there before: it stays
    r = d.session.post(d.url + f"/v1/executions/{ex['id']}/rollback", json={"reason": "again"}, timeout=10)
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_roll_back"
    # A folded action can act again once the block it relied on is gone.
    again = d.execution_of(d.post_alert(ssh_alert("203.0.113.65")).json()["id"])
    assert again["actions"][0]["state"] == "applied" and "203.0.113.65" in nft_set()


# A reversible exec integration that manages its own nft set (inet guard
# watch): apply adds the targets, snapshot lists the set, rollback restores the
# listed elements exactly, verify answers what the test wants.
# A watch list kept by an exec integration's programs in a file: they run
# unprivileged (no CAP_NET_ADMIN), so their state lives where writable_paths
# lets them write.
WATCH_PROGRAMS = {
    "apply": """#!/usr/bin/python3
import json, sys
with open("@WATCH@") as f:
    elems = set(json.load(f))
with open("@WATCH@.new", "w") as f:
    json.dump(sorted(elems | set(sys.argv[1:])), f)
import os; os.rename("@WATCH@.new", "@WATCH@")
""",
    "snapshot": """#!/usr/bin/python3
import json
with open("@WATCH@") as f:
    print(json.dumps({"elements": sorted(json.load(f))}))
""",
    "rollback": """#!/usr/bin/python3
import json, os, sys
want = json.load(sys.stdin)["snapshot"]["elements"]
with open("@WATCH@.new", "w") as f:
    json.dump(sorted(want), f)
os.rename("@WATCH@.new", "@WATCH@")
""",
}


def guard_watch(tmp_path, elements=()):
    """The watch list, in a directory the integration's uid can replace files in."""
    state = tmp_path / "guard-state"
    state.mkdir(exist_ok=True)
    state.chmod(0o777)
    (state / "watch.json").write_text(json.dumps(sorted(elements)))


def guard_integration(tmp_path, verify_exit):
    guard_watch(tmp_path)
    paths = {}
    for name, body in WATCH_PROGRAMS.items():
        p = tmp_path / f"guard-{name}"
        p.write_text(body.replace("@WATCH@", str(tmp_path / "guard-state" / "watch.json")))
        p.chmod(0o755)
        paths[name] = p
    verify = write_program(tmp_path / "guard-verify", f"exit {verify_exit}\n")
    return INTEGRATION_NFT + f"""\
  - name: guard
    kind: exec
    settings:
      program: {paths['apply']}
      snapshot_program: {paths['snapshot']}
      rollback_program: {paths['rollback']}
      verify_program: {verify}
      writable_paths: [{tmp_path / "guard-state"}]
"""


GUARD_BOOK = """\
name: guard
version: 1
trigger:
  type: ssh.bruteforce
automation_level: 3
steps:
  - id: watch
    action: exec.run
    integration: guard
    targets: alert.observables.ips
"""


def guard_set(tmp_path):
    return set(json.loads((tmp_path / "guard-state" / "watch.json").read_text()))


def test_failing_verify_restores_the_set_exactly(make_daemon, tmp_path):
    integrations = guard_integration(tmp_path, verify_exit=1)
    guard_watch(tmp_path, ["192.0.2.98", "192.0.2.99"])
    before = guard_set(tmp_path)
    d = make_daemon(integrations=integrations, playbooks={"g.yaml": GUARD_BOOK}).start()
    t0 = time.time()
    ex = d.execution_of(d.post_alert(ssh_alert(["203.0.113.70", "203.0.113.71"])).json()["id"])
    action = ex["actions"][0]
    assert ex["status"] == "failed" and action["state"] == "failed", ex
    assert "verify failed" in action["detail"]
    assert "rolled back to the snapshot (verified)" in action["detail"]
    assert action["result"]["snapshot"] == {"elements": ["192.0.2.98", "192.0.2.99"]}
    assert guard_set(tmp_path) == before
    # The hard bound is 5 minutes; the rollback ran within the same action.
    assert time.time() - t0 < 300


def test_expiring_action_is_reverted_across_a_restart(make_daemon, tmp_path):
    integrations = guard_integration(tmp_path, verify_exit=0)
    book = GUARD_BOOK + "    duration_s: 3\n"
    d = make_daemon(integrations=integrations, playbooks={"g.yaml": book}).start()
    ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.72")).json()["id"])
    assert ex["status"] == "succeeded" and "203.0.113.72" in guard_set(tmp_path)
    d.stop()  # the action expires while the daemon is down
    time.sleep(3.5)
    assert "203.0.113.72" in guard_set(tmp_path)
    d.start()
    done = wait_for(lambda: (lambda e: e if e["status"] == "rolled_back" else None)(
        d.get(f"/v1/executions/{ex['id']}").json()))
    assert done["actions"][0]["state"] == "rolled_back"
    assert "203.0.113.72" not in guard_set(tmp_path)
    # A second one expires while the daemon runs.
    ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.73")).json()["id"])
    assert "203.0.113.73" in guard_set(tmp_path)
    wait_for(lambda: "203.0.113.73" not in guard_set(tmp_path), timeout=15)


def test_rolling_back_one_of_two_blocks_of_an_ip_keeps_the_other(make_daemon):
    # Two playbooks block the same address for the same alert, the second for
    # longer (so it does not fold into the first): both actions run in one
    # claimed batch, so they must not share one nft transaction (each snapshot
    # must see the other's block), or rolling back one would undo both.
    first = PLAYBOOK_BLOCK + "    params:\n      timeout_s: 600\n"
    second = PLAYBOOK_BLOCK.replace("name: block-ssh", "name: block-ssh-too") + "    params:\n      timeout_s: 3600\n"
    d = make_daemon(playbooks={"a.yaml": first, "b.yaml": second}).start()
    doc = d.wait_alert_done(d.post_alert(ssh_alert("203.0.113.90")).json()["id"])
    execs = [d.get(f"/v1/executions/{i}").json() for i in doc["executions"]]
    assert [e["status"] for e in execs] == ["succeeded", "succeeded"], execs
    details = sorted(e["actions"][0]["detail"] for e in execs)
    assert details[0].startswith("added 0, already present 1"), details
    assert details[1].startswith("added 1, already present 0"), details
    later = next(e for e in execs if e["actions"][0]["detail"].startswith("added 0"))
    r = d.session.post(d.url + f"/v1/executions/{later['id']}/rollback", json={"reason": "duplicate"},
                       timeout=10)
    assert r.status_code == 202, r.text
    wait_for(lambda: d.get(f"/v1/executions/{later['id']}").json()["status"] == "rolled_back")
    assert "203.0.113.90" in nft_set()


def test_a_rollback_the_governor_now_refuses_is_not_run(make_daemon):
    # Undoing a change is a change: once an address is protected, the engine
    # does not touch it, not even to revert an expired block of it.
    book = PLAYBOOK_BLOCK + "    duration_s: 2\n"
    d = make_daemon(playbooks={"b.yaml": book}).start()
    ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.95")).json()["id"])
    assert ex["status"] == "succeeded" and "203.0.113.95" in nft_set()
    d.stop()
    text = d.config.read_text().replace("integrations:\n",
                                        "governor:\n  protected:\n    ips: [203.0.113.95]\nintegrations:\n", 1)
    d.config.write_text(text)
    d.start()
    done = wait_for(lambda: (lambda a: a if a["state"] == "rollback_failed" else None)(
        d.get(f"/v1/executions/{ex['id']}").json()["actions"][0]), timeout=20)
    assert "refused by the governor" in done["detail"] and "protected" in done["detail"]
    assert "203.0.113.95" in nft_set()
