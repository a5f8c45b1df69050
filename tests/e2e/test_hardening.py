# SPDX-License-Identifier: Apache-2.0
"""The built binaries carry the hardened flags of every build: PIE, full RELRO
(BIND_NOW), non-executable stack, stack protector, _FORTIFY_SOURCE and CET
control-flow protection (endbr64)."""
import subprocess

import pytest

from conftest import BULWARK, BULWARKD, SANITIZED

BINARIES = [BULWARKD, BULWARK]


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("path", BINARIES)
def test_pie(path):
    assert "DYN (Position-Independent Executable file)" in readelf("-h", path)


@pytest.mark.parametrize("path", BINARIES)
def test_full_relro(path):
    assert "GNU_RELRO" in readelf("-l", path)
    dyn = readelf("-d", path)
    assert "BIND_NOW" in dyn or "Flags: NOW" in dyn


@pytest.mark.parametrize("path", BINARIES)
def test_no_executable_stack(path):
    stack = [line for line in readelf("-l", path).splitlines() if "GNU_STACK" in line][0]
    assert "RWE" not in stack


@pytest.mark.parametrize("path", BINARIES)
def test_stack_protector(path):
    assert "__stack_chk_fail" in readelf("--dyn-syms", path)


@pytest.mark.skipif(SANITIZED, reason="the sanitizer build checks bounds itself, without _FORTIFY_SOURCE")
@pytest.mark.parametrize("path", BINARIES)
def test_fortify_source(path):
    syms = readelf("--dyn-syms", path)
    assert any(s in syms for s in ("__memcpy_chk", "__snprintf_chk", "__vsnprintf_chk", "__read_chk",
                                   "__fprintf_chk", "__printf_chk"))


@pytest.mark.parametrize("path", BINARIES)
def test_cf_protection(path):
    # Debian 12's crt1.o lacks the CET note, so the linked binary cannot carry
    # the IBT/SHSTK property; -fcf-protection shows as endbr64 at function entry.
    dis = subprocess.run(["objdump", "-d", "--disassemble=main", path], check=True,
                         capture_output=True, text=True).stdout
    body = dis.split("<main>:", 1)[1]
    first = [line for line in body.splitlines() if line.strip()][0]
    assert "endbr64" in first
