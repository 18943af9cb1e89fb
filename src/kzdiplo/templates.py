"""``kzdiplo new``: skeletons of load-file records, one per section (see seeds/README.md)."""

from __future__ import annotations

HEADER = """\
# A kzdiplo load file: fill in what your source says, delete what it does not, then
#   kzdiplo load --dry-run this.yaml   (shows what would change)
#   kzdiplo load this.yaml
# Every record needs at least one citation: `quote:` a verbatim excerpt of a source whose
# text is held (give `text:` or `text_file:` on the source; it is checked), or `summary:`
# what a source says, in your own words (never a copied sentence). Format: seeds/README.md
"""

SKELETONS = {
    "sources": """\
sources:
  - slug: publisher-yyyy-mm-dd          # lowercase letters, digits and hyphens
    title: "TITLE AS PUBLISHED"
    publisher: "PUBLISHER"
    url: https://...
    published: 2026-01-31               # or leave out when unknown
    kind: media                         # official | company | media | analysis
    retrieved: 2026-02-01
    text: |                             # optional: the text your quotes come from
      ...
""",
    "agreements": """\
agreements:
  - slug: kz-xx-short-name
    title: "TITLE AS THE SOURCE GIVES IT"
    kind: agreement                     # declaration | memorandum | package | accession |
                                        # partnership_agreement | commitment | agreement
    stage: signed                       # announced | letter_of_interest | memorandum | signed |
                                        # approved | in_force | disbursing | completed | ...
    count: null                         # number of agreements, for a package
    date: {value: 2026-01, text: "in January 2026"}   # 2026, 2026-01, 2026-01-31 or 2035/2036
    parties:
      - {partner: KZ, role: signatory}  # a country/bloc code or an organisation slug
    sectors: [energy]                   # sector slugs: kzdiplo sql "SELECT slug FROM sectors"
    summary: "..."
    citations:
      - {source: publisher-yyyy-mm-dd, quote: "THE SENTENCE IT RESTS ON"}
""",
    "deals": """\
deals:
  - slug: short-name
    title: "WHAT THE MONEY IS FOR"
    kind: funding                       # funding | investment | acquisition | package_value | fund
    stage: announced                    # as firmly as the source says, never firmer
    amount: {low: 900000000, high: 900000000, currency: USD, text: "$900 million"}
    figure: flow                        # flow | target | ceiling ("up to"): never added
    parties:                            # money is credited through investor, financier,
      - {partner: us-exim, role: financier}    # co-financier, acquirer / recipient,
      - {partner: KZ, role: recipient}         # beneficiary only; a partner that shares
      # a sum with others is credited only with a share a source states:
      # share: {low: 1500000000, high: 1500000000, source: SLUG, summary: "..."}
    agreement: null                     # slugs of the agreement, deposit or project
    sectors: [minerals]
    citations:                          # a citation for a field states its value
      - {source: publisher-yyyy-mm-dd, field: amount, summary: "Puts it at $900 million."}
""",
    "deposits": """\
deposits:
  - slug: deposit-name
    name: "NAME AS GIVEN"
    commodity: tungsten
    status: "..."
    location: "PLACE AS THE SOURCE GIVES IT"
    coordinates: {latitude: 0.0, longitude: 0.0, precision: site}   # only from a source
    sectors: [tungsten]
    citations:
      - {source: publisher-yyyy-mm-dd, quote: "...", field: coordinates}
""",
    "projects": """\
projects:
  - slug: project-name
    name: "NAME AS GIVEN"
    kind: "..."
    status: "..."
    capacity: {value: 2.4, unit: GW}
    cost: {low: 14000000000, high: 15000000000, currency: USD}
    started: 2025-08
    completion: 2035/2036
    parties:
      - {partner: rosatom, role: contractor}
    citations:
      - {source: publisher-yyyy-mm-dd, quote: "..."}
""",
    "events": """\
events:
  - slug: short-name
    title: "WHAT HAPPENED"
    aliases: ["Токаев", "Тоқаев"]       # its people and places as the region writes them
    kind: visit                         # visit | summit | signing | announcement | decision | ...
    date: 2026-01-31
    location: "..."
    coordinates: {latitude: 0.0, longitude: 0.0, precision: settlement}   # scripts/place_records.py
    parties:
      - {partner: KZ, role: host}
    agreement: null                     # the records it concerns, by slug
    citations:
      - {source: publisher-yyyy-mm-dd, quote: "..."}
""",
    "organizations": """\
organizations:
  - slug: organisation-name
    name: "NAME AS GIVEN"
    kind: company                       # company | bank | institution | multilateral | government
    country: US                         # home country code, if any
    citations:
      - {source: publisher-yyyy-mm-dd, quote: "..."}
""",
}


def template(section: str | None = None) -> str:
    """A skeleton for ``section`` (all sections when None), with a header of instructions."""
    chosen = [SKELETONS[section]] if section else list(SKELETONS.values())
    return HEADER + "\n" + "\n".join(chosen)
