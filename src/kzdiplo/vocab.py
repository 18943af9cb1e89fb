"""The controlled vocabularies of the schema, in one place.

The models build their CHECK constraints from these; the loader, the queries and the
CLI read them from here, without importing SQLAlchemy (start-up time).
"""


def in_words(values: tuple[str, ...]) -> str:
    """A vocabulary as a sentence lists it: ``("a", "b", "c")`` -> ``"a, b or c"``."""
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


PRECISIONS = ("day", "month", "part_of_year", "year", "years")
ROLES = (
    "signatory", "party", "acquirer", "investor", "financier", "co-financier",
    "recipient", "beneficiary", "operator", "contractor", "developer", "host",
    "visitor", "member", "participant", "subject",
)  # fmt: skip
SOURCE_KINDS = ("official", "company", "media", "analysis")
PARTNER_KINDS = ("country", "bloc")
ORGANIZATION_KINDS = ("company", "bank", "institution", "multilateral", "government")
AGREEMENT_KINDS = (
    "declaration", "memorandum", "package", "accession", "partnership_agreement",
    "commitment", "agreement",
)  # fmt: skip
DEAL_KINDS = ("funding", "investment", "acquisition", "package_value", "fund")
# Where an agreement or deal stands, weakest first: a record holds the stage its sources
# support, never a firmer one; each change is a row of stage_changes with its citation.
STAGES = (
    "announced", "letter_of_interest", "memorandum", "signed", "approved", "in_force",
    "disbursing", "completed", "suspended", "cancelled",
)  # fmt: skip
# A citation is a verbatim excerpt of a source whose text we hold (checked against it),
# or our own summary of a source we only read about.
CITATION_KINDS = ("quote", "summary")
# A second source either says otherwise, or makes the record more precise.
DISCREPANCY_KINDS = ("disagreement", "refinement")
# How a source rests on another: a copy of it, or a report whose claim comes from it.
SOURCE_RELATIONS = ("republishes", "reports_on")
# Roles through which money moves: totals credit a partner only through these.
PAYER_ROLES = ("investor", "financier", "co-financier", "acquirer")
RECIPIENT_ROLES = ("recipient", "beneficiary")
# What a deal's amount is: money that moves (a flow), or a target or ceiling that totals
# show apart and never add as a partner's money ("¥3 trillion over five years", "up to").
FIGURES = ("flow", "target", "ceiling")
# How the money ledger (the money_flows view) credits a partner with a deal's money:
# its stated share, the whole deal (the only partner on its side), nothing of its own
# (a sum shared with other payers, or received with other recipients, split not stated),
# a target or ceiling, involved in no money-moving role, or counted through another deal.
MONEY_BASES = (
    "stated_share", "whole", "shared", "regional", "target", "ceiling", "involved",
    "counted_elsewhere",
)  # fmt: skip
# How precisely coordinates place a deposit, project or event: the exact site, the site as a
# source describes it, the nearest settlement (a village, town or city: "city" would be a
# second word for it), a district, a region.
LOCATION_PRECISIONS = ("exact", "site", "settlement", "district", "region")
