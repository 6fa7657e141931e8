"""A small PNG reader (standard library zlib only) for tests that look at rendered pages: 8-bit grey, RGB and
RGBA images, non-interlaced, the kinds headless Chromium writes."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> channels


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_rgb(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows): each row ``width * 3`` bytes of RGB (alpha dropped, grey expanded)."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = len(SIGNATURE), bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path} has no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    bpp = _CHANNELS[colour_type]
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upper_left = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, previous[i], upper_left)) & 0xFF
        elif kind != 0:
            raise ValueError(f"bad PNG filter type {kind} in row {y}")
        previous = line
        if bpp == 3:
            rows.append(bytes(line))
        elif bpp == 4:
            rows.append(bytes(b for n, b in enumerate(line) if n % 4 != 3))
        else:
            grey = line[::bpp]
            rows.append(bytes(v for g in grey for v in (g, g, g)))
    return width, height, rows


def colour_counts(path: Path) -> Counter[str]:
    """How many pixels of each colour (``#rrggbb``) the image holds."""
    _, _, rows = read_rgb(path)
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(row[i : i + 3].hex() for i in range(0, len(row), 3))
    return Counter({f"#{colour}": n for colour, n in counts.items()})
