"""Read the pixels of a PNG as a browser's canvas writes it (8-bit RGB or RGBA, not
interlaced), with zlib only: enough to tell a plot from a blank picture."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass

__all__ = ("Pixels", "decode_png")


@dataclass(frozen=True)
class Pixels:
    width: int
    height: int
    rows: list[bytes]  # RGBA, 4 bytes a pixel
    encoded_bytes: int

    def colors(self) -> dict[tuple[int, int, int, int], int]:
        """How many pixels have each colour."""
        counts: dict[tuple[int, int, int, int], int] = {}
        for row in self.rows:
            for i in range(0, len(row), 4):
                key = (row[i], row[i + 1], row[i + 2], row[i + 3])
                counts[key] = counts.get(key, 0) + 1
        return counts

    def share_near(self, rgb: tuple[int, int, int], tolerance: int = 40) -> float:
        """The share of pixels within tolerance of rgb (each channel)."""
        near = sum(
            n
            for (r, g, b, _a), n in self.colors().items()
            if max(abs(r - rgb[0]), abs(g - rgb[1]), abs(b - rgb[2])) <= tolerance
        )
        return near / (self.width * self.height)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: str | bytes) -> Pixels:
    """Pixels of a PNG given as bytes or as base64 text (a notebook's ``image/png``)."""
    raw = base64.b64decode(data) if isinstance(data, str) else data
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    stream = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = stream[start], bytearray(stream[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        prev = line
        if channels == 3:
            rgba = bytearray()
            for i in range(0, stride, 3):
                rgba += line[i : i + 3] + b"\xff"
            rows.append(bytes(rgba))
        else:
            rows.append(bytes(line))
    return Pixels(width, height, rows, len(raw))
