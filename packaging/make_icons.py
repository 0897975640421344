"""Render the app icon from the SVGs in resources/ into every format the installers need.

    python packaging/make_icons.py [OUT_DIR]        (default: build/icons)

The app icon is the tray's "all good" icon: the coin (resources/coin.svg) with the OK badge
(resources/badge-ok.svg) in the lower right corner, at the same place and size as
tray_app/ui/icons.py draws it. It is composed as one SVG (also installed as the scalable
icon on Linux) and rendered with Qt's own SVG renderer, so no Pillow or Inkscape is needed:

    credit-tray.svg                  the composed scalable icon
    png/credit-tray-N.png            N in appmeta.PNG_SIZES (Linux hicolor theme, docs)
    credit-tray.ico                  Windows: BMP entries 16-128 px, a PNG entry at 256 px
    credit-tray.icns                 macOS: PNG entries 16-1024 px (including the @2x kinds)
"""

from __future__ import annotations

import os
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # appended: never shadow an installed package
    sys.path.append(str(Path(__file__).resolve().parent))
import appmeta

SVG_NS = "http://www.w3.org/2000/svg"
RESOURCES = appmeta.ROOT / "resources"
#: Badge size and position as a fraction of the icon, as in tray_app/ui/icons.py (size * 0.56, lower right).
BADGE_FRACTION = 0.56


def _children(svg: Path, view: tuple[float, float]) -> list[ET.Element]:
    root = ET.fromstring(svg.read_bytes())  # noqa: S314 - the project's own files, not input
    box = tuple(float(v) for v in root.get("viewBox", "").split())
    if box != (0.0, 0.0, *view):
        raise ValueError(f"{svg.name}: expected viewBox 0 0 {view[0]:g} {view[1]:g}, found {box}")
    return list(root)


def composed_svg(coin: Path = RESOURCES / "coin.svg", badge: Path = RESOURCES / "badge-ok.svg") -> bytes:
    """One SVG: the coin, and the badge scaled into the lower-right corner."""
    ET.register_namespace("", SVG_NS)
    out = ET.Element(f"{{{SVG_NS}}}svg", {"width": "512", "height": "512", "viewBox": "0 0 64 64"})
    coin_group = ET.SubElement(out, f"{{{SVG_NS}}}g", {"id": "coin"})
    coin_group.extend(_children(coin, (64, 64)))
    side = 64 * BADGE_FRACTION
    badge_group = ET.SubElement(out, f"{{{SVG_NS}}}g", {
        "id": "badge", "transform": f"translate({64 - side:g} {64 - side:g}) scale({side / 32:g})"})
    badge_group.extend(_children(badge, (32, 32)))
    return ET.tostring(out, encoding="utf-8", xml_declaration=True) + b"\n"


class Renderer:
    """Qt's SVG renderer into straight-alpha ARGB32 images (needs a Qt application object).

    It makes a QApplication, not a bare QGuiApplication: inside a test run, a later widget test
    would otherwise find a QGuiApplication and abort on its first QWidget.
    """

    def __init__(self, svg: bytes) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QByteArray, QCoreApplication
        from PySide6.QtSvg import QSvgRenderer
        from PySide6.QtWidgets import QApplication

        self._app = QCoreApplication.instance() or QApplication(["make_icons"])
        self._renderer = QSvgRenderer(QByteArray(svg))
        if not self._renderer.isValid():
            raise ValueError("Qt could not parse the composed SVG")

    def image(self, size: int):  # -> QImage
        from PySide6.QtCore import QRectF, Qt
        from PySide6.QtGui import QImage, QPainter

        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        return image.convertToFormat(QImage.Format.Format_ARGB32)

    def png(self, size: int) -> bytes:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.image(size).save(buffer, "PNG"):
            raise RuntimeError(f"Qt could not write a {size} px PNG")
        buffer.close()
        return bytes(data.data())

    def bgra_rows(self, size: int) -> list[bytes]:
        """Rows top to bottom, 4 bytes a pixel in B, G, R, A order (straight alpha)."""
        image = self.image(size)
        raw = bytes(image.constBits())
        stride = image.bytesPerLine()
        rows = [raw[y * stride: y * stride + size * 4] for y in range(size)]
        if sys.byteorder == "big":  # ARGB32 is a native-endian 0xAARRGGBB word
            rows = [b"".join(row[i:i + 4][::-1] for i in range(0, len(row), 4)) for row in rows]
        return rows


def _ico_bmp(rows: list[bytes], size: int) -> bytes:
    """A 32-bit DIB as stored in an .ico: header with doubled height, bottom-up pixels, AND mask."""
    mask_stride = (size + 31) // 32 * 4
    mask = bytearray()
    for row in reversed(rows):
        bits = bytearray(mask_stride)
        for x in range(size):
            if row[x * 4 + 3] == 0:  # fully transparent: the legacy mask says "keep the screen"
                bits[x // 8] |= 0x80 >> (x % 8)
        mask += bits
    pixels = b"".join(reversed(rows))
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    return header + pixels + bytes(mask)


def ico(renderer: Renderer, sizes: tuple[int, ...] = appmeta.ICO_SIZES) -> bytes:
    entries = [(size, renderer.png(size) if size >= 256 else _ico_bmp(renderer.bgra_rows(size), size))
               for size in sizes]
    offset = 6 + 16 * len(entries)
    head = struct.pack("<HHH", 0, 1, len(entries))
    body = b""
    for size, data in entries:
        side = 0 if size >= 256 else size  # 0 means 256 in the directory
        head += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return head + body


def icns(renderer: Renderer, types: tuple[tuple[str, int], ...] = appmeta.ICNS_TYPES) -> bytes:
    body = b""
    for ostype, size in types:
        data = renderer.png(size)
        body += ostype.encode("ascii") + struct.pack(">I", len(data) + 8) + data
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def generate(out: Path) -> dict[str, Path]:
    """Write every icon file into ``out``; returns them by kind."""
    out.mkdir(parents=True, exist_ok=True)
    svg = composed_svg()
    renderer = Renderer(svg)
    written = {"svg": out / f"{appmeta.APP_ID}.svg", "ico": out / f"{appmeta.APP_ID}.ico",
               "icns": out / f"{appmeta.APP_ID}.icns"}
    written["svg"].write_bytes(svg)
    (out / "png").mkdir(exist_ok=True)
    for size in appmeta.PNG_SIZES:
        path = out / "png" / f"{appmeta.APP_ID}-{size}.png"
        path.write_bytes(renderer.png(size))
        written[f"png{size}"] = path
    written["ico"].write_bytes(ico(renderer))
    written["icns"].write_bytes(icns(renderer))
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else appmeta.ROOT / "build" / "icons"
    for path in generate(out).values():
        print(f"{path.stat().st_size:8d}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
