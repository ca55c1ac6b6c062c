"""The date reader (collect/dates.py) on dates as MoMA's Artworks `Date` column writes them: each read into
the years it states, or refused (None) where it states none or cannot be read, never given a guessed year.

Where the strings come from. MoMA's Artworks.csv is stored as Git LFS in MuseumofModernArt/collection, so
the real values are taken from two published analyses that print them from that file:
- MOMA_UNIQUE: emily-oconnell/lindsayhardy17.github.io, MoMA_Notebook.md, the output of
  `moma['Date'].unique()` on Artworks.csv (Kaggle's 2017 copy), and of the values its year regex missed;
- MOMA_KAGGLE: aorursy/KT_dataset_py, zhuzha565_when-does-the-brain-reach-it-s-peak-in-art.py, a Kaggle
  kernel on Artworks.csv whose date-cleaning steps list the values they meet (`date_test` frames);
The strings are as printed there (en dashes, double spaces and full stops included). BRIEF lists the further
forms the issue names (ISO dates, BCE, centuries), which those values do not show.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.collect.dates import EARLIEST_YEAR, LATEST_YEAR, YearRange, is_undated, read_date


def Y(first: int, last: int | None = None) -> YearRange:  # noqa: N802 (reads as the range it builds)
    return YearRange(first, first if last is None else last)


MOMA_UNIQUE: list[tuple[str, YearRange | None]] = [
    ("1896", Y(1896)),
    ("1976-77", Y(1976, 1977)),
    ("1980-81", Y(1980, 1981)),
    ("c. 1917", Y(1917)),
    ("1958–1964", Y(1958, 1964)),
    ("1985–1988", Y(1985, 1988)),
    ("c. 1989-91", Y(1989, 1991)),
    ("1915-17", Y(1915, 1917)),
    ("c. 1915-17", Y(1915, 1917)),
    ("c.1985", Y(1985)),
    ("1982-86", Y(1982, 1986)),
    ("1923–1924", Y(1923, 1924)),
    ("c. 1929-30", Y(1929, 1930)),
    ("c. 1918-20", Y(1918, 1920)),
    ("c.1918-1920", Y(1918, 1920)),
    ("c.1976", Y(1976)),
    ("1975-79", Y(1975, 1979)),
    ("c. 1978-84", Y(1978, 1984)),
    ("1979–1985", Y(1979, 1985)),
    ("c. 1960-62", Y(1960, 1962)),
    ("8th-9th century C.E.", Y(700, 899)),
    ("7th-8th century C.E.", Y(600, 799)),
    # refused: one bound open, a list of parts, a partial year, no year at all
    ("before 1933", None),
    ("after 1938", None),
    (".1-3 1987; .4 1990", None),
    ("(19)71", None),
    ("(19)69", None),
    ("c. 196?", None),
    ("New York", None),
    ("November 10", None),
    ("date of publicati", None),
    ("(newspaper published March 30)", None),
    # the explicit "no date"s (is_undated below)
    ("n.d.", None),
    ("Unknown", None),
    ("Unkown", None),
    ("(n.d.)", None),
    ("nd", None),
    ("no date", None),
    ("n. d.", None),
    ("TBC", None),
    ("TBD", None),
]

MOMA_KAGGLE: list[tuple[str, YearRange | None]] = [
    ("c. 1960s", Y(1960, 1969)),
    ("c. 1964, printed 1992", Y(1964)),
    ("c.1935-1945", Y(1935, 1945)),
    ("c. 1983, signed 2007", Y(1983)),
    ("(c. 1914-20)", Y(1914, 1920)),
    ("1964, assembled c.1965", Y(1964)),
    ("1927.  (Print executed c. 1925-1927).", Y(1927)),
    ("published c. 1946", Y(1946)),
    ("(1960s)", Y(1960, 1969)),
    ("1973 (published 1974)", Y(1973)),
    ("Published 1944 (Prints executed 1915-1930)", Y(1944)),
    ("(September 29-October 24, 1967)", Y(1967)),
    ("1965-66,  printed 1983", Y(1965, 1966)),
    ("1968 - 1972", Y(1968, 1972)),
    ("1947–49, published 1949", Y(1947, 1949)),
    ("Dec. 9, 1954", Y(1954)),
    ("1915?", Y(1915)),
    ("1860s?", Y(1860, 1869)),
    ("1880 ?", Y(1880)),
    ("1880s-90s", Y(1880, 1899)),
    ("1960s-1970s", Y(1960, 1979)),
    ("1920s or 1930s", Y(1920, 1939)),
    ("late 1950s", Y(1956, 1959)),
    ("early 1940s", Y(1940, 1943)),
    ("Early 1970's", Y(1970, 1973)),
    ("published 1965", Y(1965)),
    ("published April 1898", Y(1898)),
    ("1941-1948", Y(1941, 1948)),
    ("1969-70", Y(1969, 1970)),
    ("2000-01, printed 2007", Y(2000, 2001)),
    ("1941, published 1943", Y(1941)),
    ("1975 Published 1976.", Y(1975)),
    ("1918, published 1922-1923", Y(1918)),
    ("1961, assembled 1964-65", Y(1961)),
    ("1969, realized 1973", Y(1969)),
    ("1945, reprinted 1990", Y(1945)),
    ("1961, reconstructed 1981", Y(1961)),
    ("1963, fabricated 1975", Y(1963)),
    ("1985, released 1990", Y(1985)),
    ("1944, printed in 1967", Y(1944)),
    ("1966 repainted in 1990", Y(1966)),
    ("1950-52 manufactured 1955", Y(1950, 1952)),
    ("1963 Woodcuts executed 1907", Y(1963)),
    ("October 1977", Y(1977)),
    ("February 1, 1970", Y(1970)),
    ("May 15, 1962.", Y(1962)),
    ("11 July 1854", Y(1854)),
    ("May-June 1991", Y(1991)),
    ("May 13-19, 1970", Y(1970)),
    ("August 5, 1877-June 22, 1894", Y(1877, 1894)),
    ("Spring 1909", Y(1909)),
    ("Early 1969", Y(1969)),
    ("Late 1924-1925", Y(1924, 1925)),
    ("circa 1980", Y(1980)),
    ("Begun 1938", Y(1938)),
    # refused: open bounds, a place or a list before the date, a misspelt or French month, a bad range
    ("Before 1900", None),
    ("Before 1900?", None),
    ("After 1933", None),
    ("1898 or earlier", None),
    ("1898 or before?", None),
    ("newspaper published May 15-16, 1999", None),
    ("Paris, winter 1914-15", None),
    ("Fontainebleau, summer 1921", None),
    ("Gallifa, 1956", None),
    ("Seasons of 1871, 1872 and 1873", None),
    ("Decemer 1888", None),
    ("Mars 1926", None),
    ("Août 1924", None),
    ("1950-55-1980", None),
]

BRIEF: list[tuple[str, YearRange | None]] = [
    ("1920", Y(1920)),
    ("ca. 1920", Y(1920)),
    ("(1920)", Y(1920)),
    ("1920-25", Y(1920, 1925)),
    ("1998-02", Y(1998, 2002)),
    ("1920/21", Y(1920, 1921)),
    ("1920 or 1921", Y(1920, 1921)),
    ("c. 1917-19", Y(1917, 1919)),
    ("1918–21, published 1922", Y(1918, 1921)),
    ("1902-03, printed c. 1930", Y(1902, 1903)),
    ("1965, printed 1980", Y(1965)),
    ("1967, published 1968", Y(1967)),
    ("published 1921", Y(1921)),
    ("c. 1920s", Y(1920, 1929)),
    ("mid-1920s", Y(1923, 1926)),
    ("late 1920s", Y(1926, 1929)),
    ("19th century", Y(1800, 1899)),
    ("19th-century", Y(1800, 1899)),
    ("early 20th century", Y(1900, 1933)),
    ("late 19th-early 20th century", Y(1866, 1933)),
    ("Mar. 1, 1966", Y(1966)),
    ("1966-03-01", Y(1966)),
    ("1966-03-01T10:30:00Z", Y(1966)),
    ("2020-04-30 04:29:58", Y(2020)),
    ("1966-02-30", None),  # not a calendar day
    ("500 BCE", Y(-500)),
    ("500 B.C.", Y(-500)),
    ("500-450 BCE", Y(-500, -450)),
    ("3rd century BCE", Y(-300, -201)),
    ("50 BCE-50 CE", Y(-50, 50)),
    ("1925-1920", None),  # ends before it starts
    (f"{LATEST_YEAR + 1}", None),  # past next year
    ("1920-5", None),  # a one-digit end is no year
    ("19th", None),  # a century needs the word
    ("0920", None),
    ("Date unknown", None),
    ("various dates", None),
    ("", None),
]

# The bundled sample's drawings, as their own files state their creation (PNG text chunks Inkscape wrote;
# scripts/make_sample.py): real strings of another kind than a museum's
OPENCLIPART: list[tuple[str, YearRange | None]] = [
    ("2005/06/21", Y(2005)),
    ("20 09 2005", Y(2005)),
    ("08.02.2005", Y(2005)),
    ("2005 July 20", Y(2005)),
    ("May, 2005", Y(2005)),
    ("09/01/05", None),  # which number is the year is not said
    ("12/25/1999", Y(1999)),
    ("1920/21/22", None),  # no month 21 or 22
    ("13/13/2000", None),
]

TABLE = MOMA_UNIQUE + MOMA_KAGGLE + BRIEF + OPENCLIPART

UNDATED = {"n.d.", "Unknown", "Unkown", "(n.d.)", "nd", "no date", "n. d.", "TBC", "TBD", "Date unknown",
           "various dates", "", "  ", "Undated", "N.D."}  # fmt: skip


def test_the_table_is_mostly_real() -> None:
    assert len(MOMA_UNIQUE) + len(MOMA_KAGGLE) >= 60
    assert len({s for s, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_a_date_reads_as_the_years_it_states(text: str, expected: YearRange | None) -> None:
    assert read_date(text) == expected


@pytest.mark.parametrize("text", sorted(UNDATED))
def test_no_date_is_told_from_a_date_not_read(text: str) -> None:
    assert read_date(text) is None and is_undated(text)


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_only_the_no_date_forms_are_undated(text: str, expected: YearRange | None) -> None:
    assert is_undated(text) == (text in UNDATED)


def test_a_hundred_thousand_dates_are_read() -> None:
    """A collection's worth (no timing asserted): the real strings and variations of them, each read."""
    rng = random.Random(29)
    real = [s for s, _ in MOMA_UNIQUE + MOMA_KAGGLE + BRIEF]
    texts = [
        rng.choice(real) if n % 2 else f"{rng.choice(['', 'c. ', 'ca. '])}{rng.randint(1800, 2020)}"
        for n in range(100_000)
    ]
    found = [read_date(t) for t in texts]
    assert len(found) == 100_000
    assert sum(f is not None for f in found) > 60_000
    assert all(f is None or EARLIEST_YEAR <= f.first <= f.last <= LATEST_YEAR for f in found)


_PIECES = st.sampled_from(["c. ", "ca.", "circa ", "early ", "mid-", "late ", "(", ")", "-", "–", "/", " or ", ", ",
                           "printed ", "published ", "s", "'s", "th", " century", " BCE", " CE", "?", ".", " ",
                           "n.d.", "May ", "1, ", "T10:30", "-03-01", "0", "19", "20", "25", "1920", "1999",
                           "2002", str(LATEST_YEAR), str(LATEST_YEAR + 1)])  # fmt: skip


@given(st.lists(_PIECES, max_size=8).map("".join) | st.text(max_size=40))
def test_whatever_is_read_is_a_range_within_bounds(text: str) -> None:
    found = read_date(text)
    if found is not None:
        assert EARLIEST_YEAR <= found.first <= found.last <= LATEST_YEAR
        assert not is_undated(text)


@given(st.integers(1000, LATEST_YEAR), st.integers(0, 99))
def test_a_two_digit_end_is_the_next_year_with_those_digits(start: int, end: int) -> None:
    found = read_date(f"{start}-{end:02d}")
    last = start // 100 * 100 + end
    if last < start:
        last += 100
    assert found == (YearRange(start, last) if last <= LATEST_YEAR else None)
