# SPDX-License-Identifier: Apache-2.0
"""The governor's first guarantees, against real nftables: blast-radius ceilings
compiled in (configuration may only lower them) and protected assets. An action
over its ceiling or naming a protected asset is refused whole, never truncated,
and the execution says why."""

from conftest import notify_integration, wait_for, PLAYBOOK_LOCK_ACCOUNTS, INTEGRATION_NFT, nft_set, ssh_alert, write_program, reversible_exec


def many_ips(n, base="10.20"):
    return [f"{base}.{i // 250}.{i % 250 + 1}" for i in range(n)]


def test_alert_naming_60_ips_blocks_none(make_daemon):
    d = make_daemon().start()
    ips = many_ips(60)
    ex = d.execution_of(d.post_alert(ssh_alert(ips)).json()["id"])
    assert ex["status"] == "denied", ex
    (action,) = ex["actions"]
    assert action["state"] == "denied"
    assert "over_ceiling: 60 addresses exceed the ceiling of 50 per nft.block action" in action["detail"]
    assert not set(ips) & nft_set()
    # 50 is within the ceiling and runs.
    ok = d.execution_of(d.post_alert(ssh_alert(many_ips(50, "10.30"))).json()["id"])
    assert ok["status"] == "succeeded"
    assert set(many_ips(50, "10.30")) <= nft_set()
    m = d.get("/metrics").text
    assert 'bulwark_actions_total{connector="nft",outcome="denied"} 1' in m
    denied = [x for x in d.log_lines() if x["event"] == "action.denied"]
    assert denied and denied[0]["action_id"] == action["id"] and "ceiling" in denied[0]["reason"]


def test_configuration_lowers_the_ceiling(make_daemon):
    d = make_daemon(extra="governor:\n  ceilings:\n    ips: 3\n").start()
    four = d.execution_of(d.post_alert(ssh_alert(many_ips(4))).json()["id"])
    assert four["status"] == "denied"
    assert "ceiling of 3" in four["actions"][0]["detail"]
    three = d.execution_of(d.post_alert(ssh_alert(many_ips(3, "10.40"))).json()["id"])
    assert three["status"] == "succeeded"
    assert not set(many_ips(4)) & nft_set()
    assert set(many_ips(3, "10.40")) <= nft_set()


def test_a_ceiling_above_the_compiled_one_is_a_startup_error(make_daemon):
    d = make_daemon(extra="governor:\n  ceilings:\n    ips: 500\n")
    d.start(wait=False)
    assert d.proc.wait(timeout=10) == 2
    d.logf.close()
    d.proc = None
    assert "governor.ceilings.ips" in d.log.read_text() and "1..50" in d.log.read_text()


def test_protected_ip_is_never_blocked(make_daemon):
    d = make_daemon(extra="governor:\n  protected:\n    ips: [192.0.2.1, 198.51.100.0/24]\n").start()
    # A network holding a protected address is refused too (within the
    # ceiling: a /27 is 32 addresses).
    for targets in (["203.0.113.50", "192.0.2.1"], ["198.51.100.77"], ["192.0.2.0/27"]):
        ex = d.execution_of(d.post_alert(ssh_alert(targets)).json()["id"])
        assert ex["status"] == "denied", ex
        assert "protected asset" in ex["actions"][0]["detail"]
    blocked = nft_set() | nft_set(name="blocknets_v4")
    assert not {"203.0.113.50", "192.0.2.1", "198.51.100.77", "192.0.2.0/27"} & blocked
    ok = d.execution_of(d.post_alert(ssh_alert("203.0.113.51")).json()["id"])
    assert ok["status"] == "succeeded" and "203.0.113.51" in nft_set()


def test_protected_account_pattern_stops_the_program(make_daemon, tmp_path):
    ran = tmp_path / "ran"
    prog = write_program(tmp_path / "disable", f'echo "$@" >> {ran}\n')
    integrations = INTEGRATION_NFT + f"""\
  - name: ad
    kind: exec
    settings:
      program: {prog}
{reversible_exec(tmp_path, "ad")}"""
    d = make_daemon(integrations=integrations, playbooks={"l.yaml": PLAYBOOK_LOCK_ACCOUNTS},
                    extra="governor:\n  protected:\n    accounts: [\"break-glass-*\", administrator]\n").start()
    alert = {"source": "idp", "type": "account.compromised", "severity": "high",
             "observables": {"accounts": ["j.doe", "Break-Glass-02"]}}
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "denied"
    assert "Break-Glass-02" in ex["actions"][0]["detail"]
    assert not ran.exists()
    alert["observables"]["accounts"] = ["j.doe"]
    ex = d.execution_of(d.post_alert(alert).json()["id"])
    assert ex["status"] == "succeeded"
    assert ran.read_text().split() == ["j.doe"]


def test_dry_run_shows_the_governors_decision(tmp_path):
    import json
    import subprocess

    from conftest import BULWARK, Daemon

    d = Daemon(tmp_path, extra="governor:\n  protected:\n    ips: [192.0.2.1]\n")
    book = d.playbook_dir / "block.yaml"

    def dry_run(ips, config=True):
        alert = tmp_path / "alert.json"
        alert.write_text(json.dumps(ssh_alert(ips)))
        args = [BULWARK, "playbook", "test", str(book), "--alert", str(alert)]
        return subprocess.run(args + (["--config", str(d.config)] if config else []),
                              capture_output=True, text=True, check=True).stdout

    out = dry_run(many_ips(60), config=False)
    assert "governor: denied: over_ceiling (60 addresses exceed the ceiling of 50 per nft.block" in out
    assert "engine: refused whole by the governor" in out
    out = dry_run(["192.0.2.1"])
    assert "governor: denied: protected_asset" in out and "refused whole" in out
    out = dry_run(["203.0.113.9"])
    assert "governor: allowed" in out and "engine: would apply" in out


def test_action_kind_ceiling_and_analysts_notified(make_daemon, receiver):
    import json

    integrations = INTEGRATION_NFT + notify_integration(receiver)
    d = make_daemon(integrations=integrations,
                    extra="governor:\n  notify: soc\n  action_ceilings:\n    nft.block:\n      ips: 2\n").start()
    ips = many_ips(3)
    ex = d.execution_of(d.post_alert(ssh_alert(ips)).json()["id"])
    assert ex["status"] == "denied"
    assert "ceiling of 2 per nft.block action" in ex["actions"][0]["detail"]
    assert not set(ips) & nft_set()
    (note,) = wait_for(lambda: receiver.requests)  # through the outbox
    body = json.loads(note["body"])
    assert body["params"]["event"] == "governor.denied"
    assert body["params"]["action_id"] == ex["actions"][0]["id"]
    assert body["targets"] == ips
    assert "ceiling of 2" in body["params"]["reason"]
    ok = d.execution_of(d.post_alert(ssh_alert(many_ips(2, "10.50"))).json()["id"])
    assert ok["status"] == "succeeded" and len(receiver.requests) == 1


def test_a_recommendation_runs_with_one_call_and_still_passes_the_governor(make_daemon):
    import subprocess

    from conftest import BULWARK, PLAYBOOK_BLOCK

    level2 = PLAYBOOK_BLOCK.replace("automation_level: 3", "automation_level: 2")
    d = make_daemon(playbooks={"b.yaml": level2}).start()
    ex = d.execution_of(d.post_alert(ssh_alert("203.0.113.80")).json()["id"])
    action = ex["actions"][0]
    assert action["state"] == "recommended" and "203.0.113.80" not in nft_set()

    env = {"BULWARK_URL": d.url, "BULWARK_TOKEN_FILE": str(d.token_file)}
    out = subprocess.run([BULWARK, "rec", "execute", str(action["id"])], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"status":"queued"' in out.stdout
    import time
    deadline = time.time() + 10
    while time.time() < deadline:
        ex = d.get(f"/v1/executions/{ex['id']}").json()
        if ex["actions"][0]["state"] == "applied":
            break
        time.sleep(0.05)
    assert ex["actions"][0]["state"] == "applied" and ex["status"] == "succeeded"
    assert "203.0.113.80" in nft_set()
    # Once run, it is no longer a recommendation; unknown ids are named.
    r = d.session.post(f"{d.url}/v1/recommendations/{action['id']}/execute", timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_recommended"
    assert d.session.post(f"{d.url}/v1/recommendations/999/execute", timeout=5).status_code == 404

    # An over-ceiling recommendation is refused at execution too: it was denied, not recommended.
    big = d.execution_of(d.post_alert(ssh_alert(many_ips(51))).json()["id"])
    assert big["actions"][0]["state"] == "denied"
    r = d.session.post(f"{d.url}/v1/recommendations/{big['actions'][0]['id']}/execute", timeout=5)
    assert r.status_code == 409


def test_dry_run_lists_the_budgets_an_action_would_be_charged_to(tmp_path):
    import json
    import subprocess

    from conftest import BULWARK, Daemon

    d = Daemon(tmp_path, extra="governor:\n  rate_limits:\n    global: {per_hour: 100}\n"
                               "    nft.block: {per_minute: 10}\n    nft.unblock: {per_minute: 5}\n")
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(ssh_alert("203.0.113.9")))
    out = subprocess.run([BULWARK, "playbook", "test", str(d.playbook_dir / "block.yaml"), "--alert", str(alert),
                          "--config", str(d.config)], capture_output=True, text=True, check=True).stdout
    assert "budgets: global 100/hour, nft.block 10/minute (charged when it runs" in out
    assert "nft.unblock" not in out


def test_live_dry_run_says_over_budget(make_daemon, tmp_path):
    import json
    import subprocess

    from conftest import BULWARK

    d = make_daemon(extra="governor:\n  rate_limits:\n    nft.block:\n      per_minute: 1\n").start()
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(ssh_alert("203.0.113.80")))
    args = [BULWARK, "--url", d.url, "--token-file", str(d.token_file), "playbook", "test",
            str(d.playbook_dir / "block.yaml"), "--alert", str(alert), "--config", str(d.config), "--live"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "nft.block 0 used of 1/minute" in out and "engine: would apply" in out
    assert d.execution_of(d.post_alert(ssh_alert("203.0.113.81")).json()["id"])["status"] == "succeeded"
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "nft.block 1 used of 1/minute" in out
    assert "governor: recommended: rate_limit (rate limit nft.block: 1 actions per minute spent" in out
    assert "engine: recorded as recommendation (over budget" in out
    # Without --live the dry run touches nothing and cannot know.
    out = subprocess.run(args[:-1], capture_output=True, text=True, check=True).stdout
    assert "rate_limit" not in out and "engine: would apply" in out
