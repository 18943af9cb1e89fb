#!/usr/bin/env python3
"""Fill a kzdiplo database with N synthetic agreements (plus deals, parties, sectors and
citations) with a realistic skew, and measure how fast it loads.

    python benchmarks/synth.py /tmp/kz-1m.db --agreements 1000000

The database is created with ``kzdiplo --db PATH db init`` (migrated and seeded), then
the synthetic rows are written with the standard library's ``sqlite3`` and
``executemany`` in large transactions; by default foreign keys are off during the insert
and ``PRAGMA foreign_key_check`` verifies every reference at the end (it must find
nothing; ``--foreign-keys during`` enforces them row by row instead).

The shape of the data:

* partners: Kazakhstan signs every record; the other parties are drawn from a Zipf law
  over the ~250 countries (US, CN, RU, EU, TR... first) and a few hundred synthetic
  organisations, so a few partners are in most rows and most partners in very few;
* dates over 1992-2025 (more recent years more likely) in every precision (day, month,
  part_of_year, year, years), some missing;
* packages with counts, and parts of packages; deals with single amounts, ranges,
  approximate amounts, several currencies with USD figures, umbrella deals and parts;
* one synthetic source whose text holds every citation quote (each quote is one of its
  sentences, so "the quote is in the source" holds as for the real data).

Two load strategies can be compared (``--fts``, ``--indexes``):

* ``--fts triggers`` keeps the triggers during the load (migration 0002's search
  triggers: every record and every citation re-indexes its document; migration 0005's
  mark the partners cache stale); ``--fts rebuild`` drops them, loads, rebuilds
  ``search_index`` from the ``search_documents`` view in one statement and recreates the
  triggers with the exact SQL the database had;
* either way the derived tables (the partners cache, migration 0005) are rebuilt at the
  end with kzdiplo's own statements, as its loader does;
* ``--indexes before`` loads into the migrated schema's secondary indexes;
  ``--indexes after`` drops them first and recreates them (same SQL) after the load.

Statistics go to stderr and, with ``--stats-json FILE``, to a JSON file. A Rich
progress bar is shown on a terminal. Only the standard library and Rich (a kzdiplo
dependency) are needed.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from itertools import accumulate
from pathlib import Path

SYNTH_VERSION = 8  # bump when the generated data or the statistics change shape

# Partners a Kazakh diplomacy database meets most, most frequent first; the other
# countries follow in a seeded random order (the long tail).
HEAD_PARTNERS = [
    "US", "CN", "RU", "EU", "TR", "DE", "UZ", "KR", "JP", "FR", "GB", "KG", "IT", "IN",
    "AE", "SA", "AZ", "TJ", "TM", "PL", "QA", "HU", "NL", "ES", "IR", "PK", "MN", "BY",
]  # fmt: skip
# Sector popularity (most frequent first); any sector not listed follows.
SECTOR_ORDER = [
    "energy", "trade", "transport", "oil", "investment-protection", "economy", "logistics",
    "natural-gas", "minerals", "digital", "industry", "agriculture", "education", "security",
    "nuclear-energy", "electricity", "renewable-energy", "customs", "science", "healthcare",
    "culture", "rare-earths", "artificial-intelligence", "petrochemicals", "tungsten",
    "green-hydrogen", "higher-education", "fintech", "coal", "battery-materials",
    "creative-industries",
]  # fmt: skip

AGREEMENT_KINDS = [
    ("agreement", 45), ("memorandum", 25), ("declaration", 10), ("commitment", 8),
    ("package", 5), ("partnership_agreement", 5), ("accession", 2),
]  # fmt: skip
KIND_WORDS = {
    "agreement": "Agreement", "memorandum": "Memorandum of understanding",
    "declaration": "Joint declaration", "commitment": "Commitments", "package": "Package",
    "partnership_agreement": "Partnership agreement", "accession": "Accession",
}  # fmt: skip
DEAL_KINDS = [("investment", 40), ("funding", 25), ("acquisition", 15), ("fund", 10),
              ("package_value", 10)]  # fmt: skip
PAYER_ROLE = {"investment": "investor", "funding": "financier", "acquisition": "acquirer",
              "fund": "co-financier", "package_value": "investor"}  # fmt: skip
CURRENCIES = [("USD", 60, 1.0), ("EUR", 18, 1.08), ("CNY", 10, 0.14), ("RUB", 6, 0.011),
              ("JPY", 3, 0.0067), ("GBP", 3, 1.27)]  # fmt: skip
FIRST_RATES = "2006-01-01"  # ECB reference rates for every currency above (CNY, RUB: 2006)
LAST_RUB_RATE = "2022-03-01"  # the ECB's last RUB reference rate is of the day before
SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
QUALIFIERS = ["nearly", "about", "up to", "over", "approximately"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
PARTS_OF_YEAR = [("early", 1, 4), ("mid-", 5, 8), ("late", 9, 12)]
# precision, weight (None: no date)
PRECISIONS = [("day", 42), ("month", 25), ("year", 18), ("part_of_year", 6), ("years", 4),
              (None, 5)]  # fmt: skip
FIRST_YEAR, LAST_YEAR = 1992, 2025

COMMON_WORDS = """
cooperation development partnership strategic economic investment trade energy joint
bilateral regional agreement framework support projects expand strengthen signed parties
agreed government ministry national program plan implementation new further mutual
interests sides areas including infrastructure transport logistics industrial technology
supply production export import market financing capacity construction corridor pipeline
railway port terminal zone plant facility modernization reform security stability
dialogue visit summit meeting talks leaders president delegation working group committee
council forum commission roadmap protocol memorandum treaty accord package commitments
declaration growth sustainable green digital innovation education science culture
tourism agriculture water resources environment climate health medicine research
training exchange students universities youth sports customs border transit route cargo
freight container shipping aviation flights banking finance credit loan grant fund bank
insurance guarantees currency payments oil gas uranium copper zinc tungsten lithium rare
earths minerals mining deposits exploration processing refinery petrochemical fertilizer
steel aluminium chemicals electricity power wind solar hydro nuclear hydrogen grid
renewable generation coal Caspian Central Asia Eurasia Astana Almaty Shymkent Aktau
Atyrau Karaganda Pavlodar Kostanay Aktobe Turkistan Mangystau steppe region province
city capital district""".split()  # noqa: SIM905
SYLLABLES = ["ka", "ra", "ta", "na", "ma", "sa", "ba", "da", "ga", "la", "ya", "za",
             "kar", "tal", "ber", "mir", "zhan", "bek", "tau", "kol", "sai", "ata", "tur",
             "ken", "dar", "gul", "nur", "ast", "ul", "on", "ek", "yr", "am", "is"]  # fmt: skip


def figure(value: int) -> str:
    """An amount as a source would word it: 17 billion, 900 million."""
    return f"{value / 1e9:.3g} billion" if value >= 1e9 else f"{value / 1e6:.3g} million"


def cumulative_zipf(n: int, s: float) -> list[float]:
    return list(accumulate(1.0 / (k**s) for k in range(1, n + 1)))


class Picker:
    """Draw items with fixed weights (cumulative table + bisect: fast)."""

    def __init__(self, rng: random.Random, items: list, cum: list[float]) -> None:
        self.rng, self.items, self.cum, self.total = rng, items, cum, cum[-1]

    def __call__(self):
        return self.items[bisect.bisect(self.cum, self.rng.random() * self.total)]


def weighted(rng: random.Random, pairs: list[tuple]) -> Picker:
    return Picker(rng, [p[0] for p in pairs], list(accumulate(p[1] for p in pairs)))


def kzdiplo_command() -> list[str]:
    """The kzdiplo next to this interpreter (a virtualenv), else the one on PATH."""
    here = Path(sys.executable).parent / "kzdiplo"
    if here.exists():
        return [str(here)]
    found = shutil.which("kzdiplo")
    if found:
        return [found]
    return [sys.executable, "-m", "kzdiplo"]


class Generator:
    """Makes the synthetic rows, chunk by chunk, with ids continuing the seeded ones."""

    def __init__(self, conn: sqlite3.Connection, agreements: int, deal_ratio: float,
                 organizations: int, seed: int) -> None:  # fmt: skip
        self.rng = rng = random.Random(seed)
        self.n = agreements
        self.n_deals = round(agreements * deal_ratio)
        self.n_orgs = organizations
        q = conn.execute
        self.countries = {code: cid for cid, code in q("SELECT id, code FROM countries")}
        self.country_names = dict(q("SELECT id, name FROM countries"))
        self.kz = self.countries["KZ"]
        self.sectors = {slug: sid for sid, slug in q("SELECT id, slug FROM sectors")}
        self.sector_names = dict(q("SELECT id, lower(name) FROM sectors"))
        self.next_id = {
            t: q(f"SELECT COALESCE(max(id), 0) + 1 FROM {t}").fetchone()[0]
            for t in ("agreements", "deals", "parties", "record_sectors", "citations",
                      "organizations", "sources")
        }  # fmt: skip
        self.first_agreement = self.next_id["agreements"]
        self.first_deal = self.next_id["deals"]
        # partner order: head countries, then the rest shuffled (seeded)
        head = [c for c in HEAD_PARTNERS if c in self.countries]
        tail = sorted(c for c in self.countries if c not in head and c != "KZ")
        rng.shuffle(tail)
        self.partner_countries = [self.countries[c] for c in head + tail]
        self.pick_country = Picker(
            rng, self.partner_countries, cumulative_zipf(len(self.partner_countries), 1.4)
        )
        # the most active organisations belong to the most active partners
        self.pick_head_country = Picker(
            rng, self.partner_countries[: len(head)], cumulative_zipf(len(head), 1.4)
        )
        self.org_ids = list(
            range(self.next_id["organizations"], self.next_id["organizations"] + organizations)
        )
        self.pick_org = Picker(rng, self.org_ids, cumulative_zipf(max(1, organizations), 1.2))
        order = [s for s in SECTOR_ORDER if s in self.sectors]
        order += sorted(s for s in self.sectors if s not in order)
        self.pick_sector = Picker(
            rng, [self.sectors[s] for s in order], cumulative_zipf(len(order), 1.0)
        )
        self.pick_agreement_kind = weighted(rng, AGREEMENT_KINDS)
        self.pick_deal_kind = weighted(rng, DEAL_KINDS)
        self.pick_currency = weighted(rng, [(c, w) for c, w, _ in CURRENCIES])
        self.rates = {c: r for c, _, r in CURRENCIES}
        self.pick_precision = weighted(rng, PRECISIONS)
        years = list(range(FIRST_YEAR, LAST_YEAR + 1))
        self.pick_year = Picker(rng, years, list(accumulate((y - 1990) ** 1.5 for y in years)))
        # vocabulary: common words (Zipf) + a long tail of made-up words
        tail_words = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
                             for _ in range(6000)})  # fmt: skip
        rng.shuffle(tail_words)
        vocab = COMMON_WORDS + tail_words
        self.pick_word = Picker(rng, vocab, cumulative_zipf(len(vocab), 1.05))
        self.org_rows: list[tuple] = []
        self.org_names: dict[int, str] = {}
        self.source_id = self.next_id["sources"]
        self.sentences: list[str] = []
        self.package_ids: list[int] = []
        self.deal_ids: list[int] = []
        # What a package has left for parts: agreements by count, deals by USD high. A
        # part is linked only where it fits, so the database passes `db check` ("a
        # package is no smaller than its parts").
        self.package_room: dict[int, int] = {}
        self.deal_room: dict[int, int] = {}
        self.made_agreements = 0
        self.made_deals = 0

    # --- small pieces -----------------------------------------------------------------

    def words(self, k: int) -> str:
        return " ".join(self.pick_word() for _ in range(k))

    def partner(self) -> tuple[int | None, int | None]:
        """(country_id, organization_id): 88% a country, 12% an organisation."""
        if self.n_orgs and self.rng.random() < 0.12:
            return None, self.pick_org()
        return self.pick_country(), None

    def partner_name(self, p: tuple[int | None, int | None]) -> str:
        return self.country_names[p[0]] if p[0] is not None else self.org_names[p[1]]

    def date(self) -> tuple:
        """(start, end, precision, text, inferred, note) in any precision, or all None."""
        rng = self.rng
        precision = self.pick_precision()
        if precision is None:
            return (None, None, None, None, 0, None)
        y = self.pick_year()
        if precision == "day":
            d = dt.date(y, 1, 1) + dt.timedelta(days=rng.randrange(365))
            start = end = d.isoformat()
            text = f"On {d.day} {MONTHS[d.month - 1]} {y}" if rng.random() < 0.5 else None
        elif precision == "month":
            m = rng.randint(1, 12)
            last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
            start, end = f"{y:04d}-{m:02d}-01", f"{y:04d}-{m:02d}-{last:02d}"
            text = f"In {MONTHS[m - 1]} {y}"
        elif precision == "year":
            start, end, text = f"{y:04d}-01-01", f"{y:04d}-12-31", f"In {y}"
        elif precision == "part_of_year":
            word, m1, m2 = rng.choice(PARTS_OF_YEAR)
            last = (dt.date(y + (m2 == 12), m2 % 12 + 1, 1) - dt.timedelta(days=1)).day
            start, end = f"{y:04d}-{m1:02d}-01", f"{y:04d}-{m2:02d}-{last:02d}"
            text = f"In {word}{'' if word.endswith('-') else ' '}{y}"
        else:  # years
            span = rng.randint(1, 3)
            y = min(y, LAST_YEAR - span)
            start, end = f"{y:04d}-01-01", f"{y + span:04d}-12-31"
            text = f"Between {y} and {y + span}"
        inferred = 1 if rng.random() < 0.03 else 0
        note = "derived from an anniversary the source mentions" if inferred else None
        return (start, end, precision, text, inferred, note)

    def quote(self) -> str:
        return self.sentences[self.rng.randrange(len(self.sentences))]

    def quotes(self, n: int) -> list[str]:
        """``n`` different sentences: a record citing one sentence twice has one citation
        after `export` then `load`, so the round trip would not reproduce the file."""
        return [self.sentences[i] for i in self.rng.sample(range(len(self.sentences)), n)]

    # --- the fixed parts: organisations and the source ----------------------------------

    def fixed_rows(self) -> tuple[list[tuple], tuple]:
        rng = self.rng
        kinds = ["company"] * 6 + ["bank"] * 2 + ["institution", "government", "multilateral"]
        suffixes = {"company": ["Corp", "Group", "Holding", "Mining", "Energy", "Logistics"],
                    "bank": ["Bank", "Development Bank", "Investment Bank"],
                    "institution": ["Institute", "Agency", "Fund"],
                    "government": ["Ministry", "Agency"],
                    "multilateral": ["Organisation", "Union", "Council"]}  # fmt: skip
        for i, oid in enumerate(self.org_ids):
            kind = rng.choice(kinds)
            base = " ".join(w.capitalize() for w in self.words(rng.randint(1, 2)).split())
            name = f"{base} {rng.choice(suffixes[kind])}"
            if kind == "multilateral":
                country = None
            elif i < 50:
                country = self.pick_head_country()
            else:
                country = self.pick_country()
            self.org_names[oid] = name
            aliases = json.dumps([name.split()[0].upper()]) if rng.random() < 0.3 else "[]"
            self.org_rows.append((oid, f"synth-org-{i + 1:04d}", name, kind, country, 0,
                                  aliases, f"{name}: {self.words(10)}."))  # fmt: skip
        # the source: 3000 sentences that name partners and sectors; quotes are sentences
        for _ in range(3000):
            p = self.partner_name(self.partner())
            s = self.sector_names[self.pick_sector()]
            self.sentences.append(
                f"{p} and Kazakhstan agreed to {self.pick_word()} cooperation in {s}, "
                f"{self.words(rng.randint(6, 16))}."
            )
        text = " ".join(self.sentences)
        source = (self.source_id, "synthetic-wire", "Synthetic wire service digest",
                  "kzdiplo benchmarks/synth.py", "https://example.invalid/synthetic-wire",
                  "2026-01-01", 0, None, "media", "2026-01-01", text)  # fmt: skip
        return self.org_rows, source

    def organization_citations(self) -> list[tuple]:
        """One citation per organisation (every record rests on a source: `db check`)."""
        rows = []
        for oid in self.org_ids:
            rows.append((self.next_id["citations"], self.source_id, self.quote(), oid))
            self.next_id["citations"] += 1
        return rows

    # --- one chunk of agreements and deals ------------------------------------------------

    def chunk(self, n_agreements: int) -> dict[str, list[tuple]]:
        rng, rnd, kz = self.rng, self.rng.random, self.kz
        nid = self.next_id
        agreements, deals, parties, sectors, citations = [], [], [], [], []
        src = self.source_id
        for _ in range(n_agreements):
            aid = nid["agreements"]
            nid["agreements"] += 1
            kind = self.pick_agreement_kind()
            count = None
            parent = None
            if kind == "package":
                count = 2 + int(rng.paretovariate(1.3)) % 48
                self.package_ids.append(aid)
                self.package_room[aid] = count
            elif self.package_ids and rnd() < 0.05:
                parent = self.package_ids[-1 - rng.randrange(min(50, len(self.package_ids)))]
                if self.package_room[parent] > 0:
                    self.package_room[parent] -= 1
                else:
                    parent = None  # the package is full
            k = 1 if (r := rnd()) < 0.70 else 2 if r < 0.90 else 3 if r < 0.97 else 4
            chosen: list[tuple] = []
            while len(chosen) < k:
                p = self.partner()
                if p not in chosen:
                    chosen.append(p)
            sec = [self.pick_sector()]
            if rnd() < 0.35:
                extra = self.pick_sector()
                if extra != sec[0]:
                    sec.append(extra)
            names = ", ".join(self.partner_name(p) for p in chosen)
            title = f"{KIND_WORDS[kind]} on {self.sector_names[sec[0]]} between Kazakhstan " \
                    f"and {names}"  # fmt: skip
            if count:
                title = f"{count} agreements on {self.sector_names[sec[0]]} with {names}"
            aliases = json.dumps([f"{names} {kind} {aid}"]) if rnd() < 0.08 else "[]"
            date = self.date()
            summary = f"Kazakhstan and {names} {self.words(rng.randint(8, 20))}."
            notes = self.words(8) if rnd() < 0.1 else None
            agreements.append((aid, f"synth-agreement-{aid}", title, aliases, kind, count,
                               parent, *date, summary, notes))  # fmt: skip
            pid = nid["parties"]
            role = "signatory" if rnd() < 0.9 else "party"
            parties.append((pid, role, kz, None, aid, None))
            for j, (c, o) in enumerate(chosen, 1):
                parties.append((pid + j, role, c, o, aid, None))
            nid["parties"] = pid + 1 + len(chosen)
            for s in sec:
                sectors.append((nid["record_sectors"], s, aid, None))
                nid["record_sectors"] += 1
            nc = 1 if (r := rnd()) < 0.55 else 2 if r < 0.90 else 3
            for quote in self.quotes(nc):
                citations.append((nid["citations"], src, quote, None, None, aid, None))
                nid["citations"] += 1
        self.made_agreements += n_agreements
        # deals in proportion, linked to agreements made so far
        target = round(self.n_deals * self.made_agreements / self.n) - self.made_deals
        last_agreement = nid["agreements"] - 1
        for _ in range(max(0, target)):
            did = nid["deals"]
            nid["deals"] += 1
            kind = self.pick_deal_kind()
            payers = [self.partner()]
            if rnd() < 0.15:
                extra = self.partner()
                if extra != payers[0]:
                    payers.append(extra)
            date = self.date() if rnd() < 0.4 else (None, None, None, None, 0, None)
            if rnd() < 0.85:
                cur = self.pick_currency()
                if date[1] is not None and date[1] < FIRST_RATES:
                    cur = "USD"  # kzdiplo converts at ECB rates, which start later
                if cur == "RUB" and (date[1] is None or date[1] >= LAST_RUB_RATE):
                    cur = "USD"  # the ECB stopped publishing RUB: kzdiplo load refuses it
                low = int(round(10 ** (6 + rnd() * 4.3), -5)) or 100_000
                high = low if rnd() < 0.8 else int(low * (1.05 + rnd() * 0.55))
                approx = 1 if rnd() < 0.25 else 0
                qual = rng.choice(QUALIFIERS) if approx else None
                sym = SYMBOL.get(cur, cur + " ")
                shown = figure(low) if low == high else f"{figure(low)}-{figure(high)}"
                text = f"{qual + ' ' if qual else ''}{sym}{shown}"
                rate = self.rates[cur]
                amount = (
                    low,
                    high,
                    cur,
                    approx,
                    qual,
                    text,
                    round(low * rate),
                    round(high * rate),
                    rate,
                    None if cur == "USD" else "2025-12-31",
                    "stated in US dollars" if cur == "USD" else "synthetic fixed rate",
                )
            else:
                amount = (None, None, None, 0, None, None, None, None, None, None, None)
            stake = rng.choice(["a controlling stake", "49%", "a minority stake", "100%"]) \
                if kind == "acquisition" else None  # fmt: skip
            parent = None
            if self.deal_ids and rnd() < 0.05:
                parent = self.deal_ids[-1 - rng.randrange(min(200, len(self.deal_ids)))]
                room, need = self.deal_room.get(parent), amount[6]
                if room is not None and need is not None:
                    if need > room:
                        parent = None  # more than the package has left
                    else:
                        self.deal_room[parent] = room - need
            agreement = None
            if rnd() < 0.3:
                agreement = rng.randint(self.first_agreement, last_agreement)
            sec = self.pick_sector()
            names = ", ".join(self.partner_name(p) for p in payers)
            title = f"{kind.replace('_', ' ').capitalize()} by {names} in " \
                    f"{self.sector_names[sec]}"  # fmt: skip
            summary = f"{names} {self.words(rng.randint(8, 18))}."
            deals.append((did, f"synth-deal-{did}", title, kind, *amount, stake, parent,
                          agreement, None, None, *date, summary, None))  # fmt: skip
            self.deal_ids.append(did)
            if amount[7] is not None:
                self.deal_room[did] = amount[7]
            if len(self.deal_ids) > 200:  # parents are drawn from the last 200 deals
                self.deal_room.pop(self.deal_ids[-201], None)
            role = PAYER_ROLE[kind]
            for c, o in payers:
                parties.append((nid["parties"], role, c, o, None, did))
                nid["parties"] += 1
            parties.append((nid["parties"], rng.choice(["recipient", "beneficiary", "host"]),
                            kz, None, None, did))  # fmt: skip
            nid["parties"] += 1
            sectors.append((nid["record_sectors"], sec, None, did))
            nid["record_sectors"] += 1
            for j, quote in enumerate(self.quotes(1 if rnd() < 0.8 else 2)):
                field = "amount" if j == 0 and amount[0] is not None and rnd() < 0.5 else None
                citations.append((nid["citations"], src, quote, field, None, None, did))
                nid["citations"] += 1
        self.made_deals += max(0, target)
        return {"agreements": agreements, "deals": deals, "parties": parties,
                "record_sectors": sectors, "citations": citations}  # fmt: skip


INSERTS = {
    "organizations": "INSERT INTO organizations (id, slug, name, kind, country_id, anonymous, "
    "aliases, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "sources": "INSERT INTO sources (id, slug, title, publisher, url, published, "
    "published_inferred, published_note, kind, retrieved, text) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "agreements": "INSERT INTO agreements (id, slug, title, aliases, kind, count, parent_id, "
    "date_start, date_end, date_precision, date_text, date_inferred, date_note, summary, notes) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "deals": "INSERT INTO deals (id, slug, title, kind, amount_low, amount_high, currency, "
    "approximate, qualifier, amount_text, usd_low, usd_high, usd_rate, usd_rate_date, "
    "usd_rate_source, stake, parent_id, agreement_id, deposit_id, project_id, date_start, "
    "date_end, date_precision, date_text, date_inferred, date_note, summary, notes) "
    "VALUES (" + ", ".join("?" * 28) + ")",
    "parties": "INSERT INTO parties (id, role, country_id, organization_id, agreement_id, "
    "deal_id) VALUES (?, ?, ?, ?, ?, ?)",
    "record_sectors": "INSERT INTO record_sectors (id, sector_id, agreement_id, deal_id) "
    "VALUES (?, ?, ?, ?)",
    "citations": "INSERT INTO citations (id, source_id, kind, text, field, note, agreement_id, "
    "deal_id) VALUES (?, ?, 'quote', ?, ?, ?, ?, ?)",
    "organization_citations": "INSERT INTO citations (id, source_id, kind, text, "
    "organization_id) VALUES (?, ?, 'quote', ?, ?)",
}
LOADED_TABLES = ("agreements", "deals", "parties", "record_sectors", "citations")
REBUILD_SQL = (
    "INSERT INTO search_index (rowid, noun, key, label, title, body) "
    "SELECT doc_id, noun, key, label, title, body FROM search_documents"
)
FAST_PRAGMAS = ("PRAGMA synchronous = OFF", "PRAGMA journal_mode = MEMORY",
                "PRAGMA cache_size = -262144", "PRAGMA temp_store = MEMORY")  # fmt: skip


def derived_statements(conn: sqlite3.Connection) -> list[str]:
    """kzdiplo's statements that rebuild its derived tables, if the schema has them."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'partner_totals_cache'").fetchone()  # fmt: skip
    if not has:
        return []
    from kzdiplo.queries import REBUILD_PARTNER_TOTALS

    return list(REBUILD_PARTNER_TOTALS)


def log(message: str) -> None:
    print(f"synth: {message}", file=sys.stderr, flush=True)


def store_content_hash(conn: sqlite3.Connection, path: Path) -> str | None:
    """The content hash a `kzdiplo load` keeps (migration 0015), computed with kzdiplo's
    own code, so that `cite` on the file reads it as it would after a load; None when
    the schema has no place for it."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(derived_state)")}
    if "value" not in columns:
        return None
    from kzdiplo.contenthash import dataset_hash
    from kzdiplo.reader import SqliteReader

    reader = SqliteReader(path)
    try:
        value = dataset_hash(reader)  # a page of records at a time: any size
    finally:
        reader.close()
    with conn:
        conn.execute("UPDATE derived_state SET value = ?, stale = 0 WHERE name = 'content_hash'",
                     (value,))  # fmt: skip
    return value


def build(path: Path, agreements: int, *, fts: str = "rebuild", indexes: str = "after",
          foreign_keys: str = "after", chunk: int = 50_000, deal_ratio: float = 0.25,
          organizations: int = 300,
          seed: int = 20260101, fast: bool = True, progress: bool = True,
          schema_hook=None, content_hash: bool = True) -> dict:  # fmt: skip
    """Create ``path`` and fill it; returns the statistics (timings in seconds).

    ``foreign_keys="after"`` loads with enforcement off and checks every reference once
    at the end (``PRAGMA foreign_key_check``, counted in the load: any problem fails the
    build); ``"during"`` checks each row as it goes in.

    ``content_hash``: store the dataset's hash as a load does (read a page of records at
    a time: about 3 minutes at a million agreements).

    ``schema_hook(path)``, if given, runs after ``db init`` and before the load (the
    experiments use it to try schema variants on a scratch database).
    """
    stats: dict = {"synth_version": SYNTH_VERSION, "path": str(path), "agreements": agreements,
                   "fts": fts, "indexes": indexes, "foreign_keys": foreign_keys,
                   "chunk": chunk, "seed": seed,
                   "pragmas": list(FAST_PRAGMAS) if fast else [], "timings": {}}  # fmt: skip
    t = stats["timings"]
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([*kzdiplo_command(), "--db", str(path), "db", "init"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    t["db_init"] = time.perf_counter() - start
    if schema_hook is not None:
        schema_hook(path)

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys == 'during' else 'OFF'}")
    journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]  # kzdiplo's: WAL
    if fast:
        for pragma in FAST_PRAGMAS:
            conn.execute(pragma)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == (foreign_keys == "during")
    q = conn.execute

    # Every trigger on a table the load writes: the search index's (migration 0002) and,
    # from migration 0005, the ones that mark the partners cache stale.
    written = (*LOADED_TABLES, "organizations", "sources")
    triggers = q(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                 f"AND tbl_name IN ({', '.join('?' * len(written))}) ORDER BY rowid",
                 written).fetchall()  # fmt: skip
    placeholders = ", ".join("?" * len(LOADED_TABLES))
    index_sql = q(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders}) ORDER BY rowid",
        LOADED_TABLES,
    ).fetchall()
    stats["triggers"] = len(triggers)
    stats["secondary_indexes"] = [name for name, _ in index_sql]
    t0 = time.perf_counter()
    q("BEGIN")
    if fts == "rebuild":
        for name, _ in triggers:
            q(f'DROP TRIGGER "{name}"')
    if indexes == "after":
        for name, _ in index_sql:
            q(f'DROP INDEX "{name}"')
    q("COMMIT")
    t["drop"] = time.perf_counter() - t0

    gen = Generator(conn, agreements, deal_ratio, organizations, seed)
    counts = dict.fromkeys([*LOADED_TABLES, "organizations", "sources"], 0)
    t_gen = t_ins = 0.0
    t0 = time.perf_counter()
    orgs, source = gen.fixed_rows()
    t_gen += time.perf_counter() - t0
    t0 = time.perf_counter()
    q("BEGIN")
    conn.executemany(INSERTS["organizations"], orgs)
    conn.execute(INSERTS["sources"], source)
    conn.executemany(INSERTS["organization_citations"], gen.organization_citations())
    q("COMMIT")
    t_ins += time.perf_counter() - t0
    counts["organizations"], counts["sources"] = len(orgs), 1
    counts["citations"] = len(orgs)

    bar = None
    if progress and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,  # fmt: skip
            TimeRemainingColumn,
        )

        bar = Progress(TextColumn("[bold]synth[/] {task.description}"), BarColumn(),
                       MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True))  # fmt: skip
        bar.start()
        task = bar.add_task("agreements", total=agreements)
    done = 0
    next_log = time.perf_counter() + 10
    try:
        while done < agreements:
            n = min(chunk, agreements - done)
            t0 = time.perf_counter()
            rows = gen.chunk(n)
            t1 = time.perf_counter()
            q("BEGIN")
            for table in LOADED_TABLES:
                conn.executemany(INSERTS[table], rows[table])
                counts[table] += len(rows[table])
            q("COMMIT")
            t2 = time.perf_counter()
            t_gen += t1 - t0
            t_ins += t2 - t1
            done += n
            if bar is not None:
                bar.update(task, completed=done)
            elif progress and time.perf_counter() > next_log:
                log(f"{done:,}/{agreements:,} agreements")
                next_log = time.perf_counter() + 10
    finally:
        if bar is not None:
            bar.stop()
    t["generate"] = t_gen
    t["insert"] = t_ins

    t0 = time.perf_counter()
    if indexes == "after":
        if progress:
            log(f"creating {len(index_sql)} secondary indexes")
        q("BEGIN")
        for _, sql in index_sql:
            q(sql)
        q("COMMIT")
    t["create_indexes"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if fts == "rebuild":
        if progress:
            log("rebuilding the search index")
        q("BEGIN")
        q("DELETE FROM search_index")
        q(REBUILD_SQL)
        for _, sql in triggers:
            q(sql)
        q("COMMIT")
    t["fts_rebuild"] = time.perf_counter() - t0

    # Derived tables (migration 0005's partners cache): rebuilt at the end of a load, as
    # kzdiplo's own loader does, with kzdiplo's own statements.
    t0 = time.perf_counter()
    rebuild = derived_statements(conn)
    if rebuild:
        if progress:
            log("rebuilding derived tables (partners cache)")
        q("BEGIN")
        for sql in rebuild:
            q(sql)
        q("COMMIT")
    t["derived_rebuild"] = time.perf_counter() - t0
    stats["derived_rebuilt"] = bool(rebuild)

    t0 = time.perf_counter()
    if content_hash:
        if progress:
            log("storing the content hash")
        stats["content_hash"] = store_content_hash(conn, path)
    else:
        stats["content_hash"] = None
    # The stale-marking triggers were dropped for the load, so every derived table this
    # build did not refresh itself still says it is fresh with the seeded data alone
    # (the content hash when not stored; any newer one, like serve's browse tables):
    # mark them stale, so that kzdiplo rebuilds or recomputes them (`db upgrade`).
    refreshed = ["partner_totals"] * bool(rebuild) + ["content_hash"] * bool(stats["content_hash"])
    marks = ", ".join("?" * len(refreshed)) or "''"
    stale = conn.execute(f"UPDATE derived_state SET stale = 1 WHERE name NOT IN ({marks})",
                         refreshed).rowcount  # fmt: skip
    conn.commit()
    stats["derived_marked_stale"] = stale
    t["content_hash"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    problems = q("PRAGMA foreign_key_check").fetchall()
    t["foreign_key_check"] = time.perf_counter() - t0
    if problems:
        raise SystemExit(f"synth: foreign_key_check found {len(problems)} problems: {problems[:5]}")
    stats["foreign_key_problems"] = 0
    stats["search_documents"] = q("SELECT count(*) FROM search_index").fetchone()[0]
    stats["triggers_after"] = q("SELECT count(*) FROM sqlite_master "
                                "WHERE type = 'trigger'").fetchone()[0]  # fmt: skip
    stats["indexes_after"] = q(f"SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                               f"AND sql IS NOT NULL AND tbl_name IN ({placeholders})",
                               LOADED_TABLES).fetchone()[0]  # fmt: skip
    if fast:  # leave the file in the journal mode kzdiplo gave it
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    stats["journal_mode"] = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    stats["rows"] = counts
    rows = sum(counts.values())
    stats["total_rows"] = rows
    stats["bytes"] = path.stat().st_size
    load = t["insert"] + t["create_indexes"] + t["fts_rebuild"] + t["derived_rebuild"]
    if foreign_keys == "after":  # the references were checked here, not row by row
        load += t["foreign_key_check"]
    stats["rows_per_s"] = {
        "insert_only": rows / t["insert"],
        "insert_and_indexes": rows / (t["insert"] + t["create_indexes"]),
        # insert + secondary indexes + search index + derived tables: a usable database
        "load": rows / load,  # + the foreign key check when it ran after the insert
        "end_to_end": rows / (load + t["generate"]),  # with the Python data generation
    }
    return stats


def summary(stats: dict) -> str:
    t, r = stats["timings"], stats["rows_per_s"]
    return (
        f"{stats['total_rows']:,} rows "
        f"({', '.join(f'{k} {v:,}' for k, v in stats['rows'].items())}); "
        f"fts={stats['fts']} indexes={stats['indexes']} foreign_keys={stats['foreign_keys']}; "
        f"generate {t['generate']:.1f}s, "
        f"insert {t['insert']:.1f}s, indexes {t['create_indexes']:.1f}s, "
        f"search index {t['fts_rebuild']:.1f}s, derived {t['derived_rebuild']:.1f}s, "
        f"foreign_key_check {t['foreign_key_check']:.1f}s "
        f"(0 problems); rows/s: insert {r['insert_only']:,.0f}, load {r['load']:,.0f}, "
        f"end to end {r['end_to_end']:,.0f}; {stats['bytes'] / 1e6:,.0f} MB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="database file to create (replaced if it exists)")
    parser.add_argument(
        "--agreements",
        "-n",
        type=int,
        default=100_000,
        help="number of synthetic agreements (default 100000)",
    )
    parser.add_argument(
        "--deal-ratio", type=float, default=0.25, help="deals per agreement (default 0.25)"
    )
    parser.add_argument(
        "--organizations", type=int, default=300, help="synthetic organisations (default 300)"
    )
    parser.add_argument(
        "--fts",
        choices=["triggers", "rebuild"],
        default="rebuild",
        help="keep the search triggers during the load, or drop them and "
        "rebuild the index afterwards (default)",
    )
    parser.add_argument(
        "--indexes",
        choices=["before", "after"],
        default="after",
        help="secondary indexes present during the load, or created after it (default)",
    )
    parser.add_argument(
        "--foreign-keys",
        choices=["during", "after"],
        default="after",
        help="check references row by row during the insert, or all at once after it "
        "(default; PRAGMA foreign_key_check, counted in the load)",
    )
    parser.add_argument(
        "--chunk", type=int, default=50_000, help="agreements per transaction (default 50000)"
    )
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--safe", action="store_true", help="keep SQLite's default durability PRAGMAs (slower)"
    )
    parser.add_argument(
        "--content-hash", action=argparse.BooleanOptionalAction, default=True,
        help="store the content hash as a load does (default; about 3 min at a million)",
    )  # fmt: skip
    parser.add_argument("--stats-json", type=Path, help="also write the statistics here")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    if args.fts == "triggers" and args.indexes == "after":
        parser.error(
            "--fts triggers needs --indexes before (each trigger looks up the "
            "record's citations through ix_citations_*)"
        )
    if args.path.exists() and not args.force:
        parser.error(f"{args.path} exists (use --force to replace it)")
    if args.agreements < 1:
        parser.error("--agreements must be at least 1")
    stats = build(
        args.path,
        args.agreements,
        fts=args.fts,
        indexes=args.indexes,
        foreign_keys=args.foreign_keys,
        chunk=args.chunk,
        deal_ratio=args.deal_ratio,
        organizations=args.organizations,
        seed=args.seed,
        fast=not args.safe,
        content_hash=args.content_hash,
    )
    log(summary(stats))
    if args.stats_json:
        args.stats_json.write_text(json.dumps(stats, indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
