# SPDX-License-Identifier: Apache-2.0
"""Start-up refuses bad configuration, bad playbooks and an exposed token file,
naming file:line:col; `bulwark init` writes a set-up the daemon accepts."""
import os
import re
import subprocess

from conftest import BULWARK, BULWARKD, SANITIZED, Daemon


def check(config):
    return subprocess.run([BULWARKD, "--config", str(config), "--check"], capture_output=True, text=True)


def test_init_writes_a_setup_the_daemon_accepts(tmp_path):
    setup = tmp_path / "setup"
    subprocess.run([BULWARK, "init", str(setup)], check=True, capture_output=True)
    assert oct(os.stat(setup / "token").st_mode & 0o777) == "0o600"
    r = check(setup / "bulwark.yaml")
    assert r.returncode == 0, r.stderr
    assert "1 playbook(s) are valid" in r.stdout
    again = subprocess.run([BULWARK, "init", str(setup)], capture_output=True, text=True)
    assert again.returncode != 0  # never overwrites without --force


def test_unknown_key_wrong_type_and_range_name_file_line_col(tmp_path):
    d = Daemon(tmp_path)
    text = "\n".join(x for x in d.config.read_text().splitlines() if not x.startswith("listen:")) + "\n"
    for bad, line, field in [("workers: 0\n", 1, "workers"), ("workers: two\n", 1, "workers"),
                             ("wrokers: 2\n", 1, "wrokers"),
                             ("queue:\n  capacity: 99999999999\n", 2, "queue.capacity"),
                             ("listen: 127.0.0.1:99999\n", 1, "listen"), ("listen: localhost:8080\n", 1, "listen"),
                             ("listen: 0.0.0.0:8080\n", 1, "listen")]:
        d.config.write_text(bad + text)
        r = check(d.config)
        assert r.returncode == 2, (bad, r.stdout)
        where = re.escape(f"{d.config}:{line}:") + r"\d+: " + re.escape(field)
        assert re.search(where, r.stderr), (bad, r.stderr)


def test_bad_integration_setting_names_its_line(tmp_path):
    d = Daemon(tmp_path, integrations="  - name: fw\n    kind: nft\n    settings:\n      family: arp\n")
    r = check(d.config)
    assert r.returncode == 2
    lines = d.config.read_text().splitlines()
    want = [i + 1 for i, line in enumerate(lines) if "family: arp" in line][0]
    assert f"{d.config}:{want}:" in r.stderr and "family" in r.stderr, r.stderr


def test_bad_playbooks_are_all_reported(tmp_path):
    bad1 = "name: one\nversion: 0\ntrigger:\n  type: x\nsteps:\n  - id: a\n    action: nft.block\n    integration: fw\n"
    bad2 = ("name: two\nversion: 1\ntrigger:\n  type: x\nsteps:\n  - id: a\n    action: nft.block\n"
            "    integration: nowhere\n    targets: alert.observables.ips\n")
    d = Daemon(tmp_path, playbooks={"1.yaml": bad1, "2.yaml": bad2})
    r = check(d.config)
    assert r.returncode == 2
    assert re.search(r"1\.yaml:2:\d+: version", r.stderr), r.stderr
    assert re.search(r"2\.yaml:8:\d+: .*integration", r.stderr), r.stderr


def test_token_file_readable_by_others_is_refused(netns, tmp_path):
    d = Daemon(tmp_path)
    os.chmod(d.token_file, 0o644)
    d.start(wait=False)
    assert d.proc.wait(timeout=10) != 0
    d.logf.close()
    d.proc = None
    assert "token" in d.log.read_text()


def test_a_token_file_others_could_swap_is_refused(netns, tmp_path):
    """Mode 0600 is not enough: a token file owned by another user, or in a
    directory another user may write (who could replace it), is refused too;
    one in a sticky world-writable directory that the daemon's user owns is
    not."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    for case in ("other_owner", "writable_dir", "sticky_dir"):
        (tmp_path / case).mkdir()
        d = Daemon(tmp_path / case)
        token = shared / f"{case}.token" if case != "other_owner" else d.token_file
        token.write_text(d.token + "\n")
        os.chmod(token, 0o600)
        if case == "other_owner":
            os.chown(token, 65534, 65534)
        if case == "sticky_dir":
            os.chmod(shared, 0o1777)
        d.config.write_text(d.config.read_text().replace(f"token_file: {d.token_file}", f"token_file: {token}"))
        d.start(wait=case == "sticky_dir")
        if case == "sticky_dir":
            assert d.get("/v1/breaker").status_code == 200
            d.stop()
            continue
        try:
            code = d.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d.stop()
            raise AssertionError(f"{case}: the daemon started with {token}")
        assert code != 0, case
        d.logf.close()
        d.proc = None
        log = d.log.read_text()
        assert "token.unusable" in log and str(token) in log, (case, log)
        assert ("owned" in log) if case == "other_owner" else ("directory" in log), (case, log)


def test_reserved_actor_name_is_refused_at_its_line(tmp_path):
    """An actor named like the engine would pass for it in approval records."""
    token = tmp_path / "other.token"
    token.write_text("b" * 64 + "\n")
    os.chmod(token, 0o600)
    d = Daemon(tmp_path, extra=f"  actors:\n    - name: Bulwark\n      token_file: {token}\n")
    r = check(d.config)
    assert r.returncode == 2, r.stdout
    lines = d.config.read_text().splitlines()
    want = [i + 1 for i, line in enumerate(lines) if "name: Bulwark" in line][0]
    assert re.search(re.escape(f"{d.config}:{want}:") + r"\d+: api\.actors\[0\]\.name: .*reserved", r.stderr), \
        r.stderr


def test_params_out_of_the_verbs_range_are_refused_at_their_position(tmp_path):
    """A timeout_s of 2^63-1 passed lint and overflowed at run time: lint and the
    daemon's start-up check each literal param against the verb's table."""
    book = ("name: long-block\nversion: 1\ntrigger:\n  type: ssh.bruteforce\nautomation_level: 3\nsteps:\n"
            "  - id: block\n    action: nft.block\n    integration: fw\n    targets: alert.observables.ips\n"
            "    params:\n      timeout_s: 9223372036854775807\n"
            "  - id: unblock\n    action: nft.unblock\n    integration: fw\n    targets: alert.observables.ips\n"
            "    params: {reason: oops}\n")
    d = Daemon(tmp_path, playbooks={"long.yaml": book})
    path = d.playbook_dir / "long.yaml"
    lint = subprocess.run([BULWARK, "playbook", "lint", str(d.playbook_dir), "--config", str(d.config)],
                          capture_output=True, text=True)
    assert lint.returncode == 1, lint.stdout + lint.stderr
    out = lint.stdout + lint.stderr
    assert f"{path}:12:18: steps[0].params.timeout_s: must be an integer within 1..2592000" in out, out
    assert f"{path}:17:14: steps[1].params.reason: not a parameter of nft.unblock" in out, out
    r = check(d.config)
    assert r.returncode == 2
    assert f"{path}:12:18: steps[0].params.timeout_s" in r.stderr, r.stderr


def test_no_sandbox_is_refused_outside_a_sanitizer_build_without_testing(tmp_path):
    d = Daemon(tmp_path)
    r = subprocess.run([BULWARKD, "--config", str(d.config), "--no-sandbox", "--check"],
                       capture_output=True, text=True)
    if SANITIZED:
        assert r.returncode == 0, r.stderr  # a sanitizer build accepts it alone
        return
    assert r.returncode == 2 and "only a sanitizer build accepts it" in r.stderr, r.stderr
    r = subprocess.run([BULWARKD, "--config", str(d.config), "--no-sandbox", "--testing", "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_a_worker_uid_that_a_host_account_has_is_refused_at_its_line(tmp_path):
    d = Daemon(tmp_path, integrations="  - name: fw\n    kind: nft\n    uid: 1\n")
    r = check(d.config)
    assert r.returncode == 2, r.stdout
    assert re.search(re.escape(f"{d.config}:") + r"\d+:\d+: integrations\[0\]\.uid: uid 1 is the host account",
                     r.stderr), r.stderr
