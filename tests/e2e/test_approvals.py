# SPDX-License-Identifier: Apache-2.0
"""Approvals, against the real daemon and real nftables: level 4 always waits for
one; an approval not given in time is rejected and nothing is applied; the
requester and the playbook's author may not approve; two approvers must be two
people; an approved level 4 change leaves a review someone must acknowledge; the
approval webhook is told; level 3 sends an action it cannot roll back to approval."""

import json
import os
import secrets
import subprocess
import time

import requests

from conftest import wait_for, PLAYBOOK_LOCK_ACCOUNTS, BULWARK, INTEGRATION_NFT, PLAYBOOK_BLOCK, nft_set, notify_integration, ssh_alert, write_program

LEVEL4 = PLAYBOOK_BLOCK.replace("automation_level: 3", "automation_level: 4").replace("author: alice",
                                                                                      "author: bob")


# The roles each test actor holds: the SIEM sends alerts (and may approve, so
# that separation of duties is what stops it), people approve and run
# recommendations.
ROLES = {"siem": "[ingest, approver]", "bob": "[approver]", "alice": "[approver, analyst]",
         "carol": "[approver]", "feed": "[ingest]"}


class Actors:
    """API keys per actor: a token file each, and a session that uses it."""

    def __init__(self, tmp_path, names):
        self.tokens = {}
        self.yaml = "  actors:\n"
        for name in names:
            token = secrets.token_hex(32)
            path = tmp_path / f"{name}.token"
            path.write_text(token + "\n")
            os.chmod(path, 0o600)
            self.tokens[name] = token
            self.yaml += f"    - name: {name}\n      token_file: {path}\n      roles: {ROLES[name]}\n"

    def session(self, d, name):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.tokens[name]}"
        s.base = d.url
        return s

    def post(self, d, name, path, body=None):
        return self.session(d, name).post(d.url + path, json=body, timeout=10)




def send_as(d, actors, name, alert):
    r = actors.post(d, name, "/v1/alerts", alert)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def pending_approval(d, exec_id):
    def find():
        for a in d.get("/v1/approvals").json()["approvals"]:
            if a["exec_id"] == exec_id:
                return a
        return None
    return wait_for(find)


def test_level4_waits_and_separation_of_duties(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["siem", "bob", "alice"])
    d = make_daemon(playbooks={"b.yaml": LEVEL4}, extra=actors.yaml).start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.40")))
    assert ex["status"] == "awaiting_approval", ex
    assert ex["actions"][0]["state"] == "awaiting_approval"
    assert "203.0.113.40" not in nft_set()
    ap = pending_approval(d, ex["id"])
    assert ap["requested_by"] == "siem" and ap["author"] == "bob" and ap["state"] == "pending"
    assert "automation level 4" in ap["reasons"]
    for who in ("siem", "bob"):
        r = actors.post(d, who, f"/v1/approvals/{ap['id']}/approve", {"reason": "looks right"})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "separation_of_duties"
    assert "203.0.113.40" not in nft_set()
    assert d.get(f"/v1/approvals/{ap['id']}").json()["state"] == "pending"
    # A reason is required.
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {})
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {"reason": "confirmed with the SOC lead"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["approved_by"] == ["alice"]
    wait_for(lambda: "203.0.113.40" in nft_set())
    done = wait_for(lambda: (lambda e: e if e["status"] == "succeeded" else None)(
        d.get(f"/v1/executions/{ex['id']}").json()))
    assert done["actions"][0]["state"] == "applied"
    # Level 4: a post-action review waits for someone.
    review = wait_for(lambda: d.get(f"/v1/approvals/{ap['id']}").json()["review"])
    assert review["state"] == "pending"
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/review", {"note": "block effective, no impact"})
    assert r.status_code == 200 and r.json()["review"]["state"] == "acknowledged"
    assert r.json()["review"]["by"] == "alice"
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/review", {"note": "again"})
    assert r.status_code == 409
    assert any(x["event"] == "action.level4" for x in d.log_lines())


def test_approval_times_out_and_nothing_is_applied(make_daemon, tmp_path, receiver):
    actors = Actors(tmp_path, ["siem", "alice"])
    d = make_daemon(playbooks={"b.yaml": LEVEL4}, integrations=INTEGRATION_NFT + notify_integration(receiver),
                    extra=actors.yaml + "approvals:\n  timeout_s: 2\n  notify: soc\n").start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.41")))
    ap = pending_approval(d, ex["id"])
    assert ap["expires_at"] - ap["created_at"] == 2000
    rejected = wait_for(lambda: (lambda a: a if a["state"] == "rejected" else None)(
        d.get(f"/v1/approvals/{ap['id']}").json()), timeout=15)
    assert rejected["decided_by"] == "bulwark" and "expired" in rejected["decision_reason"]
    # The approvers are told, through the outbox.
    told = wait_for(lambda: [json.loads(r["body"])["params"] for r in receiver.requests
                             if b"approval.expired" in r["body"]])
    assert told[0]["approval_id"] == ap["id"]
    e = d.get(f"/v1/executions/{ex['id']}").json()
    assert e["status"] == "rejected" and e["actions"][0]["state"] == "rejected"
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {"reason": "too late"})
    assert r.status_code == 409
    time.sleep(1)
    assert "203.0.113.41" not in nft_set()


def test_two_approvers_and_the_webhook(make_daemon, tmp_path, receiver):
    actors = Actors(tmp_path, ["siem", "alice", "carol"])
    d = make_daemon(playbooks={"b.yaml": LEVEL4}, integrations=INTEGRATION_NFT + notify_integration(receiver),
                    extra=actors.yaml + "approvals:\n  approvers: 2\n  notify: soc\n").start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.42")))
    ap = pending_approval(d, ex["id"])
    assert ap["approvals_required"] == 2
    sent = wait_for(lambda: [json.loads(r["body"]) for r in receiver.requests
                             if b"approval.requested" in r["body"]])
    assert sent[0]["params"]["approval_id"] == ap["id"]
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {"reason": "first"})
    assert r.status_code == 200 and r.json()["state"] == "pending" and r.json()["approved_by"] == ["alice"]
    r = actors.post(d, "alice", f"/v1/approvals/{ap['id']}/approve", {"reason": "me again"})
    assert r.status_code == 403
    time.sleep(0.5)
    assert "203.0.113.42" not in nft_set()
    r = actors.post(d, "carol", f"/v1/approvals/{ap['id']}/approve", {"reason": "second"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    wait_for(lambda: "203.0.113.42" in nft_set())


def test_reject_with_the_cli(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["siem", "alice"])
    d = make_daemon(playbooks={"b.yaml": LEVEL4}, extra=actors.yaml).start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.43")))
    ap = pending_approval(d, ex["id"])
    cli = [BULWARK, "--url", d.url, "--token-file", str(tmp_path / "alice.token"), "approval"]
    out = subprocess.run(cli + ["list"], capture_output=True, text=True, check=True).stdout
    assert f"\n{ap['id']} " in "\n" + out
    out = subprocess.run(cli + ["reject", str(ap["id"]), "--reason", "false positive"], capture_output=True,
                         text=True, check=True).stdout
    assert f"approval {ap['id']}: rejected" in out
    e = d.get(f"/v1/executions/{ex['id']}").json()
    assert e["status"] == "rejected" and "false positive" in e["actions"][0]["detail"]
    assert "203.0.113.43" not in nft_set()


def test_level3_sends_an_irreversible_action_to_approval(make_daemon, tmp_path):
    ran = tmp_path / "ran"
    prog = write_program(tmp_path / "notify-team", f'echo "$@" >> {ran}\n')
    integrations = INTEGRATION_NFT + f"  - name: ad\n    kind: exec\n    settings:\n      program: {prog}\n"
    d = make_daemon(integrations=integrations, playbooks={"l.yaml": PLAYBOOK_LOCK_ACCOUNTS}).start()
    alert = {"source": "idp", "type": "account.compromised", "severity": "high",
             "observables": {"accounts": ["j.doe"]}}
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "awaiting_approval"
    ap = pending_approval(d, ex["id"])
    assert any("cannot be rolled back" in r for r in ap["reasons"])
    assert not ran.exists()


def test_a_high_risk_recommendation_still_needs_an_approval(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["siem", "alice", "carol"])
    book = (PLAYBOOK_BLOCK.replace("automation_level: 3", "automation_level: 2")
            + "    category: infrastructure_change\n")
    d = make_daemon(playbooks={"b.yaml": book}, extra=actors.yaml).start()
    ex = d.execution_of(send_as(d, actors, "siem", ssh_alert("203.0.113.44")))
    action = ex["actions"][0]
    assert action["state"] == "recommended"
    # An analyst runs the recommendation: it waits for an approval, not applied.
    r = actors.post(d, "alice", f"/v1/recommendations/{action['id']}/execute")
    assert r.status_code == 202, r.text
    ap = pending_approval(d, ex["id"])
    assert "category infrastructure_change" in ap["reasons"]
    e = d.get(f"/v1/executions/{ex['id']}").json()
    assert e["actions"][0]["state"] == "awaiting_approval"
    assert "203.0.113.44" not in nft_set()
    r = actors.post(d, "carol", f"/v1/approvals/{ap['id']}/approve", {"reason": "change window"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    wait_for(lambda: "203.0.113.44" in nft_set())


def test_an_actor_acts_only_within_its_roles(make_daemon, tmp_path):
    actors = Actors(tmp_path, ["feed", "alice"])
    d = make_daemon(playbooks={"b.yaml": LEVEL4}, extra=actors.yaml).start()
    ex = d.execution_of(send_as(d, actors, "feed", ssh_alert("203.0.113.45")))
    ap = pending_approval(d, ex["id"])
    # The ingest token reads, but may neither approve, roll back nor reset.
    for path, body in ((f"/v1/approvals/{ap['id']}/approve", {"reason": "x"}),
                       (f"/v1/executions/{ex['id']}/rollback", {"reason": "x"}),
                       ("/v1/breaker/reset", {"reason": "x"})):
        r = actors.post(d, "feed", path, body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "forbidden" and "lacks the" in r.json()["error"]["message"]
    assert actors.session(d, "feed").get(d.url + f"/v1/approvals/{ap['id']}", timeout=10).status_code == 200
    # An approver may not send alerts.
    r = actors.post(d, "alice", "/v1/alerts", ssh_alert("203.0.113.46"))
    assert r.status_code == 403
    assert d.get(f"/v1/approvals/{ap['id']}").json()["state"] == "pending"
