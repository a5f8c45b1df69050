# SPDX-License-Identifier: Apache-2.0
"""End-to-end fixtures: each test gets its own network namespace (the test
process itself enters it, so the daemon it starts, the nft sets it fills and the
HTTP receivers it talks to all live there), a temporary directory with a
configuration, a token and playbooks, and a real bulwarkd."""
import ctypes
import http.server
import json
import os
import secrets
import signal
import subprocess
import threading
import time

import pytest
import requests

BUILD = os.environ.get("BULWARK_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BULWARKD = os.path.join(BUILD, "src", "cmd", "bulwarkd")
BULWARK = os.path.join(BUILD, "src", "cli", "bulwark")
SANITIZED = os.environ.get("BULWARK_SANITIZED") == "1"
# The sanitizers need /proc, ptrace (LeakSanitizer) and system calls no
# allow-list has: the sanitizer run starts the daemon without the sandbox.
SANDBOX_ARGS = ["--no-sandbox"] if SANITIZED else []
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)


@pytest.fixture
def netns():
    """A fresh network namespace, entered by this process for the test."""
    name = f"bw-e2e-{os.getpid()}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(f"/run/netns/{name}")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        if _libc.setns(home, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back failed")
        os.close(home)
        subprocess.run(["ip", "netns", "del", name], check=False)


def nft_set(family="inet", table="bulwark", name="blocklist_v4"):
    """The elements of a set in the current namespace, as a set of strings."""
    out = subprocess.run(["nft", "-j", "list", "set", family, table, name],
                         check=True, capture_output=True, text=True).stdout
    elems = set()
    for item in json.loads(out)["nftables"]:
        for e in item.get("set", {}).get("elem", []):
            if isinstance(e, str):
                elems.add(e)
            elif isinstance(e, dict) and "elem" in e:
                v = e["elem"]["val"]
                elems.add(v if isinstance(v, str) else f'{v["prefix"]["addr"]}/{v["prefix"]["len"]}')
            elif isinstance(e, dict) and "prefix" in e:
                elems.add(f'{e["prefix"]["addr"]}/{e["prefix"]["len"]}')
    return elems


PLAYBOOK_BLOCK = """\
name: block-ssh
version: 1
author: alice
trigger:
  type: ssh.bruteforce
  min_severity: high
automation_level: 3
steps:
  - id: block
    action: nft.block
    integration: fw
    targets: alert.observables.ips
"""

# Disables the alert's accounts through the exec integration "ad" (level 3).
PLAYBOOK_LOCK_ACCOUNTS = """\
name: lock-account
version: 1
trigger:
  type: account.compromised
automation_level: 3
steps:
  - id: disable
    action: exec.run
    integration: ad
    targets: alert.observables.accounts
"""

INTEGRATION_NFT = """\
  - name: fw
    kind: nft
    settings:
      table: bulwark
"""


class Daemon:
    """One bulwarkd with its own directory, configuration and token."""

    def __init__(self, tmp_path, integrations=INTEGRATION_NFT, playbooks=None, extra="", port=8080):
        self.dir = tmp_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.token = secrets.token_hex(32)
        self.token_file = tmp_path / "token"
        self.token_file.write_text(self.token + "\n")
        os.chmod(self.token_file, 0o600)
        self.playbook_dir = tmp_path / "playbooks"
        self.playbook_dir.mkdir(exist_ok=True)
        for name, text in (playbooks if playbooks is not None else {"block.yaml": PLAYBOOK_BLOCK}).items():
            (self.playbook_dir / name).write_text(text)
        self.config = tmp_path / "bulwark.yaml"
        self.config.write_text(
            f"listen: 127.0.0.1:{port}\n"
            f"data_dir: {tmp_path}/data\n"
            f"playbook_dir: {self.playbook_dir}\n"
            "api:\n"
            f"  token_file: {self.token_file}\n"
            f"{extra}"
            "integrations:\n" + integrations)
        self.log = tmp_path / "bulwarkd.log"
        self.proc = None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def start(self, wait=True):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BULWARKD, "--config", str(self.config), *SANDBOX_ARGS],
                                     stdout=self.logf, stderr=self.logf)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bulwarkd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError("bulwarkd not ready:\n" + self.log.read_text())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        if self.proc:
            self.logf.close()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.logf.close()
        self.proc = None

    # --- API helpers -------------------------------------------------------
    def post_alert(self, alert, **kw):
        body = alert if isinstance(alert, (bytes, str)) else json.dumps(alert)
        return self.session.post(self.url + "/v1/alerts", data=body,
                                 headers={"Content-Type": "application/json"}, timeout=10, **kw)

    def get(self, path, **kw):
        return self.session.get(self.url + path, timeout=10, **kw)

    def wait_alert_done(self, alert_id, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.get(f"/v1/alerts/{alert_id}")
            if r.status_code == 200 and r.json()["state"] == "done":
                return r.json()
            time.sleep(0.05)
        raise AssertionError(f"alert {alert_id} not done:\n" + self.log.read_text()[-4000:])

    def execution_of(self, alert_id):
        doc = self.wait_alert_done(alert_id)
        assert doc["executions"], f"alert {alert_id} matched no playbook"
        return self.get(f"/v1/executions/{doc['executions'][0]}").json()

    def log_lines(self):
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def open_to_workers(tmp_path):
    """Connector workers run as their own unprivileged users (issue 8): the
    test's programs must be reachable by them (o+x on every parent, as any
    program directory is) and the directory where they record what they did
    writable (sticky, like /tmp, so a program keeps trusting its neighbours'
    directory: exec refuses a program in a directory others can change)."""
    for parent in tmp_path.parents:
        if str(parent) == "/tmp":
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    os.chmod(tmp_path, 0o1777)


@pytest.fixture
def make_daemon(netns, tmp_path):
    open_to_workers(tmp_path)
    daemons = []

    def make(**kw):
        d = Daemon(tmp_path, **kw)
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        rc = d.stop()
        if SANITIZED:
            assert rc == 0, f"bulwarkd exited with {rc} under the sanitizers:\n{d.log.read_text()[-6000:]}"


def wait_for(fn, timeout=20):
    """Polls fn until it returns something true, and returns that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def write_program(path, body):
    """A real program for the exec connector: a /bin/sh script, mode 0755."""
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def reversible_exec(tmp_path, name="ad", writable=True):
    """settings lines making an exec integration reversible: a snapshot program
    printing a JSON object and a rollback program that records it was called.
    With writable, the integration's programs may write in tmp_path, where the
    tests' programs record what they did (its worker is confined, issue 8)."""
    snap = write_program(tmp_path / f"{name}-snapshot", 'echo \'{"state":"before"}\'\n')
    back = write_program(tmp_path / f"{name}-rollback", f'cat > {tmp_path}/{name}-rolled-back\n')
    paths = f"      writable_paths: [{tmp_path}]\n" if writable else ""
    return f"      snapshot_program: {snap}\n      rollback_program: {back}\n" + paths


def exec_integration(tmp_path, name, prog, call_timeout_ms=None, settings="", writable=True):
    """YAML of a reversible exec integration running prog; settings: more
    settings lines (indented six spaces); writable as reversible_exec."""
    timeout = f"    timeout_ms: {call_timeout_ms}\n" if call_timeout_ms else ""
    return (f"  - name: {name}\n    kind: exec\n{timeout}    settings:\n      program: {prog}\n"
            + settings + reversible_exec(tmp_path, name, writable))


def exec_playbook(integration):
    """A level-3 playbook running integration's program for every ssh.bruteforce alert."""
    return (f"name: {integration}\nversion: 1\ntrigger:\n  type: ssh.bruteforce\nautomation_level: 3\n"
            f"steps:\n  - id: run\n    action: exec.run\n    integration: {integration}\n")


def ssh_alert(ip="203.0.113.7", severity="high", **extra):
    a = {"source": "sshd", "type": "ssh.bruteforce", "severity": severity,
         "observables": {"ips": [ip] if isinstance(ip, str) else ip}}
    a.update(extra)
    return a


def notify_integration(receiver, name="soc", timeout_ms=None):
    """Integration YAML for a notify integration posting to a Receiver; with
    timeout_ms, the call's and the webhook's own timeout."""
    call = f"    timeout_ms: {timeout_ms}\n" if timeout_ms else ""
    own = f"      timeout_ms: {timeout_ms}\n" if timeout_ms else ""
    return f"""\
  - name: {name}
    kind: notify
{call}    settings:
      url: http://127.0.0.1:{receiver.port}/{name}
      allow_http_loopback: true
{own}"""


class Receiver:
    """A real HTTP server on loopback that records every request it answers.
    Closing `gate` makes it hang: a POST is counted in `arrived` (with the
    `epoch` of its arrival, which tests may bump) and held until the gate
    opens again."""

    def __init__(self, status=200):
        self.requests = []
        self.arrived = []
        self.epoch = 0
        self.status = status
        self.gate = threading.Event()
        self.gate.set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                epoch = outer.epoch
                outer.arrived.append({"epoch": epoch, "body": body})
                outer.gate.wait()
                outer.requests.append({"method": "POST", "path": self.path,
                                       "headers": dict(self.headers), "body": body,
                                       "status": outer.status, "epoch": epoch})
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the client gave up while the gate was closed

            do_PUT = do_POST

            def do_GET(self):
                # A snapshot_url: the state of the targets, as a JSON object.
                outer.requests.append({"method": "GET", "path": self.path,
                                       "headers": dict(self.headers), "body": b""})
                body = b'{"state":"before"}'
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(netns):
    r = Receiver()
    yield r
    r.close()
