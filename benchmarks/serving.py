"""Issue 27's `serve` figures (no entry point: commands.py calls ``measure_size``).

At one database size, `kzdiplo serve` and plain `datasette` on the same file (no options:
read-only connections, row counts cut off by its time limit; with ``-i`` it counts every
table in full before its home page answers, 8 s at a million) are each started,
alternately, and timed from the process start to the first HTTP 200 of their home page.
Then both run side by side while a few client threads request four pages of each in
turn (home, the records table, one record, one facet value chosen), alternating the two
servers request by request, so that each page's latencies are measured under the same
machine state as its Datasette peer. Peak RSS is the server process's own high-water
mark (``VmHWM``), read just before it is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness import ENV, limit_memory, log, tool

DATASETTE = tool("datasette")
PAGES = ("home", "table", "record", "facet")
PAGE_WORDS = {
    "home": "home page",
    "table": "records table",
    "record": "one record",
    "facet": "one facet value chosen",
}


def kz_pages(slug: str) -> dict[str, str]:
    """kzdiplo serve's pages (web/serve.py and web/pages.py): the records table shows its
    six facets; the facet page is the same with one facet value chosen."""
    return {
        "home": "/",
        "table": "/kzdiplo/records",
        "record": f"/-/kzdiplo/record/agreement/{slug}",
        "facet": "/kzdiplo/records?noun=agreement",
    }


def datasette_pages(stem: str, agreement_id: int) -> dict[str, str]:
    """Plain Datasette's nearest pages on the same file: the raw agreements table, one
    of its rows, and the table with three facets and one value chosen."""
    table = f"/{stem}/agreements"
    return {
        "home": "/",
        "table": table,
        "record": f"{table}/{agreement_id}",
        "facet": f"{table}?_facet=kind&_facet=stage&_facet=date_precision&kind=agreement",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str  # "kzdiplo" or "datasette"
    argv: list[str]
    port: int
    pages: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    err: Path | None = None  # its stderr
    first: list[float] = field(default_factory=list)  # seconds to the first 200
    peak_kb: int | None = None
    failure: str | None = None

    def url(self, page: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.pages[page]}"


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as e:
        return int(e.code), b""


def start(server: Server, timeout: float) -> float | None:
    """Start ``server`` and wait for its home page's first 200: the seconds it took, or
    None (``server.failure`` says why)."""
    fd, name = tempfile.mkstemp(prefix="kzdiplo-bench-serve-")
    server.err = Path(name)
    t0 = time.perf_counter()
    with os.fdopen(fd, "wb") as err:  # the child keeps its own copy of the descriptor
        server.proc = subprocess.Popen(server.argv, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=err, env=ENV,
                                       start_new_session=True, preexec_fn=limit_memory)  # fmt: skip
    while time.perf_counter() - t0 < timeout:
        if server.proc.poll() is not None:
            server.failure = f"exited {server.proc.returncode}: {_last_line(server)}"
            return None
        with contextlib.suppress(OSError):
            if _get(server.url("home"), 5)[0] == 200:
                return time.perf_counter() - t0
        time.sleep(0.02)
    server.failure = f"no answer in {timeout:,.0f} s"
    return None


def _last_line(server: Server) -> str:
    if server.err is None:
        return ""
    text = server.err.read_text(errors="replace")
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1][:300] if lines else "no message"


def _peak_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def stop(server: Server) -> None:
    """Read the server's peak RSS, then stop it (SIGTERM: kzdiplo removes its copy)."""
    proc = server.proc
    if proc is None:
        return
    if proc.poll() is None:
        server.peak_kb = _peak_kb(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    server.proc = None
    if server.err is not None:
        server.err.unlink(missing_ok=True)


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _clients(servers: list[Server], clients: int, rounds: int, timeout: float) -> dict:
    """``clients`` threads, each requesting every page of every server ``rounds`` times,
    the order of pages and servers rotating: {server: {page: [seconds]}}, and failures."""
    times: dict[str, dict[str, list[float]]] = {s.name: {p: [] for p in PAGES} for s in servers}
    failures: dict[str, dict[str, list[str]]] = {s.name: {p: [] for p in PAGES} for s in servers}
    lock = threading.Lock()

    def client(k: int) -> None:
        for r in range(rounds):
            shift = (k + r) % len(PAGES)
            for page in PAGES[shift:] + PAGES[:shift]:
                order = servers if (k + r) % 2 == 0 else servers[::-1]
                for s in order:
                    t0 = time.perf_counter()
                    try:
                        status, _ = _get(s.url(page), timeout)
                        why = None if status == 200 else f"HTTP {status}"
                    except (OSError, TimeoutError) as e:
                        status, why = 0, f"{type(e).__name__}: {e}"[:200]
                    elapsed = time.perf_counter() - t0
                    with lock:
                        if why:
                            failures[s.name][page].append(why)
                        else:
                            times[s.name][page].append(elapsed)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"times": times, "failures": failures}


def _facets_timed_out(server: Server, page: str, timeout: float) -> list[str] | None:
    """The facets Datasette reports as timed out on ``page`` (its JSON form), or None
    when the page cannot be read as JSON."""
    path = server.pages[page]
    base, _, query = path.partition("?")
    url = f"http://127.0.0.1:{server.port}{base}.json" + (f"?{query}" if query else "")
    try:
        status, body = _get(url, timeout)
        data = json.loads(body) if status == 200 else None
    except (OSError, ValueError):
        return None
    return list(data.get("facets_timed_out", [])) if isinstance(data, dict) else None


def measure_size(kz: str, db: Path, slug: str, agreement_id: int, starts: int, clients: int,
                 rounds: int, timeout: float, request_timeout: float) -> dict:  # fmt: skip
    """Every serve figure at one size, as plain data."""
    kz_server = Server("kzdiplo", [], 0, kz_pages(slug))
    ds_server = Server("datasette", [], 0, datasette_pages(db.stem, agreement_id))
    servers = [kz_server, ds_server]

    def fresh(s: Server) -> None:
        s.port = free_port()
        s.argv = (
            [kz, "--db", str(db), "serve", "--port", str(s.port)]
            if s.name == "kzdiplo"
            else [DATASETTE, "serve", str(db), "--port", str(s.port)]
        )

    for i in range(starts):
        order = servers if i % 2 == 0 else servers[::-1]
        for s in order:
            if s.failure:
                continue
            fresh(s)
            seconds = start(s, timeout)
            if seconds is not None:
                s.first.append(seconds)
            if i < starts - 1 or s.failure:
                stop(s)
        log(f"serve {db.name}: first answers, round {i + 1}/{starts}")
    live = [s for s in servers if s.proc is not None]
    pages: dict = {}
    timed_out: dict = {}
    if len(live) == 2:
        log(f"serve {db.name}: {clients} clients x {rounds} rounds x {len(PAGES)} pages x 2")
        pages = _clients(live, clients, rounds, request_timeout)
        timed_out = {s.name: {p: _facets_timed_out(s, p, request_timeout)
                              for p in ("table", "facet")} for s in live}  # fmt: skip
    for s in servers:
        stop(s)
    out: dict = {"clients": clients, "rounds": rounds, "starts": starts,
                 "request_timeout": request_timeout, "facets_timed_out": timed_out}  # fmt: skip
    for s in servers:
        per_page = {}
        for page in PAGES:
            lat = pages.get("times", {}).get(s.name, {}).get(page, [])
            fail = pages.get("failures", {}).get(s.name, {}).get(page, [])
            per_page[page] = {
                "url": s.pages[page], "requests": len(lat) + len(fail), "failures": fail[:5],
                "failed": len(fail),
                "p50": statistics.median(lat) if lat else None,
                "p95": _percentile(lat, 95) if lat else None,
            }  # fmt: skip
        out[s.name] = {
            "argv": s.argv, "first": s.first,
            "first_median": statistics.median(s.first) if s.first else None,
            "peak_rss_mb": s.peak_kb / 1024 if s.peak_kb else None,
            "failure": s.failure, "pages": per_page,
        }  # fmt: skip
    return out
