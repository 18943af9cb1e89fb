"""The schema of record: typed SQLAlchemy models for every kzdiplo table.

Table and column names are a public interface (users write SQL against them), and
every table and column carries a ``comment`` that ``docs/schema.md`` is generated from.

Conventions:
- natural keys are ``slug`` (``code`` for countries) and are unique;
- a *partial date* is ``<p>_start``/``<p>_end`` (the range it may fall in),
  ``<p>_precision``, ``<p>_text`` (the source's wording), ``<p>_inferred`` and
  ``<p>_note`` (how it was derived): a ``PartialDate`` mixin adds them, with CHECKs
  from ``partial_date_checks()`` (``stage_changes`` has the first four only);
- an *amount* is ``<p>_low``/``<p>_high`` in whole units of ``currency``, never a midpoint;
- ``parties``, ``record_sectors`` and ``citations`` link to exactly one record through
  one of several nullable foreign keys, so every link has real referential integrity
  (``RecordLinksMixin``, ``SubjectLinksMixin``);
- a column's SQL type comes from its annotation: ``Base.type_annotation_map`` and the
  ``Annotated`` types (``Slug``, ``Money``, ``Flag``...); a mixin's columns follow the
  table's own, which is why blocks in the middle of a table stay where they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from kzdiplo.vocab import (
    AGREEMENT_KINDS,
    CITATION_KINDS,
    DEAL_KINDS,
    DISCREPANCY_KINDS,
    FIGURES,
    LOCATION_PRECISIONS,
    ORGANIZATION_KINDS,
    PARTNER_KINDS,
    PRECISIONS,
    ROLES,
    SOURCE_KINDS,
    SOURCE_RELATIONS,
    STAGES,
    in_words,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # A str column is TEXT unless it gives a length (String(n)); a float is FLOAT (the
    # default since SQLAlchemy 2.1 is DOUBLE); int, bool and date keep the defaults
    # (INTEGER, BOOLEAN, DATE).
    type_annotation_map: ClassVar[dict[Any, Any]] = {str: Text, float: Float}


# Column types that recur: what each kind of column is, said once. A mapped_column on
# the attribute adds to (or, for the comment, replaces) what the type says.
IntPk = Annotated[
    int, mapped_column(primary_key=True, comment="Row id (the slug is the stable key)")
]
Slug = Annotated[
    str,
    mapped_column(String(120), unique=True, comment="Stable natural key, used in seeds and URLs"),
]
Aliases = Annotated[
    list[str],
    mapped_column(
        JSON, default=list, comment="JSON list of other names, spellings and translations"
    ),
]
# A flag that is false unless set, in the ORM (default) and in SQL (server_default).
Flag = Annotated[bool, mapped_column(default=False, server_default=false())]
# Money in whole units of a currency, as BIGINT.
Money = Annotated[int | None, mapped_column(BigInteger)]
Currency = Annotated[str | None, mapped_column(String(3), comment="ISO 4217 code")]
Precision = Annotated[str | None, mapped_column(String(12), comment=in_words(PRECISIONS))]
Summary = Annotated[str | None, mapped_column(comment="What the sources say of it")]
Place = Annotated[str | None, mapped_column(comment="Place, when a source gives one")]
# The source a claim rests on: a source that claims rest on cannot be deleted.
SourceRef = Annotated[
    int,
    mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"), index=True, comment="The source"),
]
_DERIVED = "True when derived, not stated"


def _in(column: str, values: tuple[str, ...]) -> str:
    """``column`` is one of ``values``, as an OR chain: SQLite evaluates an IN list in a
    CHECK by building a temporary index for every inserted row (migration 0007)."""
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def exactly_one(*columns: str) -> str:
    """SQL true when exactly one of ``columns`` is not NULL (portable: no bool arithmetic)."""
    return " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns) + " = 1"


def partial_date_checks(prefix: str) -> list[CheckConstraint]:
    """CHECKs for a partial date: all-or-nothing, start <= end, a known precision."""
    s, e, p = f"{prefix}_start", f"{prefix}_end", f"{prefix}_precision"
    return [
        CheckConstraint(
            f"({s} IS NULL AND {e} IS NULL AND {p} IS NULL) OR "
            f"({s} IS NOT NULL AND {e} IS NOT NULL AND {p} IS NOT NULL AND {s} <= {e})",
            name=f"{prefix}_range",
        ),
        CheckConstraint(f"{p} IS NULL OR {_in(p, PRECISIONS)}", name=f"{prefix}_precision"),
    ]


def amount_checks(prefix: str, currency: str) -> list[CheckConstraint]:
    """CHECKs for an amount: non-negative, low <= high, both or neither, a 3-letter currency."""
    lo, hi = f"{prefix}_low", f"{prefix}_high"
    return [
        CheckConstraint(
            f"({lo} IS NULL AND {hi} IS NULL) OR "
            f"({lo} IS NOT NULL AND {hi} IS NOT NULL AND {lo} >= 0 AND {lo} <= {hi} "
            f"AND {currency} IS NOT NULL)",
            name=f"{prefix}_range",
        ),
        CheckConstraint(
            f"{currency} IS NULL OR (length({currency}) = 3 AND upper({currency}) = {currency})",
            name=f"{prefix}_currency",
        ),
    ]


def _record_fk(table: str, comment: str) -> Any:
    return mapped_column(ForeignKey(f"{table}.id", ondelete="CASCADE"), comment=comment)


def _link_fk(table: str, comment: str) -> Any:
    return mapped_column(ForeignKey(f"{table}.id", ondelete="SET NULL"), comment=comment)


class PartialDate:
    """Base of a mixin with the six columns of the partial date ``<prefix>_*`` (the
    module docstring says what they hold), given in the class statement:
    ``class StartedMixin(PartialDate, prefix="started", start=..., ...)``. Each keyword
    is its column's comment; ``precision`` defaults to the vocabulary's, ``index``
    indexes ``<prefix>_start``. The table adds ``partial_date_checks(prefix)`` to its
    ``__table_args__``. mypy sees no such attributes: nothing reads them through the
    ORM (the loader and the queries use the tables)."""

    def __init_subclass__(
        cls,
        *,
        prefix: str | None = None,
        start: str = "",
        end: str = "",
        text: str = "",
        note: str = "",
        precision: str | None = None,
        index: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if prefix is not None:  # a mixin's own statement, not a table that uses it
            columns: dict[str, tuple[Any, str | None]] = {
                "start": (Mapped[dt.date | None], start),
                "end": (Mapped[dt.date | None], end),
                "precision": (Mapped[Precision], precision),
                "text": (Mapped[str | None], text),
                "inferred": (Mapped[Flag], _DERIVED),
                "note": (Mapped[str | None], note),
            }
            cls.__annotations__ = {f"{prefix}_{part}": kind for part, (kind, _) in columns.items()}
            for part, (_, comment) in columns.items():
                column = mapped_column(index=index if part == "start" else None, comment=comment)
                setattr(cls, f"{prefix}_{part}", column)
        super().__init_subclass__(**kwargs)  # then a table's mapping (DeclarativeBase)


class DatedMixin(
    PartialDate, prefix="date", index=True, start="Earliest date it may fall on",
    end="Latest date it may fall on", text="The source's wording of the date",
    note="How the date was derived",
):  # fmt: skip
    """A record's date, ``date_*``."""


class StartedMixin(
    PartialDate, prefix="started", start="Earliest start date", end="Latest start date",
    precision="Start date precision", text="The source's wording", note="How the start was derived",
):  # fmt: skip
    """A project's start, ``started_*``."""


class CompletionMixin(
    PartialDate, prefix="completion", start="Earliest expected completion",
    end="Latest expected completion", precision="Completion date precision",
    text="The source's wording", note="How it was derived",
):  # fmt: skip
    """A project's expected completion, ``completion_*``."""


class DescribedMixin:
    """Free text: what the sources say, and caveats."""

    summary: Mapped[Summary]
    notes: Mapped[str | None] = mapped_column(
        comment="Caveats: naming, translation, interpretations"
    )


class StagedMixin:
    """Where an agreement or deal stands; its history is in ``stage_changes``.

    A column-level CHECK, so SQLite can add it with ADD COLUMN (migration 0009)."""

    stage: Mapped[str | None] = mapped_column(
        String(20),
        CheckConstraint(f"stage IS NULL OR {_in('stage', STAGES)}", name="stage"),
        comment="Where it stands, as firmly as its sources say: " + ", ".join(STAGES),
    )


class LocatedMixin:
    """A place: its name as a source gives it, and coordinates when a source gives them.

    Column-level CHECKs only (SQLite can add those with ADD COLUMN); that latitude and
    longitude come together is checked by the loader.
    """

    location: Mapped[Place]
    latitude: Mapped[float | None] = mapped_column(
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        comment="WGS 84 latitude, when a source gives coordinates",
    )
    longitude: Mapped[float | None] = mapped_column(
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        comment="WGS 84 longitude, when a source gives coordinates",
    )
    location_precision: Mapped[str | None] = mapped_column(
        String(12),
        CheckConstraint(
            f"location_precision IS NULL OR {_in('location_precision', LOCATION_PRECISIONS)}",
            name="location_precision",
        ),
        comment="How precise the coordinates are: " + ", ".join(LOCATION_PRECISIONS),
    )


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (
        CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),
        {"comment": "Documents that claims rest on (articles, statements, releases)"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    title: Mapped[str] = mapped_column(comment="Title as published")
    publisher: Mapped[str | None] = mapped_column(comment="Publisher or author")
    url: Mapped[str | None] = mapped_column(comment="Where the document is published")
    published: Mapped[dt.date | None] = mapped_column(comment="Publication date")
    published_inferred: Mapped[Flag] = mapped_column(
        comment="True when the publication date is inferred, not printed",
    )
    published_note: Mapped[str | None] = mapped_column(comment="How the date was established")
    kind: Mapped[str] = mapped_column(String(20), comment=in_words(SOURCE_KINDS))
    retrieved: Mapped[dt.date | None] = mapped_column(comment="When we retrieved it")
    text: Mapped[str | None] = mapped_column(
        comment="The full text we hold; citation quotes are checked against it"
    )

    citations: Mapped[list[Citation]] = relationship(back_populates="source")


class Sector(Base):
    __tablename__ = "sectors"
    __table_args__ = ({"comment": "Sector taxonomy: a filter on a parent includes its children"},)

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    name: Mapped[str] = mapped_column(comment="Display name")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("sectors.id", ondelete="SET NULL"), comment="Parent sector"
    )
    aliases: Mapped[Aliases]
    description: Mapped[str | None] = mapped_column(comment="What the sector covers")

    parent: Mapped[Sector | None] = relationship(back_populates="children", remote_side="Sector.id")
    children: Mapped[list[Sector]] = relationship(back_populates="parent")


class Country(Base):
    __tablename__ = "countries"
    __table_args__ = (
        CheckConstraint(_in("kind", PARTNER_KINDS), name="kind"),
        {"comment": "ISO 3166 countries (from pycountry) and blocs such as the EU"},
    )

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(
        String(2), unique=True, comment="ISO 3166-1 alpha-2 code, or a bloc code (EU)"
    )
    alpha3: Mapped[str | None] = mapped_column(
        String(3), unique=True, comment="ISO 3166-1 alpha-3 code"
    )
    numeric: Mapped[str | None] = mapped_column(String(3), comment="ISO 3166-1 numeric code")
    name: Mapped[str] = mapped_column(comment="Short name (ISO 3166)")
    official_name: Mapped[str | None] = mapped_column(comment="Official name (ISO 3166)")
    kind: Mapped[str] = mapped_column(String(10), comment=in_words(PARTNER_KINDS))
    aliases: Mapped[Aliases]
    relationship_level: Mapped[str | None] = mapped_column(
        comment="Relationship with Kazakhstan in the source's own words"
    )
    summary: Mapped[Summary]

    organizations: Mapped[list[Organization]] = relationship(back_populates="country")


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(_in("kind", ORGANIZATION_KINDS), name="kind"),
        {"comment": "Companies, banks, institutions and multilateral bodies"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    name: Mapped[str] = mapped_column(
        comment="Name as the source gives it (a label when the source names none)"
    )
    kind: Mapped[str] = mapped_column(String(20), comment=in_words(ORGANIZATION_KINDS))
    country_id: Mapped[int | None] = mapped_column(
        ForeignKey("countries.id", ondelete="SET NULL"),
        comment="Home country or bloc; a filter on it finds this organisation too",
    )
    anonymous: Mapped[Flag] = mapped_column(
        comment="True when the source does not name it",
    )
    aliases: Mapped[Aliases]
    summary: Mapped[Summary]

    country: Mapped[Country | None] = relationship(back_populates="organizations")


class Agreement(StagedMixin, DatedMixin, DescribedMixin, Base):
    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint(_in("kind", AGREEMENT_KINDS), name="kind"),
        CheckConstraint("count IS NULL OR count > 0", name="count"),
        *partial_date_checks("date"),
        {"comment": "Agreements, declarations, memoranda and packages of agreements"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    title: Mapped[str] = mapped_column(comment="Title as the source gives it")
    aliases: Mapped[Aliases]
    kind: Mapped[str] = mapped_column(
        String(30),
        comment=in_words(AGREEMENT_KINDS),
    )
    count: Mapped[int | None] = mapped_column(
        Integer, comment="Number of agreements in a package (one row, not one row each)"
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="SET NULL"),
        comment="The package this agreement is a part of",
    )


class MineralDeposit(LocatedMixin, DescribedMixin, Base):
    __tablename__ = "mineral_deposits"
    __table_args__ = (
        CheckConstraint("count IS NULL OR count > 0", name="count"),
        {"comment": "Mineral deposits and groups of deposits"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    name: Mapped[str] = mapped_column(comment="Name as the source gives it")
    aliases: Mapped[Aliases]
    commodity: Mapped[str | None] = mapped_column(comment="Main commodity (tungsten, rare earths)")
    status: Mapped[str | None] = mapped_column(comment="Development status in the source's terms")
    count: Mapped[int | None] = mapped_column(
        Integer, comment="Number of deposits when the row is a group (50)"
    )


class InfrastructureProject(StartedMixin, CompletionMixin, LocatedMixin, DescribedMixin, Base):
    __tablename__ = "infrastructure_projects"
    __table_args__ = (
        CheckConstraint("capacity_value IS NULL OR capacity_value >= 0", name="capacity"),
        *amount_checks("cost", "cost_currency"),
        *partial_date_checks("started"),
        *partial_date_checks("completion"),
        {"comment": "Infrastructure and technology projects (plants, routes, centres)"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    name: Mapped[str] = mapped_column(comment="Name as the source gives it")
    aliases: Mapped[Aliases]
    kind: Mapped[str | None] = mapped_column(comment="What it is (nuclear power plant, route)")
    status: Mapped[str | None] = mapped_column(comment="Status in the source's terms")
    capacity_value: Mapped[float | None] = mapped_column(comment="Capacity figure (2.4)")
    capacity_unit: Mapped[str | None] = mapped_column(String(20), comment="Capacity unit (GW)")
    capacity_text: Mapped[str | None] = mapped_column(comment="The source's wording")
    cost_low: Mapped[Money] = mapped_column(comment="Lowest stated cost")
    cost_high: Mapped[Money] = mapped_column(comment="Highest stated cost")
    cost_currency: Mapped[Currency]
    cost_approximate: Mapped[Flag] = mapped_column(comment="True for nearly/about figures")
    cost_qualifier: Mapped[str | None] = mapped_column(
        comment="The vague word: nearly, up to, about"
    )
    cost_text: Mapped[str | None] = mapped_column(comment="The source's wording of the cost")
    # Added by migration 0016 (which fills them for the rows it finds), so the CHECK is
    # on a column: SQLite adds column CHECKs with ADD COLUMN.
    cost_usd_low: Mapped[Money] = mapped_column(comment="cost_low in US dollars")
    cost_usd_high: Mapped[Money] = mapped_column(
        CheckConstraint(
            "cost_usd_low IS NULL OR (cost_usd_low >= 0 AND cost_usd_low <= cost_usd_high)",
            name="cost_usd",
        ),
        comment="cost_high in US dollars",
    )
    cost_usd_rate: Mapped[float | None] = mapped_column(
        comment="USD per unit of cost_currency used"
    )
    cost_usd_rate_date: Mapped[dt.date | None] = mapped_column(
        comment="Day of that rate, the one nearest the end of the completion date (else of the "
        "start date, else the publication day of the source cited for the cost)"
    )
    cost_usd_rate_source: Mapped[str | None] = mapped_column(
        comment="Where the rate comes from (ECB, or a rate a source states)"
    )


class Deal(StagedMixin, DatedMixin, DescribedMixin, Base):
    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint(_in("kind", DEAL_KINDS), name="kind"),
        *amount_checks("amount", "currency"),
        CheckConstraint("usd_low IS NULL OR (usd_low >= 0 AND usd_low <= usd_high)", name="usd"),
        *partial_date_checks("date"),
        {"comment": "Money raised, committed or invested, with honest amounts and parties"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    title: Mapped[str] = mapped_column(comment="What the money is for")
    kind: Mapped[str] = mapped_column(String(20), comment=in_words(DEAL_KINDS))
    amount_low: Mapped[Money] = mapped_column(
        comment="Lowest stated amount, whole units (NULL: not stated)"
    )
    amount_high: Mapped[Money] = mapped_column(
        comment="Highest stated amount (= low for a single figure)"
    )
    currency: Mapped[Currency]
    approximate: Mapped[Flag] = mapped_column(comment="True for nearly/about figures")
    qualifier: Mapped[str | None] = mapped_column(comment="The vague word: nearly, up to, about")
    amount_text: Mapped[str | None] = mapped_column(comment="The source's wording of the amount")
    figure: Mapped[str] = mapped_column(
        String(10),
        CheckConstraint(_in("figure", FIGURES), name="figure"),
        server_default="flow",
        comment="What the amount is: flow (money that moves), target or ceiling (shown "
        "apart, never added as a partner's money)",
    )
    usd_low: Mapped[Money] = mapped_column(comment="amount_low in US dollars")
    usd_high: Mapped[Money] = mapped_column(comment="amount_high in US dollars")
    usd_rate: Mapped[float | None] = mapped_column(comment="USD per unit of currency used")
    usd_rate_date: Mapped[dt.date | None] = mapped_column(comment="Date of that rate")
    usd_rate_source: Mapped[str | None] = mapped_column(comment="Where the rate comes from")
    stake: Mapped[str | None] = mapped_column(comment="Stake acquired, in the source's words")
    stake_percent: Mapped[float | None] = mapped_column(
        CheckConstraint("stake_percent BETWEEN 0 AND 100", name="stake_percent"),
        comment="The stake as a percentage, when a source gives one (cite it: field stake_percent)",
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"),
        comment="The umbrella deal this is a part of (totals count the umbrella only)",
    )
    agreement_id: Mapped[int | None] = _link_fk("agreements", "The agreement it belongs to")
    deposit_id: Mapped[int | None] = _link_fk("mineral_deposits", "The deposit it concerns")
    project_id: Mapped[int | None] = _link_fk("infrastructure_projects", "The project it funds")
    # No ON DELETE action: SQLite added it with ADD COLUMN, whose inline REFERENCES
    # SQLAlchemy reflects without one (migration 0009); an event a deal names stays.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", use_alter=True),  # deals and events name each other
        comment="The event at which a source says it was announced or signed",
    )


class Event(LocatedMixin, DatedMixin, DescribedMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        *partial_date_checks("date"),
        {"comment": "The timeline: visits, summits, signings, decisions"},
    )

    id: Mapped[IntPk]
    slug: Mapped[Slug]
    title: Mapped[str] = mapped_column(comment="What happened")
    # Added by migration 0014 to a table with rows: SQLite's ADD COLUMN needs the default.
    aliases: Mapped[list[str]] = mapped_column(
        JSON,
        default=list,
        server_default="[]",
        comment="JSON list of the names in the title as people in the region write them",
    )
    kind: Mapped[str | None] = mapped_column(
        String(20), comment="visit, summit, signing, announcement, decision..."
    )
    location: Mapped[Place]
    agreement_id: Mapped[int | None] = _link_fk("agreements", "The agreement it concerns")
    deal_id: Mapped[int | None] = _link_fk("deals", "The deal it concerns")
    deposit_id: Mapped[int | None] = _link_fk("mineral_deposits", "The deposit it concerns")
    project_id: Mapped[int | None] = _link_fk("infrastructure_projects", "The project it concerns")


# The records that parties, sectors and citations attach to, by foreign-key column.
RECORD_COLUMNS = {
    "agreement_id": "agreements",
    "deal_id": "deals",
    "deposit_id": "mineral_deposits",
    "project_id": "infrastructure_projects",
    "event_id": "events",
}
SUBJECT_COLUMNS = {"country_id": "countries", "organization_id": "organizations", **RECORD_COLUMNS}


def _linked(table: str, what: str) -> Any:
    """A mixin's link column, deleted with its record; the mapped class's ``link_role``
    begins its comment ("Record: a deal")."""
    return declared_attr(lambda cls: _record_fk(table, f"{cls.link_role}: {what}"))


class RecordLinksMixin:
    """A row that belongs to one record: it sets one of the ``RECORD_COLUMNS`` (the CHECK
    ``exactly_one(*RECORD_COLUMNS)``; tests/test_models_schema.py keeps the two
    lists equal). Its columns follow the table's own."""

    link_role: ClassVar[str] = "Record"
    agreement_id: Mapped[int | None] = _linked("agreements", "an agreement")
    deal_id: Mapped[int | None] = _linked("deals", "a deal")
    deposit_id: Mapped[int | None] = _linked("mineral_deposits", "a deposit")
    project_id: Mapped[int | None] = _linked("infrastructure_projects", "a project")
    event_id: Mapped[int | None] = _linked("events", "an event")


class SubjectLinksMixin(RecordLinksMixin):
    """A row about a partner or a record: one of the ``SUBJECT_COLUMNS``."""

    link_role = "Subject"
    country_id: Mapped[int | None] = _linked("countries", "a country or bloc")
    organization_id: Mapped[int | None] = _linked("organizations", "an organisation")


class Party(RecordLinksMixin, Base):
    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(exactly_one("country_id", "organization_id"), name="one_partner"),
        CheckConstraint(exactly_one(*RECORD_COLUMNS), name="one_record"),
        {"comment": "Who took part in a record, and in what role (a country or an organisation)"},
    )

    id: Mapped[IntPk]
    role: Mapped[str] = mapped_column(String(20), comment="signatory, investor, financier...")
    country_id: Mapped[int | None] = _record_fk("countries", "The partner, when a country or bloc")
    organization_id: Mapped[int | None] = _record_fk(
        "organizations", "The partner, when an organisation"
    )
    share_low: Mapped[Money] = mapped_column(
        comment="Its stated share of the deal's amount, low, in the deal's currency (NULL: "
        "not stated); cited by a citation of the deal with field share:<partner>"
    )
    share_high: Mapped[Money] = mapped_column(
        CheckConstraint("share_low IS NULL OR share_low <= share_high", name="share_high"),
        comment="Its stated share, high (= low for one figure)",
    )
    share_percent: Mapped[float | None] = mapped_column(
        CheckConstraint("share_percent BETWEEN 0 AND 100", name="share_percent"),
        comment="Its share as a percentage, when a source states it so (share_low/high "
        "then hold that percentage of the deal's amount)",
    )
    share_text: Mapped[str | None] = mapped_column(comment="The source's wording of the share")
    share_usd_low: Mapped[Money] = mapped_column(
        comment="share_low in US dollars, at the deal's rate"
    )
    share_usd_high: Mapped[Money] = mapped_column(comment="share_high in US dollars")


class RecordSector(RecordLinksMixin, Base):
    __tablename__ = "record_sectors"
    __table_args__ = (
        CheckConstraint(exactly_one(*RECORD_COLUMNS), name="one_record"),
        {"comment": "The sectors a record covers"},
    )

    id: Mapped[IntPk]
    sector_id: Mapped[int] = mapped_column(
        ForeignKey("sectors.id", ondelete="CASCADE"), index=True, comment="The sector"
    )


class Citation(SubjectLinksMixin, Base):
    __tablename__ = "citations"
    __table_args__ = (
        CheckConstraint(exactly_one(*SUBJECT_COLUMNS), name="one_subject"),
        CheckConstraint("length(text) > 0", name="text"),
        {"comment": "What a source says that a record (or one field of it) rests on"},
    )

    id: Mapped[IntPk]
    source_id: Mapped[SourceRef]
    kind: Mapped[str] = mapped_column(
        String(10),
        CheckConstraint(_in("kind", CITATION_KINDS), name="kind"),
        server_default="summary",  # an ad-hoc row is never taken for a verbatim quote
        comment="quote: text is a verbatim excerpt of the source's stored text; "
        "summary: text is our own summary of the source",
    )
    text: Mapped[str] = mapped_column(
        comment="The verbatim excerpt (kind quote) or our summary (kind summary)"
    )
    field: Mapped[str | None] = mapped_column(
        String(40), comment="The field it supports (NULL: the record)"
    )
    note: Mapped[str | None] = mapped_column(comment="Remarks on the citation")

    source: Mapped[Source] = relationship(back_populates="citations")


class Discrepancy(SubjectLinksMixin, Base):
    __tablename__ = "discrepancies"
    __table_args__ = (
        CheckConstraint(exactly_one(*SUBJECT_COLUMNS), name="one_subject"),
        CheckConstraint("length(source_says) > 0", name="source_says"),
        {"comment": "Where a source says otherwise than the record (which keeps its claim)"},
    )

    id: Mapped[IntPk]
    kind: Mapped[str] = mapped_column(
        String(12),
        CheckConstraint(_in("kind", DISCREPANCY_KINDS), name="kind"),
        server_default="disagreement",
        comment="disagreement: the source says otherwise; refinement: it is more precise",
    )
    field: Mapped[str] = mapped_column(String(40), comment="The field the sources disagree on")
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True,
        comment="The source that says otherwise",
    )  # fmt: skip
    source_says: Mapped[str] = mapped_column(comment="What that source says, in our words")
    record_says: Mapped[str | None] = mapped_column(
        comment="What the record holds, and which source it follows"
    )
    note: Mapped[str | None] = mapped_column(comment="How to read the disagreement")


class StageChange(Base):
    __tablename__ = "stage_changes"
    __table_args__ = (
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint(_in("kind", CITATION_KINDS), name="kind"),
        CheckConstraint("length(text) > 0", name="text"),
        CheckConstraint(exactly_one("agreement_id", "deal_id"), name="one_record"),
        *partial_date_checks("date"),
        {"comment": "A stage an agreement or deal reached, when, and the source that says so "
                    "(sources may disagree: each claim is a row)"},
    )  # fmt: skip

    id: Mapped[IntPk]
    stage: Mapped[str] = mapped_column(String(20), comment="The stage: " + ", ".join(STAGES))
    agreement_id: Mapped[int | None] = _record_fk("agreements", "Record: an agreement")
    deal_id: Mapped[int | None] = _record_fk("deals", "Record: a deal")
    date_start: Mapped[dt.date | None] = mapped_column(comment="Earliest date of the change")
    date_end: Mapped[dt.date | None] = mapped_column(comment="Latest date of the change")
    date_precision: Mapped[Precision]
    date_text: Mapped[str | None] = mapped_column(comment="The source's wording of the date")
    source_id: Mapped[SourceRef]
    kind: Mapped[str] = mapped_column(
        String(10), comment=in_words(CITATION_KINDS) + ", as for citations"
    )
    text: Mapped[str] = mapped_column(comment="The verbatim excerpt or our summary")
    note: Mapped[str | None] = mapped_column(comment="Remarks")


class SourceLink(Base):
    __tablename__ = "source_links"
    __table_args__ = (
        CheckConstraint(_in("relation", SOURCE_RELATIONS), name="relation"),
        CheckConstraint("source_id <> derived_from_id", name="not_self"),
        {"comment": "A source that rests on another (independence is counted by origin)"},
    )

    id: Mapped[IntPk]
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True, comment="The derived source"
    )
    derived_from_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True, comment="What it rests on"
    )
    relation: Mapped[str] = mapped_column(
        String(12), comment="republishes (a copy) or reports_on (its claim comes from it)"
    )


class DealOverlap(Base):
    __tablename__ = "deal_overlaps"
    __table_args__ = (
        CheckConstraint("deal_id <> overlaps_id", name="not_self"),
        {"comment": "Money that may be counted in another deal: totals add it once, "
                    "through the other deal"},
    )  # fmt: skip

    id: Mapped[IntPk]
    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True,
        comment="The deal whose money is (or may be) counted in the other",
    )  # fmt: skip
    overlaps_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True, comment="The deal totals count"
    )
    note: Mapped[str | None] = mapped_column(comment="How they overlap, and who says so")


class PartnerTotalsCache(Base):
    __tablename__ = "partner_totals_cache"
    __table_args__ = (
        {"comment": "Derived: the partners command's totals per partner and stage, summed "
                    "from the money_flows view and the agreements' parties, rebuilt by every "
                    "load and seed; read only while derived_state says it is fresh"},
    )  # fmt: skip

    id: Mapped[IntPk]
    gc: Mapped[int | None] = mapped_column(comment="The country or bloc (with its organisations)")
    go: Mapped[int | None] = mapped_column(comment="An organisation without a home country")
    stage: Mapped[str | None] = mapped_column(String(20), comment="The records' stage")
    agreement_records: Mapped[int] = mapped_column(comment="Agreement rows (packages count once)")
    agreements: Mapped[int] = mapped_column(comment="Agreements, packages counted by their size")
    deals: Mapped[int] = mapped_column(comment="Deals involving the partner, in any role")
    not_added: Mapped[int] = mapped_column(
        comment="Of those, parts and overlapping deals: counted through another deal"
    )
    from_low: Mapped[Money] = mapped_column(comment="money_flows: USD from the partner, low")
    from_high: Mapped[Money] = mapped_column(comment="The same, high")
    private_low: Mapped[Money] = mapped_column(
        comment="Of from_low, what its companies pay (private money)"
    )
    private_high: Mapped[Money] = mapped_column(comment="The same, high")
    to_low: Mapped[Money] = mapped_column(comment="money_flows: USD to the partner, low")
    to_high: Mapped[Money] = mapped_column(comment="The same, high")
    shared_deals: Mapped[int] = mapped_column(
        comment="Deals it pays with other payers, its share not stated (basis shared)"
    )
    shared_low: Mapped[Money] = mapped_column(comment="Those deals' whole amounts, USD low")
    shared_high: Mapped[Money] = mapped_column(comment="The same, high")
    regional_deals: Mapped[int] = mapped_column(
        comment="Deals it receives with other recipients, its share not stated (basis regional)"
    )
    regional_low: Mapped[Money] = mapped_column(comment="Those deals' whole amounts, USD low")
    regional_high: Mapped[Money] = mapped_column(comment="The same, high")
    target_deals: Mapped[int] = mapped_column(comment="Targets and ceilings it takes part in")
    target_low: Mapped[Money] = mapped_column(comment="Their whole amounts, USD low")
    target_high: Mapped[Money] = mapped_column(comment="The same, high")
    involved_deals: Mapped[int] = mapped_column(
        comment="Priced deals it takes part in with no money-moving role (direction not stated)"
    )
    involved_low: Mapped[Money] = mapped_column(comment="Their whole amounts, USD low")
    involved_high: Mapped[Money] = mapped_column(comment="The same, high")
    approximate: Mapped[int] = mapped_column(comment="1 when any amount added is approximate")
    unpriced: Mapped[int] = mapped_column(comment="Deals moving money with no stated amount")


class DerivedState(Base):
    __tablename__ = "derived_state"
    __table_args__ = (
        {"comment": "Whether each derived table is fresh (SQLite triggers mark it stale "
                    "on any write to what it is derived from)"},
    )  # fmt: skip

    name: Mapped[str] = mapped_column(String(40), primary_key=True, comment="The derived table")
    stale: Mapped[bool] = mapped_column(Boolean, comment="True until the next rebuild")
    value: Mapped[str | None] = mapped_column(
        comment="The derived value, when it is one value (the content hash)"
    )


def _index_link_columns() -> None:
    """Index every nullable foreign key on the rows that set it (partial indexes).

    A row of parties, citations, record_sectors or discrepancies sets one of five to
    seven such columns, so a full index on each would hold mostly NULLs: the partial
    ones build in about half the time of full ones (docs/benchmarks.md). A lookup by
    value (``= x``, ``IN (...)``, a foreign key's cascade) implies ``IS NOT NULL``, so
    SQLite and PostgreSQL use them for it (migration 0008)."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.foreign_keys and column.nullable:
                where = column.is_not(None)
                Index(f"ix_{table.name}_{column.name}", column, sqlite_where=where,
                      postgresql_where=where)  # fmt: skip


_index_link_columns()


def references(table: str) -> dict[str, str]:
    """Each foreign key column of ``table`` and the table it refers to, as the models
    define them (the loader's view; the read path asks the database: Reader.references)."""
    return {
        column.name: next(iter(column.foreign_keys)).column.table.name
        for column in Base.metadata.tables[table].columns
        if column.foreign_keys
    }


# The browse tables serve shows (kzdiplo.browse, migration 0017): derived, rebuilt by
# every load and seed on SQLite, read only while derived_state says they are fresh.
BROWSE_TABLES = {
    "records": "Derived for browsing: one row per record, lists as JSON arrays (facets count "
    "US and KZ apart), years as every year a date may fall in; rebuilt by every load",
    "records_counts": "Derived: the records table's facet counts, over every record and per "
    "kind, rebuilt with it",
    "partner_money": "Derived: kzdiplo partners' totals per partner and stage, rebuilt by "
    "every load",
}


def _browse_tables() -> None:
    from kzdiplo import browse_tables as browse

    types = {"INTEGER": Integer, "BIGINT": BigInteger, "TEXT": Text}
    columns = {"records": browse.RECORDS_COLUMNS, "records_counts": browse.COUNTS_COLUMNS,
               "partner_money": browse.MONEY_COLUMNS}  # fmt: skip
    for name, comment in BROWSE_TABLES.items():
        Table(
            name, Base.metadata,
            *(Column(c, types[kind], primary_key=c == "id", comment=text)
              for c, (kind, text) in columns[name].items()),
            comment=comment,
        )  # fmt: skip
    for index, table, names in browse.INDEXES:
        Index(index, *(Base.metadata.tables[table].c[n] for n in names))


_browse_tables()
