# SPDX-License-Identifier: Apache-2.0
"""Connector workers are separate processes: a crashed one is restarted, a hung
one is killed at its timeout and its action marked failed; each holds only its
own integration's settings."""
import os
import signal
import time

from conftest import INTEGRATION_NFT, PLAYBOOK_BLOCK, exec_integration, exec_playbook, nft_set, ssh_alert, write_program


def worker_pids(d):
    workers = d.get("/v1/status").json()["checks"]["integrations"]["workers"]
    return {name: w["pid"] for name, w in workers.items()}


def test_each_integration_has_its_own_worker_process(make_daemon, tmp_path):
    prog = write_program(tmp_path / "p", "exit 0\n")
    integrations = INTEGRATION_NFT + f"""\
  - name: runner
    kind: exec
    settings:
      program: {prog}
"""
    d = make_daemon(integrations=integrations).start()
    pids = worker_pids(d)
    assert set(pids) == {"fw", "runner"}
    assert pids["fw"] != pids["runner"]
    for name, pid in pids.items():
        with open(f"/proc/{pid}/status") as f:
            ppid = int([x for x in f if x.startswith("PPid:")][0].split()[1])
        assert ppid == d.proc.pid
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[1] == b"--connector-worker"
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read()
        assert d.token.encode() not in env


def test_crashed_worker_is_restarted_and_work_continues(make_daemon):
    d = make_daemon().start()
    old = worker_pids(d)["fw"]
    os.kill(old, signal.SIGKILL)
    deadline = time.time() + 10
    alert_id = d.post_alert(ssh_alert("192.0.2.150")).json()["id"]
    ex = d.execution_of(alert_id)
    # The call that met the dead worker may fail; the worker is back for the next.
    if ex["status"] != "succeeded":
        alert_id = d.post_alert(ssh_alert("192.0.2.151")).json()["id"]
        ex = d.execution_of(alert_id)
        assert ex["status"] == "succeeded", ex
    while time.time() < deadline and worker_pids(d)["fw"] == old:
        time.sleep(0.05)
    new = worker_pids(d)["fw"]
    assert new != old
    status = d.get("/v1/status").json()["checks"]["integrations"]["workers"]["fw"]
    assert status["restarts"] >= 1 and status["up"] is True
    assert nft_set() & {"192.0.2.150", "192.0.2.151"}


def test_hung_worker_call_times_out_and_action_fails(make_daemon, tmp_path):
    prog = write_program(tmp_path / "hang", "sleep 30\n")
    integrations = INTEGRATION_NFT + exec_integration(tmp_path, "hang", prog, call_timeout_ms=1000,
                                                      settings="      timeout_ms: 60000\n")
    d = make_daemon(integrations=integrations, playbooks={"h.yaml": exec_playbook("hang")}).start()
    old = worker_pids(d)["hang"]
    ex = d.execution_of(d.post_alert(ssh_alert()).json()["id"])
    assert ex["status"] == "failed"
    action = ex["actions"][0]
    assert action["state"] == "failed"
    assert "timed out" in action["detail"].lower(), action
    deadline = time.time() + 10
    while time.time() < deadline and worker_pids(d)["hang"] == old:
        time.sleep(0.05)
    assert worker_pids(d)["hang"] != old


def test_a_reply_too_large_for_one_message_keeps_the_applied_outcome(make_daemon, tmp_path):
    # 64 KiB of control characters: six times that once escaped into JSON, more
    # than one IPC message. The program ran and exited 0: the action is applied.
    prog = write_program(tmp_path / "chatty", "head -c 65536 /dev/zero | tr '\\0' '\\001'\nexit 0\n")
    d = make_daemon(integrations=INTEGRATION_NFT + exec_integration(tmp_path, "chatty", prog),
                    playbooks={"c.yaml": exec_playbook("chatty")}).start()
    old = worker_pids(d)["chatty"]
    ex = d.execution_of(d.post_alert(ssh_alert()).json()["id"])
    action = ex["actions"][0]
    assert action["state"] == "applied" and ex["status"] == "succeeded", action
    assert "exit status 0" in action["detail"] and "reply truncated" in action["detail"], action
    assert worker_pids(d)["chatty"] == old


def executions_by_playbook(d, alert_id):
    doc = d.wait_alert_done(alert_id)
    execs = [d.get(f"/v1/executions/{e}").json() for e in doc["executions"]]
    return {ex["playbook"]: ex for ex in execs}


def test_a_crash_looping_worker_is_degraded_then_healthy_again(make_daemon, tmp_path):
    # While the file exists, the program kills its worker on every apply.
    crash = tmp_path / "crash"
    crash.write_text("")
    prog = write_program(tmp_path / "crashy", f"[ -e {crash} ] && kill -9 $PPID\nexit 0\n")
    d = make_daemon(integrations=INTEGRATION_NFT + exec_integration(tmp_path, "flaky", prog),
                    playbooks={"b.yaml": PLAYBOOK_BLOCK, "f.yaml": exec_playbook("flaky")}).start()
    ips, workers = [], {}
    for i in range(30):  # BW_WORKER_RESTARTS_PER_MIN crashes are restarted, the next one is not
        ips.append(f"198.51.100.{i + 1}")
        execs = executions_by_playbook(d, d.post_alert(ssh_alert(ips[-1])).json()["id"])
        assert execs["flaky"]["actions"][0]["state"] == "failed"
        ready, status = d.get("/readyz"), d.get("/v1/status").json()
        workers = status["checks"]["integrations"]["workers"]
        if workers["flaky"]["state"] == "degraded":
            break
        assert ready.status_code == 200 and workers["flaky"]["state"] == "healthy"
    assert workers["flaky"]["state"] == "degraded", workers
    assert ready.status_code == 503 and ready.json() == {"ready": False}
    assert status["ready"] is False and status["checks"]["integrations"]["ok"] is False
    assert workers["flaky"]["up"] is False and workers["flaky"]["backoff_ms"] >= 1000
    assert workers["fw"]["state"] == "healthy"
    # The other integration went on acting meanwhile.
    assert set(ips) <= nft_set()

    # Fixed: after its backoff, one restart; the call works and it is healthy.
    crash.unlink()
    deadline = time.time() + 30
    while True:
        execs = executions_by_playbook(d, d.post_alert(ssh_alert("198.51.100.200")).json()["id"])
        if execs["flaky"]["actions"][0]["state"] == "applied" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert execs["flaky"]["actions"][0]["state"] == "applied", execs["flaky"]
    ready = d.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert d.get("/v1/status").json()["checks"]["integrations"]["workers"]["flaky"]["state"] == "healthy"
