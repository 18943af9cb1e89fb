"""Section 7 of docs/benchmarks.md (issue 27) from the figures commands.py measured:
each target a row (figure, verdict, what stands in the way), then the tables behind them.
No measuring here; render.py calls ``section``. Every verdict is computed from the figures,
and "what stands in the way" says what the figures show (a ratio, a timeout, an error)."""

from __future__ import annotations

from collections.abc import Iterable

Lines = list[str]
# target, figure, met (None: not measured; INFO: a figure with no target), why
Row = tuple[str, str, bool | str | None, str]
INFO = "info"

TARGETS = {"table": 0.85, "json": 0.65, "load": 1.0, "read": 1.2, "first": 2.0, "p95": 1.2,
           "linear": 1.25, "bounded": 1.5}  # fmt: skip
VERDICT = {True: "met", False: "**NOT met**", None: "not measured", INFO: "(no target)"}
PAGE_WORDS = {"home": "home page", "table": "records table", "record": "one record",
              "facet": "one facet value chosen"}  # fmt: skip


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} MB"


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Lines:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


class Part:
    """One part's commands by key, with their medians and peaks (None when not run)."""

    def __init__(self, part: dict | None) -> None:
        self.part = part or {}
        self.by = {c["key"]: c for c in self.part.get("commands", [])}

    def med(self, key: str) -> float | None:
        c = self.by.get(key)
        return c["stats"]["median"] if c and c["stats"] else None

    def peak(self, key: str) -> float | None:
        c = self.by.get(key)
        return c["stats"]["peak_rss_mb"] if c and c["stats"] else None

    def cpu(self, key: str) -> float | None:
        c = self.by.get(key)
        return c["stats"].get("cpu_median") if c and c["stats"] else None

    def failure(self, key: str) -> str | None:
        c = self.by.get(key)
        return c.get("failure") if c else None


class Section:
    def __init__(self, c: dict) -> None:
        self.c = c
        self.sizes = {s["key"]: s for s in c["sizes"]}
        self.synthetic = [s for s in c["sizes"] if s["key"] != "seeded"]
        self.skips = {(x["part"], x["size"]): x["reason"] for x in c.get("skipped", [])}

    def label(self, key: str) -> str:
        s = self.sizes.get(key)
        if key == "seeded":
            return "seeded"
        return f"{s['agreements']:,}" if s else f"{int(key):,}+"

    def skipped(self, part: str, key: str) -> str | None:
        return self.skips.get((part, key)) or self.skips.get((part, "*"))

    def missing(self, part: str, key: str) -> Row | None:
        """The row of a part not run (at all, or at this size), or None when it ran."""
        why = self.skipped(part, key)
        if why:
            return ("", "skipped", None, why)
        if part not in self.c:
            return ("", "-", None, "not run (this run's --parts)")
        return None


def _ratio_row(target: str, a: float | None, b: float | None, limit: float,
               failure: str | None, what: str = "") -> Row:  # fmt: skip
    if failure:
        return (target, "failed", False, failure)
    if a is None or b is None:
        return (target, "-", None, "no figure (see the tables below)")
    x = a / b
    why = "; ".join(filter(None, [f"{x:.3f}x against {limit}x", what]))
    return (target, f"{x:.2f}x ({ms(a)} vs {ms(b)})", x <= limit, "" if x <= limit else why)


def startup_rows(sec: Section) -> list[Row]:
    p = Part(sec.c.get("startup"))
    if "startup" not in sec.c:
        return [("start-up", "-", None, "not run")]
    rows = []
    for key, words in (("kz_table", "table"), ("kz_json", "json")):
        row = _ratio_row(f"`agreements --partner US{' -f json`' if key == 'kz_json' else '` (table)'} ≤ "
                         f"{TARGETS[words]}x `sqlite-utils query`", p.med(key), p.med("su_us"),
                         TARGETS[words], p.failure(key))  # fmt: skip
        a, b = p.cpu(key), p.cpu("su_us")
        if a and b and row[2] is False:  # CPU time: what waiting for a core inflates least
            row = (*row[:3], f"{row[3]}; CPU time (user + system) {a / b:.2f}x")
        rows.append(row)
    return rows


def _floor(p: Part, k: str) -> str:
    """Beside the load's ratio, in figures: the load against sqlite-utils' insert of the
    export's lines into one table, and the SQL floor (benchmarks/sqlfloor.py) against the
    same, when they were measured."""
    floor, su = p.med(f"floor@{k}"), p.med(f"su@{k}")
    out = []
    if su is not None and p.med(f"ndjson@{k}") is not None:
        out.append(f"against `sqlite-utils insert --nl` of the export's lines into one table "
                   f"(one JSON text per record, no index): {p.med(f'ndjson@{k}') / su:.2f}x "
                   f"({ms(su)})")  # fmt: skip
    if floor is not None and su is not None:
        out.append(f"writing the same rows, indexes and search index in SQL alone, with no "
                   f"Python per row (sqlfloor.py), takes {ms(floor)}: {floor / su:.2f}x that "
                   "one-table insert")  # fmt: skip
    return "; ".join(out)


def _peer(p: Part, k: str) -> tuple[str, str]:
    """The key and words of the load's peer at size ``k``: the issue's (sqlite-utils'
    insert of the same rows, table by table) when measured, else the one-table insert of
    the export's lines that earlier runs measured."""
    if f"rows@{k}" in p.by:
        return f"rows@{k}", "`sqlite-utils insert` of the same rows (one `--nl` insert per table)"
    return f"su@{k}", "`sqlite-utils insert --nl`"


def load_rows(sec: Section) -> list[Row]:
    p, rows = Part(sec.c.get("load")), []
    files = sec.c.get("load", {}).get("files", {})
    for s in sec.synthetic:
        k, n = s["key"], sec.label(s["key"])
        peer, words = _peer(p, k)
        for fmt in ("ndjson", "json"):
            target = f"`load` of the {fmt.upper()} export at {n} ≤ {TARGETS['load']}x {words}"
            gap = sec.missing("load", k)
            export_failed = files.get(f"{fmt}@{k}", {}).get("failure")
            if gap:
                rows.append((target, *gap[1:]))
            elif export_failed:
                rows.append((target, "export failed", False, export_failed))
            else:
                row = _ratio_row(target, p.med(f"{fmt}@{k}"), p.med(peer), TARGETS["load"],
                                 p.failure(f"{fmt}@{k}") or p.failure(peer), _floor(p, k))  # fmt: skip
                if row[2] and peer.startswith("rows@"):  # met: the stricter peers still shown
                    row = (*row[:3], _floor(p, k))
                rows.append(row)
    fb = sec.c.get("load", {}).get("fallback")
    if fb:
        for fmt in ("ndjson", "json"):
            k = fb["key"]
            rows.append(_ratio_row(f"`load` of the {fmt.upper()} export at {fb['agreements']:,} "
                                   f"(no larger export loaded) ≤ {TARGETS['load']}x "
                                   "`sqlite-utils insert --nl`", p.med(f"{fmt}@{k}"),
                                   p.med(f"su@{k}"), TARGETS["load"], p.failure(f"{fmt}@{k}")))  # fmt: skip
    sizes = [*sec.synthetic, *([fb] if fb else [])]
    loaded = [s["key"] for s in sizes if p.peak(f"ndjson@{s['key']}")]
    if p.peak("ndjson@seeded") and loaded:
        big = loaded[-1]
        growth = p.peak(f"ndjson@{big}") / p.peak("ndjson@seeded")  # type: ignore[operator]
        rows.append(("`load`: peak memory independent of the file's size (NDJSON)",
                     f"{mb(p.peak('ndjson@seeded'))} seeded, {mb(p.peak(f'ndjson@{big}'))} at "
                     f"{int(big):,} synthetic ({growth:.1f}x; sqlite-utils {mb(p.peak(f'su@{big}'))})",
                     growth <= 1.2, "" if growth <= 1.2 else f"{growth:.1f}x the seeded load's peak"))  # fmt: skip
    return rows


def read_rows(sec: Section) -> list[Row]:
    p, rows = Part(sec.c.get("reads")), []
    hashes = sec.c.get("reads", {}).get("stored_hash", {})
    for verb in ("show", "cite", "search"):
        for s in sec.synthetic:
            k = s["key"]
            target = f"`{verb}` at {sec.label(k)} ≤ {TARGETS['read']}x the seeded file"
            gap = sec.missing("reads", k)
            if gap:
                rows.append((target, *gap[1:]))
                continue
            row = _ratio_row(target, p.med(f"{verb}@{k}"), p.med(f"{verb}@seeded"),
                             TARGETS["read"], p.failure(f"{verb}@{k}"))  # fmt: skip
            h = hashes.get(k, {})
            if verb == "cite" and h.get("seeded_leftover"):
                row = (*row[:3], (row[3] + "; " if row[3] else "") + "reads the stored hash "
                       "row, which in this file is the seeded file's, left fresh by synth.py "
                       "before commit 1529f0d: the time is that of a database whose load "
                       "stored its hash")  # fmt: skip
            elif verb == "cite" and not h.get("fresh", True):
                row = (*row[:3], (row[3] + "; " if row[3] else "") + "no fresh stored hash "
                       "in this file: cite hashes every record")  # fmt: skip
            rows.append(row)
    for key in p.by:
        if key.startswith("cite_stale@"):
            a, b = p.med(key), p.med("cite_again@seeded")
            fig = f"{a / b:.2f}x ({ms(a)} vs {ms(b)})" if a and b else p.failure(key) or "-"
            rows.append((f"`cite` at {sec.label(key.split('@')[1])} with its stored hash stale "
                         "(written outside kzdiplo)", fig, INFO,
                         "hashes every record, as every call did before migration 0015"))  # fmt: skip
    return rows


def _per_record(p: Part, sec: Section, key: str) -> float | None:
    t = p.med(f"report@{key}")
    records = _records(sec, key)
    return t / records if t and records else None


def _records(sec: Section, key: str) -> int | None:
    for s in sec.c.get("report", {}).get("sizes", []):
        if s["key"] == key:
            return int(s["records"])
    return None


def report_rows(sec: Section) -> list[Row]:
    part = sec.c.get("report")
    if not part:
        return [("`report` linear in records, bounded in memory", "-", None,
                 sec.skipped("report", "*") or "not run")]  # fmt: skip
    p = Part(part)
    keys = [s["key"] for s in part["sizes"] if s["key"] != "seeded"]
    largest = max((s for s in sec.synthetic), key=lambda s: s["agreements"], default=None)
    rows: list[Row] = []
    done = [k for k in keys if p.med(f"report@{k}")]
    curve = ", ".join(f"{sec.label(k) if k in sec.sizes else f'{int(k):,}'}: "
                      f"{_per_record(p, sec, k) * 1000:.2f} ms" for k in done)  # type: ignore[operator]  # fmt: skip
    peaks = ", ".join(f"{sec.label(k) if k in sec.sizes else f'{int(k):,}'}: "
                      f"{mb(p.peak(f'report@{k}'))}" for k in done)  # fmt: skip
    failed = [(k, p.failure(f"report@{k}")) for k in keys if p.failure(f"report@{k}")]
    not_run = [s["key"] for s in sec.synthetic if sec.skipped("report", s["key"])]
    why_missing = "; ".join(f"at {sec.label(k)}: {why}" for k, why in failed)
    if len(done) >= 2:
        x = _per_record(p, sec, done[-1]) / _per_record(p, sec, done[0])  # type: ignore[operator]
        ok = x <= TARGETS["linear"] and not failed
        rows.append((f"`report` linear in records: time per record at the largest size ≤ "
                     f"{TARGETS['linear']}x that at the smallest synthetic one",
                     f"{x:.2f}x (per record: {curve})", ok,
                     "; ".join(filter(None, [why_missing, "" if x <= TARGETS["linear"] else
                               f"time per record grows {x:.2f}x"]))))  # fmt: skip
        y = p.peak(f"report@{done[-1]}") / p.peak(f"report@{done[0]}")  # type: ignore[operator]
        ok = y <= TARGETS["bounded"] and not failed
        rows.append((f"`report` in bounded memory: peak at the largest size ≤ {TARGETS['bounded']}x "
                     "that at the smallest synthetic one", f"{y:.2f}x (peak: {peaks})",
                     ok,
                     "; ".join(filter(None, [why_missing, "" if y <= TARGETS["bounded"] else
                               f"peak grows {y:.2f}x"]))))  # fmt: skip
    else:
        rows.append(("`report` linear in records, bounded in memory", curve or "-",
                     False if failed else None, why_missing or "fewer than two sizes measured"))  # fmt: skip
    for k in not_run:
        rows.append(
            (f"`report` at {sec.label(k)}", "skipped", None, sec.skipped("report", k) or "")
        )
    if largest and largest["key"] not in done and not failed and not not_run:
        rows.append((f"`report` at {sec.label(largest['key'])}", "-", None, "not measured"))
    return rows


def serve_rows(sec: Section) -> list[Row]:
    part = sec.c.get("serve")
    rows: list[Row] = []
    if part is None:
        return [("`serve`", "-", None, sec.skipped("serve", "*") or "not run")]
    for s in sec.synthetic:
        k, n = s["key"], sec.label(s["key"])
        got = part.get(k)
        if not got:
            rows.append((f"`serve` at {n}", "skipped", None, sec.skipped("serve", k) or "not run"))
            continue
        kz, ds = got["kzdiplo"], got["datasette"]
        rows.append(_ratio_row(f"`serve` first answer at {n} ≤ {TARGETS['first']}x `datasette`",
                               kz["first_median"], ds["first_median"], TARGETS["first"],
                               kz["failure"]))  # fmt: skip
        for page, words in PAGE_WORDS.items():
            a, b = kz["pages"][page], ds["pages"][page]
            target = f"`serve` p95 at {n}, {words} ≤ {TARGETS['p95']}x Datasette's"
            if not a["requests"]:
                down = kz["failure"] or ds["failure"] or "no requests made"
                rows.append((target, "-", False if kz["failure"] else None,
                             f"no page requested: {down}"))  # fmt: skip
            elif a["failed"]:
                rows.append((target, f"{a['failed']} of {a['requests']} requests failed", False,
                             "; ".join(sorted(set(a["failures"])))))  # fmt: skip
            else:
                rows.append(_ratio_row(target, a["p95"], b["p95"], TARGETS["p95"], None))
        out = got.get("facets_timed_out", {}).get("kzdiplo", {})
        if not out:
            rows.append((f"`serve` at {n}: no facet timing out", "-", False if kz["failure"]
                         else None, "no page requested"))  # fmt: skip
            continue
        late = sorted({f for v in out.values() if v for f in v})
        unread = [p for p, v in out.items() if v is None]
        rows.append((f"`serve` at {n}: no facet timing out", ", ".join(late) or
                     ("not read" if unread and not late else "none"),
                     (not late) if out and not (unread and not late) else None,
                     f"timed out: {', '.join(late)}" if late else
                     (f"the JSON of {', '.join(unread)} could not be read" if unread else "")))  # fmt: skip
    served = [
        s["key"]
        for s in sec.synthetic
        if part.get(s["key"], {}).get("kzdiplo", {}).get("peak_rss_mb")
    ]
    if len(served) >= 2:
        a, b = (
            part[served[-1]]["kzdiplo"]["peak_rss_mb"],
            part[served[0]]["kzdiplo"]["peak_rss_mb"],
        )
        x = a / b
        rows.append((f"`serve` memory bounded: peak at {sec.label(served[-1])} ≤ {TARGETS['bounded']}x "
                     f"at {sec.label(served[0])}", f"{x:.2f}x ({mb(a)} vs {mb(b)}; datasette "
                     f"{mb(part[served[-1]]['datasette']['peak_rss_mb'])})", x <= TARGETS["bounded"],
                     "" if x <= TARGETS["bounded"] else f"peak grows {x:.2f}x"))  # fmt: skip
    return rows


def targets(sec: Section) -> list[Row]:
    return [*startup_rows(sec), *load_rows(sec), *read_rows(sec), *report_rows(sec),
            *serve_rows(sec)]  # fmt: skip


# --- the tables behind the targets ----------------------------------------------------------


def _commands_table(part: dict | None, sec: Section) -> Lines:
    if not part:
        return ["Not run.\n"]
    p = Part(part)
    rows = []
    for c in part["commands"]:
        st = c["stats"] or {}
        peer = p.med(c["peer"]) if c["peer"] else None
        vs = f"{st['median'] / peer:.2f}x" if peer and st.get("median") else "-"
        rows.append((c["label"], ms(st.get("median")), ms(st.get("min")), ms(st.get("max")),
                     vs, mb(st.get("peak_rss_mb")), c.get("failure") or ""))  # fmt: skip
    return [*table(("command", "median", "min", "max", "vs peer", "peak RSS", "failure"), rows), ""]


def _report_table(sec: Section) -> Lines:
    part = sec.c.get("report")
    if not part:
        return ["Not run.\n"]
    p, rows = Part(part), []
    for s in part["sizes"]:
        k = s["key"]
        t, e = p.med(f"report@{k}"), p.med(f"export@{k}")
        w = part["written"].get(k) or {}
        rows.append((f"{s['agreements']:,}", f"{s['records']:,}", ms(t),
                     f"{t / s['records'] * 1000:.2f} ms" if t else "-", mb(p.peak(f"report@{k}")),
                     ms(e), mb(p.peak(f"export@{k}")), f"{t / e:.1f}x" if t and e else "-",
                     f"{w.get('files', 0):,} files, {w.get('bytes', 0) / 1e6:,.1f} MB" if w else "-",
                     p.failure(f"report@{k}") or p.failure(f"export@{k}") or ""))  # fmt: skip
    return [*table(("agreements", "records", "report", "per record", "peak", "export -f json",
                    "its peak", "report / export", "written", "failure"), rows), ""]  # fmt: skip


def _serve_tables(sec: Section) -> Lines:
    part = sec.c.get("serve")
    if not part:
        return ["Not run.\n"]
    first, pages = [], []
    for k, got in part.items():
        kz, ds = got["kzdiplo"], got["datasette"]
        first.append((sec.label(k), ms(kz["first_median"]), ms(ds["first_median"]),
                      f"{kz['first_median'] / ds['first_median']:.2f}x"
                      if kz["first_median"] and ds["first_median"] else "-",
                      mb(kz["peak_rss_mb"]), mb(ds["peak_rss_mb"]),
                      kz["failure"] or ds["failure"] or ""))  # fmt: skip
        for page, words in PAGE_WORDS.items():
            a, b = kz["pages"][page], ds["pages"][page]
            pages.append((sec.label(k), words, f"`{a['url']}`", ms(a["p50"]), ms(a["p95"]),
                          f"`{b['url']}`", ms(b["p50"]), ms(b["p95"]),
                          f"{a['p95'] / b['p95']:.2f}x" if a["p95"] and b["p95"] else "-",
                          f"{a['failed']}/{a['requests']}, {b['failed']}/{b['requests']}"))  # fmt: skip
    any_size = next(iter(part.values()))
    return [
        *table(("size", "kzdiplo first answer", "datasette", "ratio", "kzdiplo peak RSS",
                "datasette peak RSS", "failure"), first), "",
        f"Pages: {any_size['clients']} client threads, each requesting every page of both "
        "servers in turn (alternating which server goes first), "
        f"{any_size['rounds']} rounds at each size up to 200,000 agreements (half beyond); "
        "latencies in ms from the request to the whole body read; p95 over every request "
        "of the page.\n",
        *table(("size", "page", "kzdiplo URL", "p50", "p95", "Datasette URL", "p50", "p95",
                "p95 ratio", "failed (kz, ds)"), pages), "",
    ]  # fmt: skip


def _before(c: dict) -> Lines:
    before = c.get("before")
    if not before:
        return []
    rows = []
    for group in ("load", "load_memory", "reads"):
        by = {x["key"]: x for x in before.get(group, [])}
        for x in before.get(group, []):
            st = x["stats"]
            peer = by[x["peer"]]["stats"]["median"] if x.get("peer") in by else None
            rows.append((x["label"], ms(st["median"]), mb(st.get("peak_rss_mb")),
                         f"{st['median'] / peer:.2f}x" if peer else "-"))  # fmt: skip
    return [
        f"### Before: section 7 of the previous run (commit `{before['git']['commit']}`, "
        f"{before['date']}, `{before.get('command', '')}`)\n",
        "Figures measured before this round's changes to load, report and serve landed (a "
        "separate run on a shared machine: compare the ratios to the peers more than the "
        "times).\n",
        *table(("command", "median", "peak RSS", "vs peer"), rows),
        "",
    ]


def with_notes(rows: list[Row], notes: dict[str, str]) -> list[Row]:
    """Each row not met or not measured, with the notes whose key its target contains
    (``commands.notes`` in the results file, from ``run.py --notes FILE``: what the
    people working on a command found stands in its way)."""
    out = []
    for target, figure, ok, why in rows:
        if ok is False or ok is None:
            extra = [text for key, text in notes.items() if key in target]
            why = "; ".join(filter(None, [why, *extra]))
        out.append((target, figure, ok, why))
    return out


def _separately(c: dict) -> Lines:
    """A line naming the parts measured by another run (``run.py --merge``), if any."""
    measured = c.get("part_measured", {})
    other = {p: m for p, m in measured.items() if m.get("commit") != c["git"]["commit"]
             or m.get("date") != c["date"]}  # fmt: skip
    if not other:
        return []
    return ["Parts measured by another run (`--merge`): " + "; ".join(
        f"{p} on {m.get('date')} at commit `{m.get('commit')}` (`{m.get('command')}`)"
        for p, m in other.items()) + ".\n"]  # fmt: skip


def section(c: dict) -> Lines:
    sec = Section(c)
    g = c["git"]
    rows = with_notes(targets(sec), c.get("notes", {}))
    counts = {v: sum(1 for r in rows if r[2] is v) for v in (True, False, None)}
    sizes = [(sec.label(s["key"]), f"{s['agreements']:,}", f"{s['records']:,}",
              f"{s['bytes'] / 1e9:.2f} GB" if s["bytes"] >= 1e8 else f"{s['bytes'] / 1e6:.1f} MB",
              s["origin"]) for s in c["sizes"]]  # fmt: skip
    durations = ", ".join(f"{k} {v / 60:.1f} min" for k, v in c.get("part_seconds", {}).items())
    return [
        "\n## 7. Commands people run, at scale (issue 27)\n",
        f"Measured {c['date']} by `python {c['command']}` (this section only; the sections "
        f"above keep the figures of their own run), code at commit `{g['commit']}` "
        f"({g['subject']}), schema {g.get('schema')}. The whole run took "
        f"{c['elapsed'] / 60:.1f} min ({durations}). Load average {'/'.join(map(str, c['loadavg_start']))} "
        f"at the start, {'/'.join(map(str, c['loadavg_end']))} at the end, on a machine shared "
        f"with other work. Reads: {c['runs']} round-robin rounds; a run stopped after "
        f"{c['timeout']:,.0f} s counts as not finishing.\n",
        *_separately(c),
        *table(("size", "agreements", "records", "file", "where it came from"), sizes), "",
        *(["Left out: " + "; ".join(f"{x['part']} at {sec.label(x['size']) if x['size'] != '*' else 'every size'} "
                                    f"({x['reason']})" for x in c["skipped"]) + ".\n"]
          if c.get("skipped") else []),
        f"{counts[True]} targets met, {counts[False]} not met, {counts[None]} not measured.\n",
        *table(("target", "figure (medians)", "verdict", "what stands in the way"),
               [(t, f, VERDICT[ok], why) for t, f, ok, why in rows]), "",
        "### Start-up (seeded file)\n", *_commands_table(c.get("startup"), sec),
        "### Load (every run under GNU time)\n", *_commands_table(c.get("load"), sec),
        "### Reads\n", *_commands_table(c.get("reads"), sec),
        "### Report against `export -f json`\n", *_report_table(sec),
        "### Serve against `datasette` on the same file\n", *_serve_tables(sec),
        *_before(c),
    ]  # fmt: skip
