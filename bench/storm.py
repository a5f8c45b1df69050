#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The storm benchmark (issue 3), run as root inside a network namespace of its
own (bench/run.sh runs it under `ip netns exec`): a real bulwarkd with every
guard on takes a brute-force storm of failed-login alerts from many addresses
(20 each, in bursts of 5) through POST /v1/alerts/batch; a threshold-5 playbook
at level 3 blocks each address into a real nftables set. Measures the time from
the first alert until every address is in the set, until the last batch was
acknowledged and until the queue is drained, the CPU seconds of bulwarkd and its
connector workers and their peak RSS; then checks that exactly the storm's
addresses are blocked, one succeeded execution each, and the breaker is closed.

Human table on stderr; with --json, one JSON object on stdout (with "error" and
exit status 1 when a check or the run fails)."""
import argparse
import collections
import ipaddress
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time

import requests

THRESHOLD = 5
# Bursts as long as the threshold: an address's first burst fires its playbook.
BURST = THRESHOLD
NETWORK = ipaddress.ip_network("10.1.0.0/16")
# Neither is hit by the storm: the protected-asset check runs on every action.
PROTECTED = ("192.0.2.0/24", "10.255.0.0/16")
QUEUE_CAPACITY_MIN = 200000
RATE_LIMIT_MIN = 10000
POLL_S = 0.02
TIMEOUT_S = 300
SENDERS = 4
# The order of addresses within each round of bursts is shuffled with a fixed
# seed, so every run sends the same stream.
SEED = 3
FAMILY, TABLE, SET_V4 = "inet", "bulwark", "blocklist_v4"
JSON_KEYS = ("alerts", "ips", "seconds_to_all_blocked", "seconds_to_accepted", "seconds_to_drained", "cpu_seconds",
             "peak_rss_mib", "executions")

PLAYBOOK = f"""\
name: brute-force
version: 1
author: bench
trigger:
  type: auth.failed
  threshold: {{count: {THRESHOLD}, group_by: alert.observables.ips, window_s: 600}}
automation_level: 3
steps:
  - id: block
    action: nft.block
    integration: fw
    targets: alert.observables.ips
"""


class StormError(Exception):
    pass


def parse_args():
    p = argparse.ArgumentParser(description="bulwarkd storm benchmark (run as root in a network namespace)")
    p.add_argument("--bulwarkd", required=True, help="path of the bulwarkd binary")
    p.add_argument("--workdir", required=True, help="empty or new directory for the configuration and store")
    p.add_argument("--alerts", type=int, default=100000)
    p.add_argument("--ips", type=int, default=5000)
    p.add_argument("--batch", type=int, default=1000, help="alerts per POST (1..1000)")
    p.add_argument("--port", type=int, default=8080, help="loopback port of bulwarkd in the namespace")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = p.parse_args()
    if a.ips < 1 or a.ips > NETWORK.num_addresses - 2:
        p.error(f"--ips must be 1..{NETWORK.num_addresses - 2}")
    if a.alerts % a.ips or a.alerts // a.ips < THRESHOLD:
        p.error(f"--alerts must be a multiple of --ips, at least {THRESHOLD} per address")
    if not 1 <= a.batch <= 1000:
        p.error("--batch must be 1..1000 (the batch endpoint's limit)")
    return a


def netns_name():
    """The name of this process's network namespace if it is one that `ip netns
    add` created (a bind mount under /run/netns), else None: the run deletes
    and fills an nftables table, which must never be the host's. (/proc/1/ns is
    not readable without CAP_SYS_PTRACE, so the host's is not compared.)"""
    own = os.stat("/proc/self/ns/net")
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return None
    for name in names:
        st = os.stat(os.path.join("/run/netns", name))
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return name
    return None


def storm_addresses(n):
    hosts = NETWORK.hosts()
    return [str(next(hosts)) for _ in range(n)]


def storm_bodies(ips, per_ip, batch):
    """NDJSON bodies: rounds of one burst per address, each round in a new
    (seeded) order, so every address reaches the threshold in the first round."""
    rng = random.Random(SEED)
    lines = []
    for start in range(0, per_ip, BURST):
        order = list(ips)
        rng.shuffle(order)
        n = min(BURST, per_ip - start)
        for ip in order:
            line = json.dumps({"source": "sshd", "type": "auth.failed", "severity": "medium",
                               "observables": {"ips": [ip]}}, separators=(",", ":")) + "\n"
            lines.extend([line] * n)
    return [("".join(lines[i:i + batch])).encode() for i in range(0, len(lines), batch)]


def write_setup(workdir, port, alerts, ips):
    if os.path.exists(workdir) and os.listdir(workdir):
        raise StormError(f"{workdir} is not empty: give a new or empty --workdir")
    os.makedirs(workdir, exist_ok=True)
    token = secrets.token_hex(32)
    token_file = os.path.join(workdir, "token")
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    playbooks = os.path.join(workdir, "playbooks")
    os.mkdir(playbooks)
    with open(os.path.join(playbooks, "brute-force.yaml"), "w") as f:
        f.write(PLAYBOOK)
    os.mkdir(os.path.join(workdir, "data"), 0o700)
    # Issue 3 wants the guards on with limits that admit the workload: each
    # budget holds twice the storm's actions (one per address), so a closed
    # breaker at the end is a check, not luck.
    limit = max(RATE_LIMIT_MIN, 2 * ips)
    budget = f"{{per_minute: {limit}, per_hour: {limit}, per_day: {limit}}}"
    config = os.path.join(workdir, "bulwark.yaml")
    with open(config, "w") as f:
        f.write(f"listen: 127.0.0.1:{port}\n"
                f"data_dir: {workdir}/data\n"
                "workers: 2\n"
                "queue:\n"
                f"  capacity: {max(QUEUE_CAPACITY_MIN, 2 * alerts)}\n"
                "api:\n"
                f"  token_file: {token_file}\n"
                f"playbook_dir: {playbooks}\n"
                "log_level: warn\n"
                "governor:\n"
                "  protected:\n"
                "    ips: [" + ", ".join(PROTECTED) + "]\n"
                "  rate_limits:\n"
                f"    global: {budget}\n"
                f"    nft.block: {budget}\n"
                "integrations:\n"
                "  - name: fw\n"
                "    kind: nft\n"
                "    settings:\n"
                f"      family: {FAMILY}\n"
                f"      table: {TABLE}\n"
                f"      set_v4: {SET_V4}\n")
    return config, token


def nft_delete_table():
    # A previous run in the same namespace leaves its table (bulwarkd never
    # flushes it); the set must start empty for the count to mean anything.
    subprocess.run(["nft", "delete", "table", FAMILY, TABLE], capture_output=True)


def nft_elements():
    """The elements of the block set as strings (addresses or prefixes)."""
    out = subprocess.run(["nft", "-j", "list", "set", FAMILY, TABLE, SET_V4],
                         check=True, capture_output=True, text=True).stdout
    elems = set()
    for item in json.loads(out)["nftables"]:
        for e in item.get("set", {}).get("elem", []):
            if isinstance(e, dict) and "elem" in e:
                e = e["elem"]["val"]
            if isinstance(e, dict) and "prefix" in e:
                e = f'{e["prefix"]["addr"]}/{e["prefix"]["len"]}'
            elems.add(e)
    return elems


class Daemon:
    def __init__(self, path, config, workdir, port, token):
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(workdir, "bulwarkd.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([path, "--config", config], stdout=self.log, stderr=self.log)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise StormError(f"bulwarkd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            if time.monotonic() > deadline:
                raise StormError(f"bulwarkd not ready after 30 s: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, n=2000):
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")

    def get_json(self, path):
        r = self.session.get(self.url + path, timeout=10)
        if r.status_code != 200:
            raise StormError(f"GET {path}: {r.status_code} {r.text[:200]}")
        return r.json()

    def metric(self, name):
        r = self.session.get(self.url + "/metrics", timeout=10)
        r.raise_for_status()
        for line in r.text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        raise StormError(f"/metrics has no {name}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Sender:
    """SENDERS threads, each with a keep-alive session, post the bodies in order
    of a shared cursor; a 503 (queue full) is retried after its Retry-After."""

    def __init__(self, url, token, bodies, deadline):
        self.url = url + "/v1/alerts/batch"
        self.token = token
        self.bodies = bodies
        self.deadline = deadline
        self.lock = threading.Lock()
        self.next = 0
        self.accepted = 0
        self.retries = 0
        self.last_ack = None
        self.error = None
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(SENDERS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0, end - time.monotonic()))
        return self.done()

    def done(self):
        return not any(t.is_alive() for t in self.threads)

    def take(self):
        with self.lock:
            if self.error or self.next == len(self.bodies):
                return None
            self.next += 1
            return self.next - 1

    def run(self):
        s = requests.Session()
        s.headers.update({"Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson"})
        try:
            while (i := self.take()) is not None:
                self.post(s, self.bodies[i])
        except Exception as e:  # whatever stops a sender must stop the run, not hang it
            with self.lock:
                self.error = self.error or f"{type(e).__name__}: {e}"

    def post(self, s, body):
        lines = body.count(b"\n")
        while True:
            if time.monotonic() > self.deadline:
                raise StormError("timed out while sending")
            r = s.post(self.url, data=body, timeout=60)
            if r.status_code == 503:
                with self.lock:
                    self.retries += 1
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            if r.status_code != 200:
                raise StormError(f"batch answered {r.status_code}: {r.text[:200]}")
            accepted = r.json()["accepted"]
            if accepted != lines:
                raise StormError(f"batch of {lines} alerts: {accepted} accepted: {r.text[:200]}")
            now = time.monotonic()
            with self.lock:
                self.accepted += accepted
                self.last_ack = now
            return


def proc_stat(pid):
    """(utime + stime in ticks, VmHWM in KiB) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return ticks, hwm


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task"):
            try:
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except FileNotFoundError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def resources(pid):
    """CPU seconds and peak RSS (KiB) of bulwarkd, and of its workers."""
    hz = os.sysconf("SC_CLK_TCK")
    ticks, hwm = proc_stat(pid)
    wticks = whwm = workers = 0
    for child in descendants(pid):
        try:
            t, h = proc_stat(child)
        except FileNotFoundError:  # a worker that exited since the listing
            continue
        wticks += t
        whwm += h
        workers += 1
    return {"daemon_cpu_s": ticks / hz, "workers_cpu_s": wticks / hz, "daemon_hwm_kib": hwm,
            "workers_hwm_kib": whwm, "workers": workers}


def drained(d):
    return d.metric("bulwark_queue_depth") == 0 and d.metric("bulwark_queue_in_flight") == 0


def executions(d):
    """Every execution, paged newest first with before=<smallest id seen>."""
    out, before = [], None
    while True:
        page = d.get_json("/v1/executions?limit=1000" + (f"&before={before}" if before else ""))["executions"]
        if not page:
            return out
        out.extend(page)
        before = min(e["id"] for e in page)


def storm(a, result):
    if os.geteuid() != 0:
        raise StormError("run as root (nftables)")
    if netns_name() is None:
        raise StormError("not in a named network namespace: run it under ip netns exec (bench/run.sh does)")
    ips = storm_addresses(a.ips)
    bodies = storm_bodies(ips, a.alerts // a.ips, a.batch)
    config, token = write_setup(os.path.abspath(a.workdir), a.port, a.alerts, a.ips)
    nft_delete_table()
    d = Daemon(a.bulwarkd, config, os.path.abspath(a.workdir), a.port, token)
    try:
        if nft_elements():
            raise StormError("the block set is not empty before the storm")
        t0 = time.monotonic()
        deadline = t0 + TIMEOUT_S
        sender = Sender(d.url, token, bodies, deadline)
        sender.start()
        polls = 0
        next_drain_check = 0
        while True:
            tick = time.monotonic()
            n = len(nft_elements())
            polls += 1
            if n and "_first" not in result:
                result["_first"] = round(time.monotonic() - t0, 3)
            if 2 * n >= a.ips and "_half" not in result:
                result["_half"] = round(time.monotonic() - t0, 3)
            if n >= a.ips:
                result["seconds_to_all_blocked"] = round(time.monotonic() - t0, 3)
                break
            if sender.error:
                raise StormError(sender.error)
            # Once all is acknowledged and processed, the set will not grow.
            if sender.done() and tick >= next_drain_check:
                next_drain_check = tick + 0.5
                if drained(d) and len(nft_elements()) < a.ips:
                    raise StormError(f"queue drained with {n} of {a.ips} addresses blocked")
            if tick > deadline:
                raise StormError(f"{n} of {a.ips} addresses blocked after {TIMEOUT_S} s")
            time.sleep(max(0, POLL_S - (time.monotonic() - tick)))
        if not sender.join(max(0, deadline - time.monotonic())) or sender.error:
            raise StormError(sender.error or "sending did not finish in time")
        if sender.accepted != a.alerts:
            raise StormError(f"{sender.accepted} of {a.alerts} alerts acknowledged")
        result["seconds_to_accepted"] = round(sender.last_ack - t0, 3)
        result["_retries"] = sender.retries
        while not drained(d):
            if time.monotonic() > deadline:
                raise StormError(f"the queue did not drain in {TIMEOUT_S} s")
            time.sleep(POLL_S)
        result["seconds_to_drained"] = round(time.monotonic() - t0, 3)
        res = resources(d.proc.pid)
        result["cpu_seconds"] = round(res["daemon_cpu_s"] + res["workers_cpu_s"], 2)
        result["peak_rss_mib"] = round((res["daemon_hwm_kib"] + res["workers_hwm_kib"]) / 1024, 1)
        result["_resources"] = res
        result["_polls"] = polls

        blocked = nft_elements()
        if blocked != set(ips):
            raise StormError(f"the set holds {len(blocked)} elements, {len(blocked - set(ips))} not of the storm, "
                             f"{len(set(ips) - blocked)} of the storm missing")
        execs = executions(d)
        result["executions"] = len(execs)
        statuses = collections.Counter(e["status"] for e in execs)
        if len(execs) != a.ips or statuses["succeeded"] != a.ips:
            raise StormError(f"{len(execs)} executions, expected {a.ips} succeeded: {dict(statuses)}")
        breaker = d.get_json("/v1/breaker")
        if breaker["open"]:
            raise StormError(f"the circuit breaker is open: {breaker.get('reason')}")
    except StormError as e:
        raise StormError(f"{e}; bulwarkd log: {d.log_tail()}") from None
    finally:
        d.stop()


def report(result):
    """The human table, on stderr; keys starting with '_' are only shown here."""
    res = result.get("_resources")
    rows = [("alerts", result["alerts"], ""), ("addresses", result["ips"], "")]
    for key, label, unit in (("_first", "first alert -> first blocked", "s"),
                             ("_half", "first alert -> half blocked", "s"),
                             ("seconds_to_all_blocked", "first alert -> all blocked", "s (target < 1 s)"),
                             ("seconds_to_accepted", "first alert -> last batch acked", "s"),
                             ("seconds_to_drained", "first alert -> queue drained", "s"),
                             ("cpu_seconds", "CPU, bulwarkd + workers", "s"),
                             ("peak_rss_mib", "peak RSS (sum of VmHWM)", "MiB (target < 50 MiB)"),
                             ("executions", "executions (all must succeed)", ""),
                             ("_retries", "503s retried", ""),
                             ("_polls", "set listings", "")):
        if key in result:
            rows.append((label, result[key], unit))
    if res:
        rows.append(("bulwarkd: CPU, VmHWM", f'{res["daemon_cpu_s"]:.2f} s, {res["daemon_hwm_kib"] / 1024:.1f}',
                     "MiB"))
        rows.append((f'{res["workers"]} worker(s): CPU, VmHWM',
                     f'{res["workers_cpu_s"]:.2f} s, {res["workers_hwm_kib"] / 1024:.1f}', "MiB"))
    for label, value, unit in rows:
        print(f"{label:34} {value!s:>16} {unit}", file=sys.stderr)
    if "error" in result:
        print(f"storm: {result['error']}", file=sys.stderr)


def main():
    a = parse_args()
    result = {"alerts": a.alerts, "ips": a.ips}
    try:
        storm(a, result)
    except (StormError, OSError, requests.RequestException, subprocess.CalledProcessError, ValueError) as e:
        result["error"] = str(e)
    report(result)
    if a.json:
        out = {k: result.get(k) for k in JSON_KEYS}
        if "error" in result:
            out["error"] = result["error"]
        print(json.dumps(out))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
