"""The seed/load file format: one pydantic model per section (see ``seeds/README.md``).

These models check each record on its own (types, required fields, vocabularies,
low <= high). References between records and quotes against source texts are checked
by :mod:`kzdiplo.loader`, which sees the whole run and the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kzdiplo import vocab
from kzdiplo.partialdate import PartialDate, check_supported, range_of

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=120)]
Code = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Text = Annotated[str, Field(min_length=1)]
# Literal over a vocab tuple: pydantic checks the values at run time; mypy cannot read a
# Literal of a variable, hence the valid-type ignores here and below.
Role = Literal[vocab.ROLES]  # type: ignore[valid-type]  # vocab tuple
ShortDate = str | int | dt.date
Day = Annotated[dt.date, AfterValidator(check_supported)]  # within FIRST_YEAR-LAST_YEAR


class Strict(BaseModel):
    # No inf or NaN (YAML's .inf, JSON's Infinity): JSON, CSV and SQL cannot all carry them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)
    # The field (and column) that names a record in its section: its natural key.
    key_field: ClassVar[str] = "slug"
    # An empty list by default is Field(default_factory=list), not ``= []``: pydantic
    # deep-copies a mutable default for every record that leaves the field out (a third
    # of the validation's time in a large load); a factory makes a new empty list.


class Cited(Strict):
    """What a source says: a verbatim ``quote`` of a source whose text we hold, or our
    own ``summary`` of one we only read about; exactly one of them."""

    source: Slug
    quote: Text | None = None
    summary: Text | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Cited:
        if (self.quote is None) == (self.summary is None):
            raise ValueError(
                "give quote (a verbatim excerpt of a source whose text is held) or "
                "summary (our own words), not both and not neither"
            )
        return self

    @property
    def kind(self) -> str:
        return "quote" if self.quote is not None else "summary"

    @property
    def text(self) -> str:
        return self.quote if self.quote is not None else self.summary  # type: ignore[return-value]  # _one_kind: one is set


class CitationIn(Cited):
    field: str | None = None
    note: str | None = None


class DiscrepancyIn(Strict):
    """A source that says otherwise than the record (a disagreement), or more precisely
    (a refinement); the record keeps its own claim."""

    kind: Literal[vocab.DISCREPANCY_KINDS] = "disagreement"  # type: ignore[valid-type]  # vocab tuple (see Role)
    field: Annotated[str, Field(min_length=1, max_length=40)]
    source: Slug
    says: Text  # what that source says, in our own words
    record_says: str | None = None  # what the record holds, and which source it follows
    note: str | None = None


class ShareIn(Strict):
    """A party's stated share of a deal's amount, in the deal's currency (``low``/``high``)
    or as a ``percent``, with the source that states it (a citation of the deal with
    field ``share:<partner>``). Only a stated share credits a partner with part of a sum
    it shares with others; without one, the money_flows ledger credits it nothing of its
    own."""

    low: Annotated[int, Field(ge=0)] | None = None
    high: Annotated[int, Field(ge=0)] | None = None
    percent: Annotated[float, Field(ge=0, le=100)] | None = None
    text: str | None = None  # the source's wording of the share
    source: Slug
    quote: Text | None = None
    summary: Text | None = None

    @property
    def cited(self) -> Cited:
        """The citation that states the share (checked as any other)."""
        return Cited(source=self.source, quote=self.quote, summary=self.summary)

    @model_validator(mode="after")
    def _one_form(self) -> ShareIn:
        self.cited  # noqa: B018  # raises when not exactly one of quote and summary
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high (equal for one figure)")
        if (self.low is None) == (self.percent is None):
            raise ValueError("give the share as low/high or as percent, one of them")
        if self.low is not None and self.low > self.high:  # type: ignore[operator]  # both set
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        return self


class PartyIn(Strict):
    partner: Text  # a country/bloc code or an organisation slug
    role: Role
    share: ShareIn | None = None  # deals only: its stated share of the amount


class DateIn(Strict):
    """A partial date: ``value`` (short form) or ``start``/``end``/``precision``."""

    value: ShortDate | None = None
    start: Day | None = None
    end: Day | None = None
    precision: Literal[vocab.PRECISIONS] | None = None  # type: ignore[valid-type]  # vocab tuple (see Role)
    text: str | None = None
    inferred: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DateIn:
        explicit = (self.start, self.end, self.precision)
        if self.value is not None:
            if any(v is not None for v in explicit):
                raise ValueError("give either value or start/end/precision, not both")
            start, end, _ = range_of(self.value)  # raises ValueError with the accepted forms
            check_supported(start)
            check_supported(end)
        elif any(v is None for v in explicit):
            raise ValueError(
                "give value (2025, 2025-11, 2035/2036) or all of start, end, precision"
            )
        elif self.start > self.end:  # type: ignore[operator]  # both set: the elif above
            raise ValueError("start is after end")
        return self

    def resolve(self) -> PartialDate:
        if self.value is not None:
            start, end, precision = range_of(self.value)
        else:
            start, end, precision = self.start, self.end, self.precision  # type: ignore[assignment]  # _one_form: all set
        return PartialDate(start, end, precision, self.text, self.inferred, self.note)


def _date_field(value: object) -> object:
    """Accept the short forms as well as the mapping."""
    if value is None or isinstance(value, dict):
        return value
    return {"value": value}


Stage = Literal[vocab.STAGES]  # type: ignore[valid-type]  # vocab tuple (see Role)


class StageIn(Cited):
    """A stage a source says the record reached, and when (if it says)."""

    stage: Stage
    date: DateIn | None = None
    note: str | None = None

    _wrap_date = field_validator("date", mode="before")(_date_field)


class Staged(Strict):
    stage: Stage | None = None
    stages: list[StageIn] = Field(default_factory=list)


class AmountIn(Strict):
    low: Annotated[int, Field(ge=0)]
    high: Annotated[int, Field(ge=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    approximate: bool = False
    qualifier: str | None = None
    text: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, code: str) -> str:
        from kzdiplo.money import known_currency

        if not known_currency(code):
            raise ValueError(f"{code} is not an ISO 4217 currency code")
        return code

    @model_validator(mode="after")
    def _ordered(self) -> AmountIn:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        return self


class CoordinatesIn(Strict):
    """Where a source places a deposit, project or event (WGS 84)."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    precision: Literal[vocab.LOCATION_PRECISIONS]  # type: ignore[valid-type]  # vocab tuple (see Role)


class CapacityIn(Strict):
    value: Annotated[float, Field(ge=0)]
    unit: Text
    text: str | None = None


class Record(Strict):
    """Fields every fact record has."""

    slug: Slug
    citations: Annotated[list[CitationIn], Field(min_length=1)]
    discrepancies: list[DiscrepancyIn] = Field(default_factory=list)


class Dated(Strict):
    date: DateIn | None = None

    _wrap_date = field_validator("date", mode="before")(_date_field)


class SourceIn(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # keep text verbatim

    slug: Slug
    title: Text
    publisher: str | None = None
    url: str | None = None
    published: Day | None = None
    published_inferred: bool = False
    published_note: str | None = None
    kind: Literal[vocab.SOURCE_KINDS]  # type: ignore[valid-type]  # vocab tuple (see Role)
    retrieved: Day | None = None
    text_file: str | None = None  # relative to the YAML file
    text: str | None = None  # or the text inline
    derived_from: Slug | None = None  # the source it republishes or reports on
    relation: Literal[vocab.SOURCE_RELATIONS] | None = None  # type: ignore[valid-type]  # vocab tuple (see Role)

    @model_validator(mode="after")
    def _derived(self) -> SourceIn:
        if (self.derived_from is None) != (self.relation is None):
            raise ValueError("give derived_from and relation together")
        if self.derived_from == self.slug:
            raise ValueError("a source cannot be derived from itself")
        return self


class SectorIn(Strict):
    slug: Slug
    name: Text
    parent: Slug | None = None
    aliases: list[str] = Field(default_factory=list)
    description: str | None = None


class CountryIn(Strict):
    key_field: ClassVar[str] = "code"

    code: Code
    kind: Literal[vocab.PARTNER_KINDS] | None = None  # type: ignore[valid-type]  # vocab tuple (see Role)
    name: str | None = None  # required for blocs; ISO countries take pycountry's
    alpha3: str | None = None
    aliases: list[str] = Field(default_factory=list)
    relationship: str | None = None
    summary: str | None = None
    citations: Annotated[list[CitationIn], Field(min_length=1)]
    discrepancies: list[DiscrepancyIn] = Field(default_factory=list)


class OrganizationIn(Record):
    name: Text
    kind: Literal[vocab.ORGANIZATION_KINDS]  # type: ignore[valid-type]  # vocab tuple (see Role)
    country: Code | None = None
    anonymous: bool = False
    aliases: list[str] = Field(default_factory=list)
    summary: str | None = None


class AgreementIn(Record, Dated, Staged):
    title: Text
    aliases: list[str] = Field(default_factory=list)
    kind: Literal[vocab.AGREEMENT_KINDS]  # type: ignore[valid-type]  # vocab tuple (see Role)
    count: Annotated[int, Field(gt=0)] | None = None
    parent: Slug | None = None
    parties: list[PartyIn] = Field(default_factory=list)
    sectors: list[Slug] = Field(default_factory=list)
    summary: str | None = None
    notes: str | None = None


class DealIn(Record, Dated, Staged):
    title: Text
    kind: Literal[vocab.DEAL_KINDS]  # type: ignore[valid-type]  # vocab tuple (see Role)
    amount: AmountIn | None = None
    figure: Literal[vocab.FIGURES] = "flow"  # type: ignore[valid-type]  # vocab tuple (see Role)
    stake: str | None = None
    stake_percent: Annotated[float, Field(ge=0, le=100)] | None = None
    parent: Slug | None = None
    overlaps: Slug | None = None  # a deal whose money may include this one's
    overlap_note: str | None = None
    event: Slug | None = None  # where a source says it was announced or signed
    agreement: Slug | None = None
    deposit: Slug | None = None
    project: Slug | None = None
    parties: list[PartyIn] = Field(default_factory=list)
    sectors: list[Slug] = Field(default_factory=list)
    summary: str | None = None
    notes: str | None = None

    @field_validator("overlaps")
    @classmethod
    def _not_itself(cls, overlaps: str | None, info: ValidationInfo) -> str | None:
        if overlaps is not None and overlaps == info.data.get("slug"):
            raise ValueError("a deal cannot overlap itself")
        return overlaps


class DepositIn(Record):
    name: Text
    aliases: list[str] = Field(default_factory=list)
    commodity: str | None = None
    status: str | None = None
    count: Annotated[int, Field(gt=0)] | None = None
    location: str | None = None
    coordinates: CoordinatesIn | None = None
    parties: list[PartyIn] = Field(default_factory=list)
    sectors: list[Slug] = Field(default_factory=list)
    summary: str | None = None
    notes: str | None = None


class ProjectIn(Record):
    name: Text
    aliases: list[str] = Field(default_factory=list)
    kind: str | None = None
    status: str | None = None
    capacity: CapacityIn | None = None
    cost: AmountIn | None = None
    started: DateIn | None = None
    completion: DateIn | None = None
    location: str | None = None
    coordinates: CoordinatesIn | None = None
    parties: list[PartyIn] = Field(default_factory=list)
    sectors: list[Slug] = Field(default_factory=list)
    summary: str | None = None
    notes: str | None = None

    _wrap_dates = field_validator("started", "completion", mode="before")(_date_field)


class EventIn(Record, Dated):
    title: Text
    aliases: list[str] = Field(
        default_factory=list
    )  # the title's people and places as the region writes them
    kind: str | None = None
    location: str | None = None
    coordinates: CoordinatesIn | None = None
    agreement: Slug | None = None
    deal: Slug | None = None
    deposit: Slug | None = None
    project: Slug | None = None
    parties: list[PartyIn] = Field(default_factory=list)
    sectors: list[Slug] = Field(default_factory=list)
    summary: str | None = None
    notes: str | None = None


# Sections in load order: a record may refer to records of earlier sections.
SECTIONS: dict[str, type[Strict]] = {
    "sources": SourceIn,
    "sectors": SectorIn,
    "countries": CountryIn,
    "organizations": OrganizationIn,
    "deposits": DepositIn,
    "projects": ProjectIn,
    "agreements": AgreementIn,
    "deals": DealIn,
    "events": EventIn,
}
