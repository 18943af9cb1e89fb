"""kzdiplo serve under attack: a real server on 127.0.0.1, real HTTP requests from
threads, a real SIGTERM. Each query ends near Datasette's time limit whatever function
it calls, one slow client cannot make the others wait for long, memory stays bounded,
only the served host names are answered, and a stopped server leaves no copy behind."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import ENV, kzdiplo_command

pytestmark = pytest.mark.slow  # a real server process per module

# One call to each of these ran for tens of seconds before (the progress handler that
# implements Datasette's time limit is never reached inside one function call).
SLOW_CALLS = [
    "select instr(printf('%.*c', 4000000, 'a'), printf('%.*c', 2000000, 'a') || 'b')",
    "select length(ltrim(printf('%.*c', 400000, 'a') || 'x', printf('%.*c', 200000, 'b') || 'a'))",
    "select length(replace(printf('%.*c', 4000000, 'a'), printf('%.*c', 2000000, 'a') || 'b', 'x'))",
]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    tmp: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, host: str | None = None, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}" if host is None else host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _sql(query: str) -> str:
    return "/kzdiplo.json?" + urllib.parse.urlencode({"sql": query, "_shape": "array"})


def _start(db: Path, tmp: Path, *extra: str) -> Server:
    tmp.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    env["TMPDIR"] = str(tmp)  # the copy goes here, so the test can see it go
    proc = subprocess.Popen(
        [*kzdiplo_command(), "--db", str(db), "serve", "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            if _get(port, "/-/versions.json", timeout=2)[0] == 200:
                return Server(proc, port, tmp)
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no server")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = _start(seeded_template, tmp_path_factory.mktemp("serve") / "tmp")
    yield served
    served.proc.kill()
    served.proc.wait(timeout=20)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("query", SLOW_CALLS, ids=["instr", "ltrim", "replace"])
def test_one_long_function_call_ends_quickly(server: Server, query: str) -> None:
    started = time.monotonic()
    status, _ = _get(server.port, _sql(query), timeout=60)
    seconds = time.monotonic() - started
    assert status in (200, 400), status
    assert seconds < 5, f"{seconds:.1f} s for one query under a 1 s limit"


def test_huge_values_are_refused_in_bounded_memory(server: Server) -> None:
    many_big_rows = ("with recursive c(x) as (select 1 union all select x + 1 from c "
                     "where x < 1000) select x, printf('%.*c', 999000, 'x') from c")  # fmt: skip
    for query in ("select zeroblob(300000000)", "select length(zeroblob(300000000))",
                  "select length(printf('%.*c', 300000000, 'x'))", many_big_rows):  # fmt: skip
        started = time.monotonic()
        status, body = _get(server.port, _sql(query))
        assert time.monotonic() - started < 5, query
        assert status in (200, 400), (query, status)
        assert len(body) < 2_000_000, query  # nothing of the 300 MB (or 200 MB) comes back
    assert _peak_rss_mb(server.proc.pid) < 400  # 1.25 GB for many_big_rows before


def test_slow_clients_do_not_starve_a_quick_query(server: Server) -> None:
    """Four slow GETs at once (more than Datasette's three query threads), then
    `select 1`: it waits for a thread to free, seconds at most (before: 39 s)."""
    results: list[float] = []

    def slow() -> None:
        started = time.monotonic()
        _get(server.port, _sql(SLOW_CALLS[0]), timeout=120)
        results.append(time.monotonic() - started)

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # let them reach the server first; the bound below does not rest on it
    started = time.monotonic()
    status, body = _get(server.port, _sql("select 1 as one"), timeout=60)
    quick = time.monotonic() - started
    for t in threads:
        t.join(timeout=150)
    assert status == 200 and json.loads(body) == [{"one": 1}]
    assert quick < 10, f"select 1 waited {quick:.1f} s behind four slow queries"
    assert len(results) == 4 and max(results) < 15, results


@pytest.mark.parametrize(
    ("host", "status"),
    [("127.0.0.1", 200), ("localhost", 200), ("LOCALHOST", 200), ("[::1]", 200),
     ("evil.example", 400), ("127.0.0.1.evil.example", 400), ("", 400),
     ("localhost.", 400), ("evil.example:80", 400)],
)  # fmt: skip
def test_only_the_served_host_names_are_answered(server: Server, host: str, status: int) -> None:
    with_port = f"{host}:{server.port}" if host and ":" not in host.strip("[]") else host
    for name in {host, with_port}:
        got, _ = _get(server.port, "/kzdiplo.json?sql=select+1", host=name)
        assert got == status, name


def test_allow_host_adds_a_name(seeded_template: Path, tmp_path: Path) -> None:
    served = _start(seeded_template, tmp_path / "tmp", "--allow-host", "kz.lan")
    try:
        assert _get(served.port, "/-/versions.json", host="kz.lan:80")[0] == 200
        assert _get(served.port, "/-/versions.json", host="other.lan")[0] == 400
    finally:
        served.proc.kill()
        served.proc.wait(timeout=20)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_server_removes_its_copy(
    seeded_template: Path, tmp_path: Path, signum: int
) -> None:
    served = _start(seeded_template, tmp_path / "tmp")
    copies = list(served.tmp.glob("kzdiplo-serve-*/*.db"))
    assert copies, "the copy is where TMPDIR says while serving"
    served.proc.send_signal(signum)
    served.proc.wait(timeout=30)
    stderr = served.proc.stderr.read().decode() if served.proc.stderr else ""
    assert "Traceback" not in stderr, stderr
    assert list(served.tmp.iterdir()) == [], "the temporary copy is left behind"


def test_a_search_of_thousands_of_words_is_refused_quickly(server: Server) -> None:
    """Before: 3,000 words ran 6 s on the event loop and ended in MemoryError (500)."""
    query = urllib.parse.urlencode({"q": " ".join(["kazakhstan"] * 3000)})
    started = time.monotonic()
    status, body = _get(server.port, f"/-/kzdiplo/search?{query}")
    assert time.monotonic() - started < 5
    assert status == 200 and b"at most 64 words" in body, status
    assert _get(server.port, "/-/kzdiplo/search?q=tungsten")[0] == 200
