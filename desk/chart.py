"""The SLA chart for Slack: a bar per day, 0-100 %, as a PNG written with zlib and struct only.

No plotting or imaging dependency: a small RGB canvas, a 5x7 bitmap font (upper case, digits and
a little punctuation; lower case is drawn as upper case) and the PNG chunks by hand.
"""

from __future__ import annotations

import math
import struct
import zlib
from datetime import date

WIDTH = 600
HEIGHT = 300
CHANNELS = 3  # RGB, 8 bits each

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
INK: Color = (40, 40, 40)
AXIS: Color = (90, 90, 90)
GRID: Color = (222, 222, 222)
BAR: Color = (46, 125, 206)
MUTED: Color = (150, 150, 150)

# 5x7 glyphs, rows top to bottom, '#' = ink.
_FONT_ROWS: dict[str, str] = {
    " ": "..... ..... ..... ..... ..... ..... .....",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "###.. #..#. #...# #...# #...# #..#. ###..",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
}
GLYPH_W, GLYPH_H = 5, 7
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
FONT: dict[str, tuple[tuple[int, int], ...]] = {
    char: tuple((x, y) for y, row in enumerate(rows.split()) for x, cell in enumerate(row) if cell == "#")
    for char, rows in _FONT_ROWS.items()
}


class Canvas:
    """An RGB image in one bytearray, with clipped rectangles and bitmap text."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the image."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        line = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * CHANNELS
            self.pixels[start : start + len(line)] = line

    @staticmethod
    def text_width(text: str, scale: int = 1) -> int:
        return max(0, len(text) * (GLYPH_W + 1) * scale - scale)

    def text(self, x: int, y: int, text: str, color: Color = INK, scale: int = 1) -> None:
        """Draw `text` with its top-left corner at (x, y)."""
        for i, char in enumerate(text.upper()):
            glyph = FONT.get(char, FONT["?"])
            left = x + i * (GLYPH_W + 1) * scale
            for gx, gy in glyph:
                px, py = left + gx * scale, y + gy * scale
                self.rect(px, py, px + scale, py + scale, color)

    def png(self) -> bytes:
        rows = bytearray()
        stride = self.width * CHANNELS
        for y in range(self.height):
            rows.append(0)  # filter type: none
            rows += self.pixels[y * stride : (y + 1) * stride]
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return b"".join(
            (
                b"\x89PNG\r\n\x1a\n",
                _chunk(b"IHDR", header),
                _chunk(b"IDAT", zlib.compress(bytes(rows), 9)),
                _chunk(b"IEND", b""),
            )
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sla_chart_png(daily: list[tuple[date, float | None]], *, title: str = "SLA met % per day") -> bytes:
    """A bar chart of SLA met % per day (0-100 %), a bar per day, days without data left empty."""
    canvas = Canvas(WIDTH, HEIGHT)
    left, right, top, bottom = 50, WIDTH - 16, 34, HEIGHT - 30
    plot_h = bottom - top
    plot_w = right - left

    title_w = canvas.text_width(title, 2)
    canvas.text(max(4, (WIDTH - title_w) // 2), 9, title, INK, 2)

    def y_of(value: float) -> int:
        return bottom - round(max(0.0, min(100.0, value)) / 100 * plot_h)

    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        if tick:
            canvas.rect(left, y, right, y + 1, GRID)
        label = f"{tick}%"
        canvas.text(left - 6 - canvas.text_width(label), y - GLYPH_H // 2, label, AXIS)

    count = len(daily)
    if all(value is None for _, value in daily):
        message = "no data"
        canvas.text(
            left + (plot_w - canvas.text_width(message, 2)) // 2, top + plot_h // 2 - 7, message, MUTED, 2
        )
    if count:
        pitch = plot_w / count
        bar_w = max(1, math.ceil(pitch) if pitch < 3 else round(pitch * 0.7))
        show_values = pitch >= 26
        for i, (_, value) in enumerate(daily):
            if value is None:
                continue
            x0 = left + round(i * pitch + (pitch - bar_w) / 2)
            y0 = min(y_of(value), bottom - 1)  # 0 % still shows as a line
            canvas.rect(x0, y0, x0 + bar_w, bottom, BAR)
            if show_values:
                label = f"{value:.0f}"  # above the bar; the title ends above top - 10
                canvas.text(x0 + (bar_w - canvas.text_width(label)) // 2, y0 - 10, label, INK)
        label_w = canvas.text_width("30 NOV")
        step = max(1, math.ceil((label_w + 8) / pitch))
        for i in range(count - 1, -1, -step):  # the last day (today) always has its label
            day = daily[i][0]
            label = f"{day.day} {_MONTHS[day.month - 1]}"
            center = left + round((i + 0.5) * pitch)
            x = min(max(center - canvas.text_width(label) // 2, 0), WIDTH - canvas.text_width(label))
            canvas.text(x, bottom + 8, label, AXIS)
            canvas.rect(center, bottom, center + 1, bottom + 4, AXIS)

    canvas.rect(left, top, left + 1, bottom + 1, AXIS)  # y axis
    canvas.rect(left, bottom, right, bottom + 1, AXIS)  # x axis
    return canvas.png()
