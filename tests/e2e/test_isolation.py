# SPDX-License-Identifier: Apache-2.0
"""Integration isolation (issue 8): a compromised integration does not reach
another's secrets. The attacker is an `exec` integration's program — code an
administrator vetted, then someone replaced — run by the real daemon for a real
alert. It tries every way the issue found open: the http integration's token
file on disk, the daemon's and the other workers' memory through
/proc/PID/mem, and ptrace. It prints what it got; the test asserts it got
nothing, from the action's recorded output."""
import json
import os
import re
import signal
import threading
import time

import pytest
import requests

from conftest import (INTEGRATION_NFT, SANITIZED, exec_integration, exec_playbook, nft_set, notify_integration,
                      ssh_alert, wait_for)

TOKEN = "tok-" + "7f3a9c" * 8
HEADER_SECRET = "hdr-" + "c0ffee" * 8

ATTACK = r'''#!/usr/bin/python3
import ctypes, os, sys
secrets = [b"@TOKEN@", b"@HEADER@"]
token_file = "@FILE@"
found, tried = [], []

def scan(data, where):
    for s in secrets:
        if s in data:
            found.append(f"{where}: {s.decode()[:4]}")

try:
    with open(token_file, "rb") as f:
        scan(f.read(), "token_file")
    tried.append("token_file: read")
except OSError as e:
    tried.append(f"token_file: {e.strerror}")

me = os.getpid()
try:
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
except OSError as e:
    # A confined worker sees no /proc: try the daemon's pid, named by the test.
    tried.append(f"proc: {e.strerror}")
    pids = [@DAEMON_PID@]
for pid in pids:
    if pid == me:
        continue
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError as e:
        cmd = b"bulwarkd" if pid == @DAEMON_PID@ else b""
        tried.append(f"cmdline {pid}: {e.strerror}")
    if b"bulwarkd" not in cmd and b"connector-worker" not in cmd:
        continue
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
        n = 0
        for line in maps:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if "rw" not in line.split()[1] or hi - lo > (64 << 20):
                continue
            try:
                mem.seek(lo)
                scan(mem.read(hi - lo), f"mem {pid}")
                n += 1
            except (OSError, OverflowError, ValueError):
                pass
        tried.append(f"mem {pid}: read {n} regions")
    except OSError as e:
        tried.append(f"mem {pid}: {e.strerror}")
    # In a child: a system-call filter kills the caller of ptrace.
    child = os.fork()
    if child == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
            os._exit(1)
        os.waitpid(pid, 0x40000000)  # __WALL: the tracee's stop
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH: let it run again
        os._exit(0)
    status = os.waitpid(child, 0)[1]
    if os.WIFSIGNALED(status):
        tried.append(f"ptrace {pid}: killed by signal {os.WTERMSIG(status)}")
    else:
        tried.append(f"ptrace {pid}: {'attached' if os.WEXITSTATUS(status) == 0 else 'refused'}")
import json, urllib.request
body = json.dumps({"found": found, "tried": tried}).encode()
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:@PORT@/report", data=body), timeout=5)
'''


def http_integration(tmp_path):
    token = tmp_path / "edr-token"
    token.write_text(TOKEN + "\n")
    os.chmod(token, 0o600)
    return token, f"""\
  - name: edr
    kind: http
    settings:
      url: http://127.0.0.1:9/isolate
      allow_http_loopback: true
      token_file: {token}
      headers: ["X-Api-Key: {HEADER_SECRET}"]
"""




@pytest.mark.skipif(SANITIZED, reason="the sanitizer run has no sandbox (--no-sandbox)")
def test_an_exec_program_cannot_read_another_integrations_secrets(make_daemon, tmp_path, receiver):
    token, edr = http_integration(tmp_path)
    prog = tmp_path / "attack"
    attack = (ATTACK.replace("@TOKEN@", TOKEN).replace("@HEADER@", HEADER_SECRET)
              .replace("@FILE@", str(token)).replace("@PORT@", str(receiver.port)))
    prog.write_text(attack.replace("@DAEMON_PID@", "0"))
    os.chmod(prog, 0o755)
    integrations = edr + exec_integration(tmp_path, "prog", prog, call_timeout_ms=20000, writable=False)
    d = make_daemon(integrations=integrations, playbooks={"prog.yaml": exec_playbook("prog")}).start()
    # Where it cannot list /proc, it tries the daemon by its pid.
    prog.write_text(attack.replace("@DAEMON_PID@", str(d.proc.pid)))
    r = d.post_alert(ssh_alert())
    assert r.status_code == 202, r.text
    d.execution_of(r.json()["id"])
    reports = [q for q in receiver.requests if q["path"] == "/report"]
    assert len(reports) == 1, f"the program did not report: {d.log.read_text()[-3000:]}"
    report = json.loads(reports[0]["body"])
    # It really tried: it saw the daemon and the http integration's worker.
    tried = " ".join(report["tried"])
    assert "token_file:" in tried and f"mem {d.proc.pid}" in tried, report
    assert report["found"] == [], f"secrets leaked to the exec program: {report}"
    assert "token_file: read" not in tried, report
    assert "attached" not in tried, report


def proc_status(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


CAP_NET_ADMIN = 1 << 12


@pytest.mark.skipif(SANITIZED, reason="the sanitizer run has no sandbox (--no-sandbox)")
def test_each_worker_runs_as_its_own_uid_with_exactly_its_kinds_capabilities(make_daemon, tmp_path, receiver):
    """Read from the kernel (/proc/PID/status), not from what the daemon says:
    the uid and gid (real, effective, saved, file system), no supplementary
    groups, the capability sets, no_new_privs, seccomp filter mode; and the
    daemon itself not dumpable."""
    token, edr = http_integration(tmp_path)
    prog = tmp_path / "noop"
    prog.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(prog, 0o755)
    integrations = (INTEGRATION_NFT + edr + exec_integration(tmp_path, "prog", prog, writable=False)
                    + notify_integration(receiver) + "    uid: 61100\n")
    d = make_daemon(integrations=integrations).start()
    status = d.get("/v1/status").json()
    procs = {p["process"]: p for p in status["processes"]}
    expected = {"fw": (60600, CAP_NET_ADMIN), "edr": (60601, 0), "prog": (60602, 0), "soc": (61100, 0)}
    assert set(procs) == {"parent", "core", "api"} | {f"worker:{n}" for n in expected}, procs
    workers = {p["integration"]: p for p in status["processes"] if p["role"] == "worker"}
    metrics = d.get("/metrics").text
    for name, (uid, caps) in expected.items():
        st = proc_status(workers[name]["pid"])
        assert st["Uid"] == [str(uid)] * 4 and st["Gid"] == [str(uid)] * 4, (name, st["Uid"], st["Gid"])
        assert st["Groups"] == [], (name, st["Groups"])
        for field in ("CapEff", "CapPrm"):
            assert int(st[field][0], 16) == caps, (name, field, st[field])
        assert int(st["CapInh"][0], 16) == 0 and int(st["CapAmb"][0], 16) == 0, name
        # The bounding set is empty: nothing it executes can gain a capability.
        assert int(st["CapBnd"][0], 16) == 0, (name, "bounding set", st["CapBnd"])
        assert st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"], (name, st["NoNewPrivs"], st["Seccomp"])
        sandbox = workers[name]["sandbox"]
        assert sandbox["confined"] and sandbox["seccomp"] and sandbox["uid"] == uid, (name, sandbox)
        assert sandbox["caps"] == ("net_admin" if caps else "none"), (name, sandbox)
        assert not sandbox["dumpable"], (name, sandbox)
        assert (f'bulwark_process_sandbox_info{{process="worker:{name}",confined="1",landlock="1",seccomp="1",'
                f'uid="{uid}",caps="{"net_admin" if caps else "none"}",dumpable="0"}} 1') in metrics, metrics
    assert procs["parent"]["pid"] == d.proc.pid and not procs["parent"]["sandbox"]["dumpable"]
    # core: root's uid (the store's files are root's) and nothing else of
    # root's: no capability, not even in its bounding set, no_new_privs,
    # seccomp (SANDBOX_SYSCALLS_CORE), a child of the parent.
    st = proc_status(procs["core"]["pid"])
    assert st["PPid"] == [str(d.proc.pid)], st["PPid"]
    assert all(int(st[f][0], 16) == 0 for f in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd")), st
    assert st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"], st
    assert procs["core"]["sandbox"]["confined"] and procs["core"]["sandbox"]["landlock"], procs["core"]
    assert ('bulwark_process_sandbox_info{process="core",confined="1",landlock="1",seccomp="1",uid="0",'
            'caps="none",dumpable="0"} 1') in metrics, metrics
    # The api process: its own uid, nothing else (BW_API_UID).
    st = proc_status(procs["api"]["pid"])
    assert st["Uid"] == ["60590"] * 4 and st["Gid"] == ["60590"] * 4 and st["Groups"] == [], st["Uid"]
    assert all(int(st[f][0], 16) == 0 for f in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd")), st
    assert st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"], st
    assert procs["api"]["sandbox"]["uid"] == 60590 and procs["api"]["sandbox"]["landlock"]
    assert ('bulwark_process_sandbox_info{process="api",confined="1",landlock="1",seccomp="1",uid="60590",'
            'caps="none",dumpable="0"} 1') in metrics, metrics
    # Not for anyone: the probe says up or down, the confinement is an admin's.
    assert "sandbox" not in d.session.get(d.url + "/readyz", timeout=5).text
    # The parent and core: no core files (not dumpable: their statuses above,
    # read by each with PR_GET_DUMPABLE).
    for pid in (d.proc.pid, procs["core"]["pid"]):
        limits = open(f"/proc/{pid}/limits").read()
        assert any(line.startswith("Max core file size") and line.split()[4:6] == ["0", "0"]
                   for line in limits.splitlines()), limits
    log = d.log.read_text()
    for name in expected:
        assert f'"event":"worker.confined","pid":{workers[name]["pid"]},"integration":"{name}"' in log
    # At a stop the api process ends by itself, within its allow-list.
    daemon_pid = d.proc.pid
    d.stop()
    log = d.log.read_text()
    assert (f'"event":"process.exited","pid":{daemon_pid},"process":"api","api_pid":{procs["api"]["pid"]},'
            '"exit_status":0') in log, log[-2000:]
    assert f'"event":"api.ended","pid":{procs["core"]["pid"]},"api_pid":{procs["api"]["pid"]},"why":"stopped"' in log
    assert f'"event":"process.exited","pid":{daemon_pid},"process":"core","core_pid":{procs["core"]["pid"]},"exit_status":0' in log


def api_pid(d):
    return next(p["pid"] for p in d.get("/v1/status").json()["processes"] if p["role"] == "api")


def test_kill_9_of_the_api_process_restarts_it_and_loses_nothing_acknowledged(make_daemon):
    """Alerts flow from four clients while the api process is killed with
    SIGKILL: the daemon logs it and starts another; every alert answered 202,
    before or after, is acted on exactly once; requests cut off by the kill get
    an error or no answer, never a false 202."""
    d = make_daemon().start()
    first = api_pid(d)
    acked, lock = {}, threading.Lock()
    stop = threading.Event()

    def client(k):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {d.token}"
        i = 0
        while not stop.is_set():
            ip = f"198.18.{k}.{i % 250 + 1}"
            i += 1
            try:
                r = s.post(d.url + "/v1/alerts", json=ssh_alert(ip), timeout=5)
            except requests.RequestException:
                continue
            if r.status_code == 202:
                with lock:
                    acked[r.json()["id"]] = ip
            if i >= 250:
                return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 40, timeout=30)
    os.kill(first, signal.SIGKILL)
    # Another api process serves (and the clients go on meanwhile).
    second = wait_for(lambda: (lambda p: p if p != first else None)(api_pid_or_none(d)), timeout=20)
    for t in threads:
        t.join(timeout=60)
    stop.set()
    assert second != first
    assert len(acked) >= 100, len(acked)
    log = d.log.read_text()
    # The parent reaped it (and says how it ended), core says why it was restarted.
    assert f'"event":"process.exited","pid":{d.proc.pid},"process":"api","api_pid":{first},"signal":9' in log, log[-3000:]
    assert f'"api_pid":{first},"why":"died"' in log, log[-3000:]
    for alert_id in acked:
        ex = d.execution_of(alert_id)
        assert [a["state"] for a in ex["actions"]] == ["applied"], ex
        assert ex["actions"][0]["attempts"] == 1, ex  # applied once
    # Read once every acknowledged alert is done.
    assert set(acked.values()) <= nft_set()
    # One execution per acknowledged alert: nothing ran twice.
    execs = d.get("/v1/executions?limit=1000").json()["executions"]
    assert len(execs) == len({e["alert_id"] for e in execs}), "an alert ran twice"


def api_pid_or_none(d):
    try:
        return api_pid(d)
    except (requests.RequestException, StopIteration, ValueError):
        return None


def core_and_children(d):
    procs = d.get("/v1/status").json()["processes"]
    return {p["process"]: p["pid"] for p in procs}


@pytest.mark.skipif(SANITIZED, reason="the sanitizer run has no sandbox (--no-sandbox)")
def test_kill_9_of_core_restarts_it_with_new_children_and_loses_nothing_acknowledged(make_daemon):
    """core killed with SIGKILL while alerts flow: the parent ends the old
    core's api process and workers (nothing of it survives to act), starts a
    new core that starts new ones, and every alert answered 202 is acted on
    exactly once."""
    d = make_daemon().start()
    before = core_and_children(d)
    assert before["parent"] == d.proc.pid
    acked, lock = {}, threading.Lock()

    def client(k):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {d.token}"
        for i in range(150):
            ip = f"198.19.{k}.{i % 250 + 1}"
            try:
                r = s.post(d.url + "/v1/alerts", json=ssh_alert(ip), timeout=5)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            if r.status_code == 202:
                with lock:
                    acked[r.json()["id"]] = ip

    threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 40, timeout=30)
    os.kill(before["core"], signal.SIGKILL)

    def restarted():
        try:
            now = core_and_children(d)
        except (requests.RequestException, ValueError, KeyError):  # 503 while core is away
            return None
        return now if now["core"] != before["core"] else None

    try:
        after = wait_for(restarted, timeout=30)
    except AssertionError:
        raise AssertionError("no new core: " + d.log.read_text()[-3000:])
    for t in threads:
        t.join(timeout=60)
    # The old core's children are gone, the new ones are the new core's peers
    # and the parent's children.
    for name in ("api", "worker:fw"):
        assert after[name] != before[name], name
        assert not os.path.exists(f"/proc/{before[name]}"), name
        assert proc_status(after[name])["PPid"] == [str(d.proc.pid)], name
    assert after["parent"] == d.proc.pid
    log = d.log.read_text()
    assert (f'"event":"process.exited","pid":{d.proc.pid},"process":"core","core_pid":{before["core"]},'
            '"signal":9') in log, log[-3000:]
    assert '"event":"core.restarting"' in log
    assert len(acked) >= 100, len(acked)
    for alert_id in acked:
        d.wait_alert_done(alert_id, timeout=60)
        ex = d.execution_of(alert_id)
        assert [a["state"] for a in ex["actions"]] == ["applied"], ex
    assert set(acked.values()) <= nft_set()
    execs = d.get("/v1/executions?limit=1000").json()["executions"]
    assert len(execs) == len({e["alert_id"] for e in execs}), "an alert ran twice"


def memory_holds(pid, needle):
    """Whether a readable mapping of pid holds needle (the test is root, with
    CAP_SYS_PTRACE: a non-dumpable process's memory is readable to it)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
            if not m:
                continue
            start, end = int(m.group(1), 16), int(m.group(2), 16)
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


@pytest.mark.skipif(SANITIZED, reason="the sanitizer run has no sandbox (--no-sandbox)")
def test_core_holds_no_integrations_secret(make_daemon, tmp_path):
    """An http integration's header secret is in the parent's memory (it sends
    the worker its INIT) and in the worker's, never in core's: core forgets it
    once forked (connector_settings_forget_secrets). The token file is read by
    the worker alone."""
    _, edr = http_integration(tmp_path)
    d = make_daemon(integrations=INTEGRATION_NFT + edr).start()
    procs = {p["process"]: p["pid"] for p in d.get("/v1/status").json()["processes"]}
    header = HEADER_SECRET.encode()
    assert memory_holds(d.proc.pid, header)  # the scan finds it where it is
    assert memory_holds(procs["worker:edr"], header)
    assert not memory_holds(procs["core"], header), "the header secret is in core's memory"
    assert not memory_holds(procs["core"], TOKEN.encode()), "the token is in core's memory"
