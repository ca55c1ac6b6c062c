"""Dates as museums write them, read into a range of years: the time facet and the time layout place each
work by it, and the build report lists what could not be read rather than placing it by a guess.

A collection's date column is prose, not a date type: MoMA's `Date` holds "c. 1917-19", "1965, printed
1980", "early 1940s", "n.d.". `read_date` reads the forms below and answers None for anything else, so a
string it does not understand is counted as unread, never given a year it does not state. `is_undated`
tells the explicit "no date" ("n.d.", "Unknown", "") from a string that could not be read.

Forms read (case, spacing, en/em dashes and a closing full stop do not matter):

- a year: `1920`; `(1920)`; `1915?` (the museum's own query keeps its year)
- approximate: `c. 1920`, `c.1920`, `ca. 1920`, `circa 1920`, `about 1920`: the year as stated, not widened
  (any width would be invented)
- ranges: `1920-1925`, `1920–1925`, `1968 - 1972`, `1920-25`, `1920/21`, `1920 or 1921`, `1920 to 1925`,
  `c. 1917-19`; a two-digit end takes the start's century, or the next one where that would end before the
  start (`1998-02` is 1998-2002)
- decades: `1920s`, `1970's`, `c. 1920s`, `(1960s)`, `1880s-90s`, `1960s-1970s`, `1920s or 1930s`
- centuries: `19th century`, `19th-century`, `8th-9th century C.E.`, `late 19th-early 20th century`; the
  Nth century is the years (N-1)00 to (N-1)99 (the 20th is 1900-1999), as most collection databases count it
- early / mid / late: the first, middle or last third of a decade or century (`early 1920s` 1920-1923,
  `mid-1920s` 1923-1926, `late 1920s` 1926-1929, `early 20th century` 1900-1933); on a single year it
  changes nothing (`Early 1969` is 1969)
- days and months: `October 1923`, `Mar. 1, 1966`, `11 July 1854`, `May 13-19, 1970`, `May-June 1991`,
  `September 29-October 24, 1967`, `Spring 1909`, `August 5, 1877-June 22, 1894` (English names only)
- ISO 8601: `1966-03-01`, `1966-03-01T10:30:00Z`, `2020-04-30 04:29:58` (a real calendar day)
- a day and month in digits beside a four-digit year, in whichever order: `2005/06/21`, `20 09 2005`,
  `08.02.2005`, `12/25/1999`, and `2005 July 20` (the year is stated whatever the order of the other two;
  `09/01/05` is refused: which number is the year is not)
- before the common era: `500 BCE`, `500 B.C.` (-500), `3rd century BCE` (-300 to -201), `500-450 BCE`
  (the era of the end applies to the start); `CE`/`AD` marks years after it
- the work's date first, later events after it: `1965, printed 1980`, `1967, published 1968`,
  `1918–21, published 1922`, `1902-03, printed c. 1930`, `1973 (published 1974)`, `1927. (Print executed
  c. 1925-1927)` read the first date; a lone later event is the only date stated (`published 1921` is 1921)

Refused (None): `before 1900`, `after 1900`, `1898 or earlier` (one bound is open and any other would be a
guess), places before the date (`Paris, spring 1908`), lists (`.1-3 1987; .4 1990`), partial years
(`c. 196?`, `(19)71`), other languages' month names, ranges that end before they start, years past next
year, and every string with words the forms above do not have.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

LATEST_YEAR = datetime.date.today().year + 1  # a later year is a typing error, not a date
EARLIEST_YEAR = -9999  # BCE years are read to four digits


@dataclass(frozen=True)
class YearRange:
    """The years a date covers, both inclusive (first <= last); a single year has first == last."""

    first: int
    last: int


# Dashes, minus signs and typographic apostrophes as the plain characters the patterns use
_PLAIN = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                        "\u2212": "-", "\u2019": "'", "\u00a0": " "})  # fmt: skip
_SPACES = re.compile(r"\s+")

_UNDATED = re.compile(
    r"""\(?\s*(?:
        n\.?\s?d\.?                          # n.d., nd, n. d.
      | s\.?\s?d\.?                          # s.d. (sine dato)
      | n/a | no\s+date | not\s+dated | undated | date\s+unknown | unknown(?:\s+date)? | unkown
      | various(?:\s+dates)? | tbc | tbd
    )?\s*\)?\.?""",
    re.X,
)

# The optional words before a date: a later event standing alone, an approximation, an opening bracket
_LEAD = re.compile(
    r"""\(?\s*
    (?:(?:published|printed|issued|designed|made|begun|executed|dated)(?:\s+in)?\s+)?
    (?:(?:circa|ca\.?|c\.?|approx\.?|about)\s*(?=[\d(]|early|mid|late))?
    \(?\s*""",
    re.X,
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|fall|winter)(?![a-z])\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?(?![\d])"
_DAY_MONTH = rf"(?:{_DAY}\s+)?{_MONTH}(?:\s*{_DAY})?"
_MONTH_PHRASE = rf"{_DAY_MONTH}(?:\s*-\s*(?:{_DAY_MONTH}|{_DAY}))?\s*,?\s*"

# One date: a modifier, then an ISO day, a day or month and its year, a century, a decade or a year, then an era
_UNIT = re.compile(
    rf"""(?:(?P<mod>early|mid|late)\s*-?\s*)?
    (?:
        (?P<iy>[1-9]\d{{3}})-(?P<im>\d{{2}})-(?P<id>\d{{2}})
            (?:[t\s]\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?(?:z|[+-]\d{{2}}(?::?\d{{2}})?)?)?(?!\d)
      | {_MONTH_PHRASE}(?P<my>[1-9]\d{{3}})(?!\d)
      | (?P<ym>[1-9]\d{{3}})\s+{_MONTH}(?:\s*{_DAY})?
      | (?P<ny>[1-9]\d{{3}})(?P<nsep>[/.])(?P<n1>\d{{1,2}})(?P=nsep)(?P<n2>\d{{1,2}})(?!\d)
      | (?P<d1>\d{{1,2}})(?P<dsep>[\s/.])(?P<d2>\d{{1,2}})(?P=dsep)(?P<dy>[1-9]\d{{3}})(?!\d)
      | (?P<cent>\d{{1,2}})(?:st|nd|rd|th)(?P<word>\s*-?\s*century)?
      | (?P<dec>\d{{1,3}})0'?s(?![a-z])
      | (?P<year>\d{{1,4}})(?![\d])
    )
    (?:\s*(?P<era>b\.?\s?c\.?\s?e\.?|b\.?\s?c\.?|c\.?\s?e\.?|a\.?\s?d\.?)(?![a-z]))?""",
    re.X,
)

# Between the two ends of a range; an approximation may open the end too ("c. 1920-c. 1925")
_JOIN = re.compile(r"\s*(?:-|/|&|to\b|or\b|and\b)\s*(?:(?:circa|ca\.?|c\.?)\s*(?=\d))?")
_QUERY = re.compile(r"\s*\?")

# What may follow the date: nothing, or a later event ("printed", "published", ...) and whatever it says
_LATER = (
    r"(?:printed|published|reprinted|signed|assembled|reali[sz]ed|fabricated|refabricated|reconstructed|cast"
    r"|executed|editioned|released|manufactured|issued|repainted|produced|inscribed|revised|completed|remade"
    r"|restored|arranged|recorded|performed|designed|posthumous|edition)\b"
)
_TAIL = re.compile(rf"\s*\)?\.?\s*$|\s*\)?\s*[,;:.]?\s*\(?\s*(?:[a-z]+\s+){{0,2}}?{_LATER}")


@dataclass(frozen=True)
class _Unit:
    """One end of a date as written, before it is resolved against the other end (a short year, an era)."""

    first: int
    last: int
    era: str  # "bce", "ce" or "" (none written)
    short: bool  # a two-digit year or a one-digit decade ("25" in "1920-25", "90s" in "1880s-90s")
    full: bool  # a complete year as written (four digits, or an era's)
    century_word: bool  # a century with the word "century" written after it
    century: bool
    mod: str


def _era(text: str | None) -> str:
    if not text:
        return ""
    return "bce" if text.startswith("b") else "ce"


def _narrow(first: int, last: int, mod: str) -> tuple[int, int]:
    """early / mid / late: the first, middle or last third of the span (a single year stays itself)."""
    third = (last - first + 1) // 3
    if mod == "early":
        return first, first + third
    if mod == "mid":
        return first + third, last - third
    if mod == "late":
        return last - third, last
    return first, last


def _unit(m: re.Match[str]) -> _Unit | None:
    """The years one matched date names, or None where the digits cannot be a date (month 13, the 0th
    century, a three-digit year without an era)."""
    era = _era(m["era"])
    mod = m["mod"] or ""
    if m["iy"]:
        try:
            year = datetime.date(int(m["iy"]), int(m["im"]), int(m["id"])).year
        except ValueError:
            return None
        return _Unit(year, year, era, False, True, False, False, mod)
    if m["ny"] or m["dy"]:  # a day and a month in either order (2005/06/21, 20 09 2005, 12/25/1999)
        day_month = sorted((int(m["n1"] or m["d1"]), int(m["n2"] or m["d2"])))
        if not (1 <= day_month[0] <= 12 and 1 <= day_month[1] <= 31):
            return None
    if m["my"] or m["ym"] or m["ny"] or m["dy"]:  # a month, or a day and month in either order: the year stands
        year = int(m["my"] or m["ym"] or m["ny"] or m["dy"])
        return _Unit(year, year, era, False, True, False, False, mod)
    if m["cent"]:
        n = int(m["cent"])
        if not 1 <= n <= 21:
            return None
        return _Unit((n - 1) * 100, (n - 1) * 100 + 99, era, False, True, bool(m["word"]), True, mod)
    if m["dec"]:
        digits = m["dec"]
        if len(digits) == 3 and digits[0] != "0":
            return _Unit(int(digits) * 10, int(digits) * 10 + 9, era, False, True, False, False, mod)
        if len(digits) == 1 and not era:
            return _Unit(int(digits) * 10, int(digits) * 10 + 9, era, True, False, False, False, mod)
        return None
    digits = m["year"]
    if era:
        return _Unit(int(digits), int(digits), era, False, int(digits) > 0, False, False, mod)
    if len(digits) == 4 and digits[0] != "0":
        return _Unit(int(digits), int(digits), era, False, True, False, False, mod)
    if len(digits) == 2:
        return _Unit(int(digits), int(digits), era, True, False, False, False, mod)
    return _Unit(int(digits), int(digits), era, False, False, False, False, mod)  # full only with an era


def _years(u: _Unit, era: str) -> tuple[int, int]:
    """A resolved unit's years: BCE counts down from year 1 (500 BCE is -500; the 3rd century BCE is
    -300 to -201), then early / mid / late narrows it."""
    first, last = u.first, u.last
    if era == "bce":  # the Nth century BCE is -(N*100) to -((N-1)*100 + 1)
        first, last = (-(last + 1), -(first + 1)) if u.century else (-last, -first)
    return _narrow(first, last, u.mod)


def _expand(short: _Unit, start: int) -> tuple[int, int]:
    """A two-digit end year (or one-digit decade) in the start's century, or the next where it would end
    before the start: 1920-25 is 1920-1925, 1998-02 is 1998-2002, 1880s-90s is 1880-1899."""
    base = start // 100 * 100
    first = base + short.first
    span = short.last - short.first
    if first + span < start:
        first += 100
    return _narrow(first, first + span, short.mod)


def _range(a: _Unit, b: _Unit | None) -> YearRange | None:
    """The years from the start of a to the end of b (a alone where there is no b), or None where the
    two cannot be one date."""
    if b is None:
        if a.short or not a.full or (a.century and not a.century_word):
            return None
        first, last = _years(a, a.era)
        return YearRange(first, last)
    if a.century != b.century or (a.century and not (a.century_word or b.century_word)):
        return None
    era_a = a.era or b.era
    if b.short:
        if a.era or not a.full or a.short:
            return None
        first, _ = _years(a, "")
        _, last = _expand(b, a.first)
        return YearRange(first, last)
    if not (a.full or era_a) or (a.short and not era_a) or not b.full:
        return None
    first, _ = _years(a, era_a)
    _, last = _years(b, b.era)
    return YearRange(first, last)


def _plain(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_PLAIN)).strip().lower()


def is_undated(text: str) -> bool:
    """True for the explicit statements that a work has no date ("n.d.", "undated", "Unknown", "Date
    unknown", "various dates", "TBC", an empty cell): the build report counts these apart from the
    strings that could not be read."""
    return _UNDATED.fullmatch(_plain(text)) is not None


def read_date(text: str) -> YearRange | None:
    """The years a museum's date string states (the forms in this module's docstring), or None where it
    states none or cannot be read: never a guessed year."""
    s = _plain(text)
    if not s or _UNDATED.fullmatch(s):
        return None
    lead = _LEAD.match(s)  # always matches: every part of it is optional
    pos = lead.end() if lead else 0
    first = _UNIT.match(s, pos)
    if first is None:
        return None
    a = _unit(first)
    pos = first.end()
    b: _Unit | None = None
    join = _JOIN.match(s, pos)
    if join:
        second = _UNIT.match(s, join.end())
        if second:
            b = _unit(second)
            if b is None:
                return None
            pos = second.end()
    query = _QUERY.match(s, pos)
    if query:
        pos = query.end()
    if a is None or not _TAIL.match(s, pos):
        return None
    found = _range(a, b)
    if found is None or found.last < found.first or found.last > LATEST_YEAR or found.first < EARLIEST_YEAR:
        return None
    return found
