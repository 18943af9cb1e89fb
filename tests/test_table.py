"""The box-drawn table (kzdiplo.table): sizes, wrapping, wide characters, hostile text."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzdiplo.table import column_widths, text_width, wrap, write_table


def _draw(rows: list[list[str]], headers: list[str], width: int, **kw: object) -> list[str]:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", str(width))
        write_table(rows, headers, out, **kw)  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def test_text_width_counts_terminal_columns() -> None:
    assert text_width("abc") == 3
    assert text_width("≈ $17 bn — €") == 12
    assert text_width("哈萨克斯坦") == 10  # East Asian wide: two columns each
    assert text_width("e\u0301") == 1  # a combining accent takes none


def test_wrap_breaks_at_spaces_then_hyphens_then_inside_words() -> None:
    assert wrap("Value of the 29 agreements", 12) == ["Value of the", "29", "agreements"]
    assert wrap("unnamed-us-company-north-katpal", 12) == [
        "unnamed-us-",
        "company-",
        "north-katpal",
    ]
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap("first line\nsecond", 40) == ["first line", "second"]
    assert wrap("", 5) == [""]


def test_a_table_that_fits_keeps_natural_widths() -> None:
    lines = _draw([["2025", "Strategic partnership"]], ["Date", "Title"], 80, title="1 agreement")
    assert lines == [
        "1 agreement",
        "┏━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ Date ┃ Title                 ┃",
        "┡━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ 2025 │ Strategic partnership │",
        "└──────┴───────────────────────┘",
    ]


def test_no_rows_still_shows_the_header() -> None:
    assert _draw([], ["a"], 80) == ["┏━━━┓", "┃ a ┃", "┗━━━┛"]
    assert _draw([], [], 80, title="0 rows") == ["0 rows"]


def test_key_columns_are_never_broken_and_the_rest_wraps_to_fit() -> None:
    slug = "us-exim-critical-minerals-funding"
    title = "US Export-Import Bank funding for critical mineral development projects"
    lines = _draw([[title, slug]], ["Title", "Slug"], 60, no_wrap={"Slug"})
    assert all(text_width(line) <= 60 for line in lines)
    assert sum(slug in line for line in lines) == 1
    words = " ".join(line.split("│")[1] for line in lines if line.startswith("│")).split()
    assert words == title.split()


def test_control_characters_never_reach_the_terminal() -> None:
    text = "\n".join(_draw([["\x1b[2J\x07red\ttab"]], ["x\x1b"], 80))
    assert "\x1b" not in text and "\x07" not in text and "red tab" in text


def test_widths_share_the_space_in_proportion() -> None:
    # a 10-wide key column keeps its width; 40 + 20 of wrapped text share 30 columns
    assert column_widths([40, 20, 10], [5, 5, 10], [False, False, True], 40) == [20, 10, 10]
    # floors: a column is not narrowed below its longest word (up to 20) or 8
    assert column_widths([50, 12], [12, 12], [False, False], 20) == [12, 12]


cells = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("哈萨 ≈—-"),
    max_size=60,
)


slugs = st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(cells, cells, slugs), max_size=6),
    width=st.integers(min_value=30, max_value=200),
)
def test_any_text_gives_a_rectangular_table(rows: list[tuple[str, str, str]], width: int) -> None:
    lines = _draw([list(r) for r in rows], ["Title", "Partners", "Slug"], width, no_wrap={"Slug"})
    box = [line for line in lines if line[:1] in "┏┃┡│└┗"]
    assert len({text_width(line) for line in box}) == 1  # every line as wide as the box
    for slug in {r[2] for r in rows}:  # keys stay whole, each on one line
        assert any(f"│ {slug} " in line for line in box)
    widest_key = max([4, *(len(r[2]) for r in rows)])
    if widest_key + 2 * 20 + 10 <= width:  # wrapped columns can shrink to their floors
        assert text_width(box[0]) <= width
