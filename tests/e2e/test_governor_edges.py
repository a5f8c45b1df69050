# SPDX-License-Identifier: Apache-2.0
"""Issue 7: the governor's promises at their edges, against the real daemon, real
nftables and real programs. Each test is one defect the landed governor let
through (networks that beat the ceiling, v4-mapped prefixes, a set-up that
locks itself out, untyped and alternative spellings of targets, approvals that
outlive their expiry or are given by whoever caused the run, a repeated alert
that spends the budget, a crash that loses the snapshot)."""

import json
import os
import signal
import subprocess
import time

import requests

from conftest import (BULWARK, BULWARKD, INTEGRATION_NFT, SANDBOX_ARGS, PLAYBOOK_BLOCK, PLAYBOOK_LOCK_ACCOUNTS, nft_set,
                      reversible_exec, ssh_alert, wait_for, write_program)
from test_approvals import Actors, pending_approval, send_as


def exec_integration(tmp_path, name="ad", program=None, extra=""):
    """A reversible exec integration whose program logs every target it gets."""
    log = tmp_path / f"{name}.calls"
    prog = program or write_program(tmp_path / f"{name}-run", f'echo "$@" >> {log}\n')
    return (f"  - name: {name}\n    kind: exec\n    settings:\n      program: {prog}\n"
            + reversible_exec(tmp_path, name) + extra), log


def calls(log):
    return log.read_text().split() if log.exists() else []


FIREWALL_PROGRAM = """\
name: block-by-program
version: 1
trigger:
  type: ssh.bruteforce
automation_level: 3
steps:
  - id: block
    action: exec.run
    integration: ad
    targets: alert.observables.ips
"""


def test_wide_networks_are_over_the_ceiling_through_every_connector(make_daemon, tmp_path):
    integ, log = exec_integration(tmp_path)
    d = make_daemon(integrations=integ, playbooks={"b.yaml": FIREWALL_PROGRAM}).start()
    # 0.0.0.0/0, ::/0, a /26 (64 addresses), and 22 prefixes covering IPv4.
    for targets in (["0.0.0.0/0"], ["::/0"], ["198.51.100.0/26"], [f"{n}.0.0.0/8" for n in range(11, 33)]):
        ex = d.execution_of(d.post_alert(ssh_alert(targets)).json()["id"])
        assert ex["status"] == "denied", ex
        assert "over_ceiling" in ex["actions"][0]["detail"] and "addresses exceed" in ex["actions"][0]["detail"]
    assert calls(log) == []
    # A /27 is 32 addresses: within the ceiling, and the program gets it.
    ex = d.execution_of(d.post_alert(ssh_alert("198.51.100.0/27")).json()["id"])
    assert ex["status"] == "succeeded", ex
    assert calls(log) == ["198.51.100.0/27"]


def test_v4_mapped_prefixes_do_not_escape_a_protected_network(make_daemon, tmp_path):
    d = make_daemon(extra="governor:\n  protected:\n    ips: [10.0.0.0/8]\n").start()
    for target in ("::ffff:10.0.0.0/95", "::ffff:10.1.2.3", "::/80"):
        ex = d.execution_of(d.post_alert(ssh_alert(target)).json()["id"])
        assert ex["status"] == "denied", (target, ex)
    assert not nft_set() and not nft_set(name="blocklist_v6") and not nft_set(name="blocknets_v6")


def test_loopback_in_any_spelling_is_never_blocked(make_daemon):
    # Nothing configured: the built-in never-touch set holds.
    d = make_daemon().start()
    for target in ("::ffff:127.0.0.1", "127.0.0.1", "::1", "169.254.10.10", "224.0.0.1"):
        ex = d.execution_of(d.post_alert(ssh_alert(target)).json()["id"])
        assert ex["status"] == "denied", (target, ex)
        assert "protected_asset" in ex["actions"][0]["detail"]
    assert not nft_set() and not nft_set(name="blocklist_v6")
    assert d.get("/healthz").status_code == 200


def test_the_init_setup_opens_the_breaker_before_a_storm_blocks_thousands(netns, tmp_path):
    setup = tmp_path / "setup"
    subprocess.run([BULWARK, "init", str(setup)], check=True, capture_output=True)
    log = open(tmp_path / "bulwarkd.log", "ab")
    proc = subprocess.Popen([BULWARKD, "--config", str(setup / "bulwark.yaml"), *SANDBOX_ARGS], stdout=log, stderr=log)
    try:
        token = (setup / "token").read_text().strip()
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        wait_for(lambda: _ready(s))
        # 100 alerts of 50 addresses each: 5,000 addresses.
        body = "\n".join(json.dumps(ssh_alert([f"198.{18 + i // 50}.{i % 50}.{j + 1}" for j in range(50)]))
                         for i in range(100)) + "\n"
        r = s.post("http://127.0.0.1:8080/v1/alerts/batch", data=body,
                   headers={"Content-Type": "application/x-ndjson"}, timeout=30)
        assert r.status_code == 200, r.text
        wait_for(lambda: s.get("http://127.0.0.1:8080/v1/breaker", timeout=5).json()["open"], timeout=30)
        time.sleep(1)
        # nft.block 20 per minute: at most 20 actions of 50 addresses ran.
        assert len(nft_set()) <= 20 * 50
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def _ready(s):
    try:
        return s.get("http://127.0.0.1:8080/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


LABEL_TARGETS = FIREWALL_PROGRAM.replace("name: block-by-program", "name: block-label").replace(
    "alert.observables.ips", "{from: alert.labels.src, as: ip}")


def test_label_targets_are_typed_and_judged(make_daemon, tmp_path):
    integ, log = exec_integration(tmp_path)
    # Untyped: the daemon refuses the playbook at start-up, naming its line.
    untyped = LABEL_TARGETS.replace("{from: alert.labels.src, as: ip}", "alert.labels.src")
    d = make_daemon(integrations=integ, playbooks={"b.yaml": untyped})
    r = subprocess.run([BULWARKD, "--config", str(d.config), "--check"], capture_output=True, text=True)
    assert r.returncode == 2 and "b.yaml:10:" in r.stderr and "yields strings: declare" in r.stderr, r.stderr
    d = make_daemon(integrations=integ, playbooks={"b.yaml": LABEL_TARGETS},
                    extra="governor:\n  protected:\n    ips: [10.0.0.0/8]\n").start()
    for src in ("0.0.0.0/0", "10.1.2.3", "not-an-address"):
        ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.1", labels={"src": src})).json()["id"])
        assert ex["status"] == "denied", (src, ex)
    assert calls(log) == []
    ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.1", labels={"src": "2001:DB8::7"})).json()["id"])
    assert ex["status"] == "succeeded", ex
    assert calls(log) == ["2001:db8::7"]  # normalised like an observable


def test_protected_accounts_and_hosts_match_every_spelling(make_daemon, tmp_path):
    integ, log = exec_integration(tmp_path)
    hosts = PLAYBOOK_LOCK_ACCOUNTS.replace("alert.observables.accounts", "alert.observables.hosts").replace(
        "name: lock-account", "name: isolate-host")
    d = make_daemon(integrations=integ, playbooks={"a.yaml": PLAYBOOK_LOCK_ACCOUNTS, "h.yaml": hosts},
                    extra="governor:\n  protected:\n    ips: [10.0.0.0/8]\n"
                          "    accounts: [administrator]\n    hosts: [dc01, fs01.corp.example]\n").start()

    def run(accounts=(), hosts=()):
        a = {"source": "edr", "type": "account.compromised", "severity": "high",
             "observables": {"accounts": list(accounts), "hosts": list(hosts)}}
        doc = d.wait_alert_done(d.post_alert(a).json()["id"])
        return [d.get(f"/v1/executions/{i}").json() for i in doc["executions"]]

    for name in ("administrator@corp.example", "CORP\\administrator", "Administrator"):
        (ex, _) = run(accounts=[name], hosts=["web1"])
        assert ex["status"] == "denied", (name, ex)
    for host in ("dc01.corp.example", "fs01", "10.0.0.1"):
        (_, ex) = run(accounts=["alice"], hosts=[host])
        assert ex["status"] == "denied", (host, ex)
    assert "administrator" not in " ".join(calls(log)).lower()
    assert not {"dc01.corp.example", "fs01", "10.0.0.1"} & set(calls(log))


def test_an_approval_is_refused_after_its_expiry_whatever_the_sweeper_did(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["siem", "bob"])
    level4 = PLAYBOOK_BLOCK.replace("automation_level: 3", "automation_level: 4")
    d = make_daemon(playbooks={"b.yaml": level4}, extra=actors.yaml + "approvals:\n  timeout_s: 1\n").start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.30")))
    ap = pending_approval(d, ex["id"])
    time.sleep(1.2)
    r = actors.post(d, "bob", f"/v1/approvals/{ap['id']}/approve", {"reason": "late"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "expired", r.text
    time.sleep(1)
    assert d.get(f"/v1/approvals/{ap['id']}").json()["state"] == "rejected"
    assert "203.0.113.30" not in nft_set()


def test_the_analyst_who_ran_a_recommendation_may_not_approve_it(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["siem", "alice", "carol"])
    book = (PLAYBOOK_BLOCK.replace("automation_level: 3", "automation_level: 2")
            + "    category: infrastructure_change\n")
    d = make_daemon(playbooks={"b.yaml": book}, extra=actors.yaml).start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.31")))
    r = actors.post(d, "alice", f"/v1/recommendations/{ex['actions'][0]['id']}/execute")
    assert r.status_code == 202, r.text
    ap = pending_approval(d, ex["id"])
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {"reason": "I ran it"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "separation_of_duties", r.text
    assert d.get(f"/v1/approvals/{ap['id']}").json()["requesters"] == ["siem", "alice"]
    assert "203.0.113.31" not in nft_set()
    r = actors.post(d, "carol", f"/v1/approvals/{ap['id']}/approve", {"reason": "second pair of eyes"})
    assert r.status_code == 200, r.text
    wait_for(lambda: "203.0.113.31" in nft_set())


def test_one_address_in_a_batch_is_applied_once_and_charged_once(make_daemon):
    d = make_daemon(extra="governor:\n  rate_limits:\n    nft.block: {per_minute: 5}\n").start()
    body = "\n".join(json.dumps(ssh_alert("203.0.113.32")) for _ in range(60)) + "\n"
    r = d.session.post(d.url + "/v1/alerts/batch", data=body, headers={"Content-Type": "application/x-ndjson"},
                       timeout=30)
    assert r.status_code == 200, r.text
    ids = [a["id"] for a in r.json()["results"]]
    states = [d.execution_of(i)["actions"][0]["state"] for i in ids]
    assert states.count("applied") == 1, states
    assert states.count("satisfied") == 59, states
    assert not d.get("/v1/breaker").json()["open"]
    used = {(b["key"], b["window"]): b["used"] for b in d.get("/v1/budgets").json()["budgets"]}
    assert used[("nft.block", "minute")] == 1
    assert "203.0.113.32" in nft_set()


def test_a_block_applied_just_before_a_crash_can_still_be_rolled_back(make_daemon, tmp_path):
    # The program applies (writes its mark), then hangs: the daemon is killed
    # while the action is in INTENT, after the apply.
    mark = tmp_path / "applied"
    prog = write_program(tmp_path / "slow-run", f'echo "$@" > {mark}\nsleep 30\n')
    verify = write_program(tmp_path / "verify", f'test -s {mark}\n')
    integ, _ = exec_integration(tmp_path, program=prog, extra=f"      verify_program: {verify}\n")
    book = FIREWALL_PROGRAM
    d = make_daemon(integrations=integ, playbooks={"b.yaml": book}).start()
    alert_id = d.post_alert(ssh_alert("203.0.113.33")).json()["id"]
    wait_for(lambda: mark.exists() and mark.read_text().strip())
    d.kill9()
    d.start()
    doc = d.wait_alert_done(alert_id, timeout=60)
    ex = d.get(f"/v1/executions/{doc['executions'][0]}").json()
    action = ex["actions"][0]
    assert action["state"] == "applied" and "restart" in action["detail"], action
    assert action["result"]["snapshot"] == {"state": "before"}, action
    r = d.session.post(d.url + f"/v1/executions/{ex['id']}/rollback", json={"reason": "false positive"},
                       timeout=10)
    assert r.status_code == 202, r.text
    wait_for(lambda: d.get(f"/v1/executions/{ex['id']}").json()["status"] == "rolled_back", timeout=30)
    assert (tmp_path / "ad-rolled-back").exists()


# What `bulwark playbook test --live` says the engine will do, as the state the
# engine then records.
DRY_RUN_STATES = {"would apply": "applied", "refused whole by the governor": "denied",
                  "recorded as recommendation": "recommended", "awaits approval": "awaiting_approval",
                  "skipped": "skipped", "already in effect": "satisfied"}


def test_the_dry_run_and_the_live_run_agree_on_every_action(make_daemon, tmp_path):
    integ, _ = exec_integration(tmp_path)
    level2 = PLAYBOOK_BLOCK.replace("name: block-ssh", "name: recommend").replace("automation_level: 3",
                                                                                   "automation_level: 2")
    level4 = PLAYBOOK_BLOCK.replace("name: block-ssh", "name: approve").replace("automation_level: 3",
                                                                                 "automation_level: 4")
    books = {"a.yaml": PLAYBOOK_BLOCK, "b.yaml": level2, "c.yaml": level4, "d.yaml": LABEL_TARGETS}
    d = make_daemon(integrations=INTEGRATION_NFT + integ, playbooks=books,
                    extra="governor:\n  protected:\n    ips: [192.0.2.0/24]\n    hosts: [dc01]\n"
                          "  rate_limits:\n    nft.block: {per_minute: 3}\n").start()
    alerts = [ssh_alert(ips, labels={"src": src}) for ips, src in (
        ("203.0.113.60", "203.0.113.160"), ("192.0.2.7", "192.0.2.8"), ("198.51.100.0/26", "0.0.0.0/0"),
        ("::ffff:127.0.0.1", "10.0.0.1"), ("203.0.113.61/30", "2001:db8::61"), ("203.0.113.62", "203.0.113.162"),
        ("10.0.0.0/8", "203.0.113.170"), ("203.0.113.63", "nonsense"))]
    compared = 0
    for i, alert in enumerate(alerts):
        path = tmp_path / f"alert{i}.json"
        path.write_text(json.dumps(alert))
        expected = {}
        for name in sorted(books):
            out = subprocess.run([BULWARK, "--url", d.url, "--token-file", str(d.token_file), "playbook", "test",
                                  str(d.playbook_dir / name), "--alert", str(path), "--config", str(d.config),
                                  "--live"], capture_output=True, text=True, check=True).stdout
            engine = [line.split("engine: ", 1)[1] for line in out.splitlines() if "  engine: " in line]
            assert len(engine) == 1, out
            said = next(v for k, v in DRY_RUN_STATES.items() if engine[0].startswith(k))
            playbook = next(line.split()[1] for line in out.splitlines() if line.startswith("playbook: "))
            expected[playbook] = said
        doc = d.wait_alert_done(d.post_alert(alert).json()["id"])
        got = {e["playbook"]: e["actions"][0]["state"]
               for e in (d.get(f"/v1/executions/{x}").json() for x in doc["executions"])}
        assert got == expected, (alert, expected, got)
        compared += len(got)
    assert compared == len(alerts) * len(books)
    # The budget ran out along the way: both said so.
    assert d.get("/v1/breaker").json()["open"]


def test_a_later_verb_on_a_target_supersedes_folding_within_a_batch(make_daemon):
    # block, unblock, block of one address for one alert: the second block
    # must run (the unblock undid the first), not fold into the first.
    unblock = PLAYBOOK_BLOCK.replace("name: block-ssh", "name: b-unblock").replace("nft.block", "nft.unblock")
    again = PLAYBOOK_BLOCK.replace("name: block-ssh", "name: c-block-again")
    d = make_daemon(playbooks={"a.yaml": PLAYBOOK_BLOCK, "b.yaml": unblock, "c.yaml": again}).start()
    doc = d.wait_alert_done(d.post_alert(ssh_alert("203.0.113.34")).json()["id"])
    got = {e["playbook"]: e["actions"][0]["state"]
           for e in (d.get(f"/v1/executions/{x}").json() for x in doc["executions"])}
    assert got == {"block-ssh": "applied", "b-unblock": "applied", "c-block-again": "applied"}, got
    assert "203.0.113.34" in nft_set()
