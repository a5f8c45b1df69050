# SPDX-License-Identifier: Apache-2.0
"""`bulwark rollback-test` against real nftables: every staging integration's
action is applied and rolled back, the set ends as it began, and the governor
still refuses protected targets (issue 3, point 9)."""
import json
import queue
import subprocess
import threading

from conftest import BULWARK, INTEGRATION_NFT, nft_set, notify_integration

STAGING = """\
    staging:
      verb: block
      targets: ["{v4}", "{v6}"]
"""


def staging_nft(v4="192.0.2.10", v6="2001:db8::10"):
    return INTEGRATION_NFT + STAGING.format(v4=v4, v6=v6)


def rollback_test(d, *args):
    env = {"BULWARK_URL": d.url, "BULWARK_TOKEN_FILE": str(d.token_file)}
    return subprocess.run([BULWARK, "rollback-test", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def add_element(ip, name="blocklist_v4"):
    subprocess.run(["nft", "add", "element", "inet", "bulwark", name, f"{{ {ip} }}"], check=True)


class ElementMonitor:
    """`nft monitor elements` in the test's namespace: the element changes made
    between begin() and end(), each bracketed by a change to a sentinel set of
    its own, so the lines in between are exactly what happened meanwhile."""

    def __init__(self):
        subprocess.run(["nft", "add", "table", "inet", "sync"], check=True)
        subprocess.run(["nft", "add", "set", "inet", "sync", "marks", "{ type ipv4_addr; }"], check=True)
        self.proc = subprocess.Popen(["stdbuf", "-oL", "nft", "monitor", "elements"],
                                     stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.marks = 0

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _mark(self):
        self.marks += 1
        mark = f"10.255.0.{self.marks}"
        subprocess.run(["nft", "add", "element", "inet", "sync", "marks", f"{{ {mark} }}"], check=True)
        return mark

    def _until(self, mark, wait):
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=wait)
            except queue.Empty:
                return None
            if "inet sync marks" in line and mark in line:
                return seen
            seen.append(line)

    def begin(self):
        # The monitor may not listen yet when the first mark is added: mark
        # again until it reports one.
        while self._until(self._mark(), 1) is None:
            pass

    def end(self):
        seen = self._until(self._mark(), 30)
        assert seen is not None, "nft monitor reported no end mark"
        return seen

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_staging_block_is_applied_and_rolled_back(make_daemon):
    d = make_daemon(integrations=staging_nft()).start()
    add_element("192.0.2.99")
    before_v4, before_v6 = nft_set(), nft_set(name="blocklist_v6")
    assert before_v4 == {"192.0.2.99"} and before_v6 == set()
    mon = ElementMonitor()
    try:
        mon.begin()
        out = rollback_test(d)
        changes = mon.end()
    finally:
        mon.close()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == "fw (nft): ok\n1 passed, 0 failed\n"
    # The set holds exactly what it held before.
    assert nft_set() == before_v4 and nft_set(name="blocklist_v6") == before_v6
    assert "192.0.2.99" in nft_set() and "192.0.2.10" not in nft_set()
    # And the test really changed it in between: both targets were added, then
    # deleted, and the element already there was never touched.
    for ip, name in (("192.0.2.10", "blocklist_v4"), ("2001:db8::10", "blocklist_v6")):
        mine = [line.split(" ")[0] for line in changes if f"inet bulwark {name} " in line and ip in line]
        assert mine == ["add", "delete"], changes
    assert not [line for line in changes if "192.0.2.99" in line], changes
    (passed,) = [x for x in d.log_lines() if x["event"] == "rollback_test.passed"]
    assert passed["integration"] == "fw" and passed["detail"] == "snapshots identical"
    assert passed["targets"] == ["192.0.2.10", "2001:db8::10"]
    (run,) = [x for x in d.log_lines() if x["event"] == "rollback_test.run"]
    assert run["actor"] == "admin" and run["passed"] == 1 and run["failed"] == 0


def test_json_reply_names_the_normalised_targets(make_daemon, receiver):
    # An IPv4-mapped address is the IPv4 host, and one address has one spelling,
    # as in alerts; a notify integration cannot roll back and fails, untouched.
    notify = notify_integration(receiver) + "    staging:\n      verb: send\n      targets: [\"soc-room\"]\n"
    d = make_daemon(integrations=staging_nft("::ffff:192.0.2.10", "2001:DB8:0::10") + notify).start()
    out = rollback_test(d, "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    reply = json.loads(out.stdout)
    assert reply["passed"] == 1 and reply["failed"] == 1
    fw, soc = reply["results"]
    assert fw == {"integration": "fw", "connector": "nft", "ok": True, "detail": "snapshots identical",
                  "targets": ["192.0.2.10", "2001:db8::10"]}
    assert soc["integration"] == "soc" and soc["ok"] is False
    assert soc["detail"] == "notify.send is not reversible on this integration (it cannot snapshot and roll back)"
    assert receiver.requests == []
    assert "192.0.2.10" not in nft_set() and "2001:db8::10" not in nft_set(name="blocklist_v6")


def test_protected_staging_target_is_refused_by_the_governor(make_daemon):
    d = make_daemon(integrations=staging_nft(),
                    extra="governor:\n  protected:\n    ips: [192.0.2.0/28]\n").start()
    add_element("192.0.2.99")
    mon = ElementMonitor()
    try:
        mon.begin()
        out = rollback_test(d)
        changes = mon.end()
    finally:
        mon.close()
    assert out.returncode == 1, out.stdout + out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith("fw (nft): FAILED: refused by the governor: ")
    assert "target 192.0.2.10 is a protected asset (192.0.2.0/28)" in first
    assert out.stdout.endswith("0 passed, 1 failed\n")
    assert changes == []
    assert nft_set() == {"192.0.2.99"} and nft_set(name="blocklist_v6") == set()
    (failed,) = [x for x in d.log_lines() if x["event"] == "rollback_test.failed"]
    assert failed["integration"] == "fw" and "refused by the governor" in failed["detail"]


def test_no_staging_integration(make_daemon):
    d = make_daemon().start()
    out = rollback_test(d)
    assert out.returncode == 1
    assert out.stdout == "0 passed, 0 failed\n"
    assert out.stderr == "bulwark: no staging integration to test\n"
    reply = d.session.post(d.url + "/v1/rollback-tests", timeout=10).json()
    assert reply == {"results": [], "passed": 0, "failed": 0}
