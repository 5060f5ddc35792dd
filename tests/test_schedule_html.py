"""``reconciler schedule --output html`` rendered by headless Chromium: the DOM it builds (cells,
counts, offset-change marks, escaped names, nothing external) and the screenshot it paints (the
hottest colour and the marks are on screen; the page is not blank).

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when it runs as root). These
tests fail, never skip, when it is missing: a skipped browser test would hide a broken page.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reconciler.views.schedule_html import DST, LEVELS
from tests.conftest import run_cli
from tests.test_schedule import cron, manifest, routine

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1400, 900
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is needed to test 'schedule --output html' and none of "
        f"{', '.join(BROWSERS)} is on PATH: install it (Debian: apt-get install -y chromium; "
        ".ci/run does so when it runs as root)"
    )


def chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--disable-extensions", "--force-color-profile=srgb",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    return done


@dataclass
class Table:
    zone: str
    peak: int
    grid: str
    agent: str | None
    cells: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)
    marked_days: set[str] = field(default_factory=set)

    def total(self) -> int:
        return sum(int(cell["data-count"]) for cell in self.cells.values())


class Dom(HTMLParser):
    """The parts of the rendered DOM the tests read."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str, str]] = []
        self.tables: list[Table] = []
        self.headings: list[str] = []
        self.meta: list[dict[str, str]] = []
        self._section: dict[str, str] = {}
        self._day = ""
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags[tag] += 1
        self.attributes += [(tag, k, v) for k, v in values.items()]
        if tag == "meta":
            self.meta.append(values)
        elif tag == "section":
            self._section = values
        elif tag == "h2":
            self._heading = []
        elif tag == "table":
            grid, agent = self._section.get("id", ""), self._section.get("data-agent")
            self.tables.append(Table(values["data-zone"], int(values["data-peak"]), grid, agent))
        elif tag == "tr" and "data-day" in values:
            self._day = values["data-day"]
            if "dst" in values.get("class", "").split():
                self.tables[-1].marked_days.add(self._day)
        elif tag == "td":
            self.tables[-1].cells[(self._day, int(values["data-hour"]))] = values

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def table(self, grid: str, zone: str) -> Table:
        return next(t for t in self.tables if t.grid == grid and t.zone == zone)


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and pixels (RGB or RGBA tuples) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, header, compressed = 8, b"", bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        compressed += body if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour in {2, 6}, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(compressed))
    stride, previous, pixels = width * size, bytearray(width * size), bytearray()
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, size)
        pixels += line
        previous = line
    step = [iter(pixels)] * size
    return width, height, list(zip(*step, strict=True))


def _unfilter(kind: int, line: bytearray, above: bytearray, size: int) -> bytearray:
    if kind == 1:
        for i in range(size, len(line)):
            line[i] = (line[i] + line[i - size]) & 0xFF
    elif kind == 2:
        line = bytearray((a + b) & 0xFF for a, b in zip(line, above, strict=True))
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - size] if i >= size else 0
            line[i] = (line[i] + ((left + above[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - size] if i >= size else 0
            b, c = above[i], above[i - size] if i >= size else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return line


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def routines() -> tuple[str, ...]:
    """Two agents (one with a hostile name), Stockholm schedules on both sides of a DST change,
    a Tokyo weekday schedule, a timer and a disabled routine."""
    return (
        routine("daily", cron("30 2 * * *", "Europe/Stockholm"), agent=f'"{HOSTILE}"'),
        routine("tokyo", cron("0 7 * * 1-5", "Tokyo Standard Time")),
        routine("often", cron("*/15 8-9 * * *", "Europe/Stockholm")),
        routine("paused", cron("0 7 * * *", "UTC"), enabled=False),
        routine("once", "type: timer\nat: 2027-10-31T09:00:00\ntime_zone: Europe/Stockholm"),
    )


@dataclass
class Page:
    path: Path
    dom: Dom
    document: dict[str, Any]


def render(tmp_path: Path, browser: str, start: str, days: str, *more: str) -> Page:
    source = manifest(tmp_path, *routines())
    window = ("--from", start, "--days", days)
    page = tmp_path / "page.html"
    done = run_cli("schedule", str(source), *window, "-o", "html", "--out", str(page), *more)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = run_cli("schedule", str(source), *window, "-o", "json", "--limit", "100000")
    dumped = chromium(browser, tmp_path / "profile", "--dump-dom", page.as_uri())
    dom = Dom()
    dom.feed(dumped.stdout.decode("utf-8"))
    return Page(page, dom, json.loads(listed.stdout))


@pytest.fixture
def autumn(tmp_path: Path, browser: str) -> Page:
    return render(tmp_path, browser, "2027-10-25", "7", "--zone", "Europe/Stockholm")


def test_every_fire_is_in_a_cell_of_both_panels_and_of_its_agent(autumn: Page) -> None:
    dom, document = autumn.dom, autumn.document
    assert [t.zone for t in dom.tables if t.grid == "grid-0"] == ["UTC", "Europe/Stockholm"]
    assert document["total_fires"] == 70
    for table in dom.tables:
        wanted = document["total_fires"]
        if table.agent is not None:
            wanted = next(a["fires"] for a in document["agents"] if a["agent"] == table.agent)
        assert table.total() == wanted, (table.grid, table.zone)
        assert len({day for day, _ in table.cells}) * 24 == len(table.cells)
    stockholm = dom.table("grid-0", "Europe/Stockholm")
    assert stockholm.cells[("2027-10-26", 8)]["data-count"] == "4"  # often: 08:00-08:45
    assert stockholm.cells[("2027-10-26", 0)]["data-count"] == "1"  # Tokyo 07:00 = 00:00 CEST
    utc = dom.table("grid-0", "UTC")
    assert utc.cells[("2027-10-31", 8)]["data-count"] == "5"  # once at 09:00 CET, often x4


def test_the_hottest_cell_has_the_top_level_and_cells_outside_are_marked(autumn: Page) -> None:
    for table in autumn.dom.tables:
        counts = [int(cell["data-count"]) for cell in table.cells.values()]
        assert table.peak == max(counts)
        hottest = [c for c in table.cells.values() if int(c["data-count"]) == table.peak]
        assert all("l5" in c["class"].split() for c in hottest)
    stockholm = autumn.dom.table("grid-0", "Europe/Stockholm")
    # the window starts at 00:00 UTC = 02:00 CEST and ends at 00:00 UTC = 01:00 CET
    assert stockholm.cells[("2027-10-25", 1)]["class"] == "out"
    assert stockholm.cells[("2027-10-25", 2)]["class"] != "out"
    assert stockholm.cells[("2027-11-01", 0)]["class"] != "out"
    assert stockholm.cells[("2027-11-01", 1)]["class"] == "out"


def test_the_fall_back_is_marked_where_it_happens(autumn: Page) -> None:
    stockholm = autumn.dom.table("grid-0", "Europe/Stockholm")
    marked = {key: c for key, c in stockholm.cells.items() if "data-dst" in c}
    assert list(marked) == [("2027-10-31", 2)]
    cell = marked[("2027-10-31", 2)]
    assert (cell["data-dst"], cell["data-count"]) == ("repeated", "2")  # 02:30 fires twice
    assert "dst" in cell["class"].split()
    assert "02:00-03:00 happens twice" in cell["title"]
    assert stockholm.marked_days == {"2027-10-31"}
    utc = autumn.dom.table("grid-0", "UTC")
    assert [k for k, c in utc.cells.items() if c.get("data-dst") == "instant"] == [
        ("2027-10-31", 1)
    ]


def test_manifest_strings_are_text_never_markup(autumn: Page) -> None:
    dom = autumn.dom
    assert dom.tags["img"] == 0
    assert dom.tags["script"] == 0
    assert f"Agent {HOSTILE}: 8 fires, 1 routine" in dom.headings
    assert any(t.agent == HOSTILE for t in dom.tables)
    assert HOSTILE not in autumn.path.read_text(encoding="utf-8")


def test_the_page_loads_nothing_from_outside(autumn: Page) -> None:
    dom = autumn.dom
    assert not [a for a in dom.attributes if a[1] in {"src", "href", "srcset", "action"}]
    assert {"http-equiv": "Content-Security-Policy", "content": (
        "default-src 'none'; style-src 'unsafe-inline'")} in dom.meta  # fmt: skip
    assert dom.tags["link"] == dom.tags["iframe"] == dom.tags["object"] == 0


def test_spring_forward_skips_an_hour(tmp_path: Path, browser: str) -> None:
    page = render(tmp_path, browser, "2027-03-25", "7")  # the busiest zone: Europe/Stockholm
    stockholm = page.dom.table("grid-0", "Europe/Stockholm")
    skipped = {key: c for key, c in stockholm.cells.items() if "data-dst" in c}
    assert list(skipped) == [("2027-03-28", 2)]
    assert (skipped[("2027-03-28", 2)]["data-dst"], skipped[("2027-03-28", 2)]["data-count"]) == (
        "skipped",
        "0",
    )
    assert "02:00-03:00 does not happen" in skipped[("2027-03-28", 2)]["title"]
    assert stockholm.cells[("2027-03-27", 2)]["data-count"] == "1"
    assert stockholm.cells[("2027-03-29", 2)]["data-count"] == "1"
    assert page.dom.table("grid-0", "Europe/Stockholm").total() == page.document["total_fires"]


def test_a_utc_zone_draws_one_panel(tmp_path: Path, browser: str) -> None:
    page = render(tmp_path, browser, "2027-10-25", "7", "--zone", "UTC")
    assert [t.zone for t in page.dom.tables if t.grid == "grid-0"] == ["UTC"]
    assert not [c for t in page.dom.tables for c in t.cells.values() if "data-dst" in c]


def test_the_screenshot_shows_the_heat_map(autumn: Page, tmp_path: Path, browser: str) -> None:
    shot = tmp_path / "page.png"
    chromium(
        browser, tmp_path / "shot-profile", f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}", autumn.path.as_uri(),
    )  # fmt: skip
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    colours = Counter(pixel[:3] for pixel in pixels)
    (_, background), *_ = colours.most_common(1)
    assert background < 0.9 * width * height, "the page is (almost) blank"
    assert len(colours) > 20
    assert colours[rgb(LEVELS[0])] >= 100 * 21 * 20, "the empty cells are not on screen"
    # A cell is 20 px tall; the legend's swatches are 14 and no glyph has such a stroke.
    assert tallest_run(pixels, width, rgb(LEVELS[5])) >= 18, "no hottest cell is on screen"
    assert tallest_run(pixels, width, rgb(DST)) >= 18, "no offset-change mark is on screen"


def tallest_run(pixels: list[tuple[int, ...]], width: int, colour: tuple[int, int, int]) -> int:
    """The longest vertical run of pixels of exactly ``colour`` in any column."""
    runs, best = [0] * width, 0
    for index, pixel in enumerate(pixels):
        column = index % width
        runs[column] = runs[column] + 1 if pixel[:3] == colour else 0
        best = max(best, runs[column])
    return best
