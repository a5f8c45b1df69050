# SPDX-License-Identifier: Apache-2.0
"""Access to the API as an attacker tries it (issue 9): what the CLI sends
where, what anyone may read."""
import os
import socket
import subprocess
import threading

from conftest import BULWARK


class Proxy:
    """A listening socket that records every connection made to it and
    answers nothing: a proxy that would see a token sent through it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.seen.append(conn.recv(4096))
            except OSError:
                self.seen.append(b"")
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_the_cli_never_sends_its_token_through_a_proxy_in_clear(make_daemon):
    d = make_daemon().start()
    proxy = Proxy()
    try:
        env = dict(os.environ, http_proxy=proxy.url, HTTP_PROXY=proxy.url, all_proxy=proxy.url,
                   ALL_PROXY=proxy.url, https_proxy=proxy.url)
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
        out = subprocess.run([BULWARK, "--url", d.url, "--token-file", str(d.token_file), "breaker", "status"],
                             capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        assert "closed" in out.stdout.lower(), out.stdout
    finally:
        proxy.close()
    assert proxy.seen == [], proxy.seen
    assert all(d.token.encode() not in seen for seen in proxy.seen)
