"""Regenerate the add-in's icons: a two-regime chart (calm blue, stressed red bands) with a
white price path that falls in the stressed regime.

    .venv/bin/python scripts/make_icons.py

Writes regime-risk-{16,32,64,80,128}.png in xlfuncs/server_project/static/images/icons (the
manifest references 16, 32, 64 and 80; 128 is for catalogues such as the Microsoft 365 admin
center) and ../favicon.png (32 px, used by the task pane and /favicon.ico). Needs Pillow;
the same Pillow version gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = (
    Path(__file__).resolve().parents[1]
    / "xlfuncs"
    / "server_project"
    / "static"
    / "images"
    / "icons"
)
SIZES = (16, 32, 64, 80, 128)
SUPERSAMPLE = 8

CALM = (31, 111, 178, 255)  # blue band: calm regime
STRESS = (214, 69, 43, 255)  # red band: stressed regime
LINE = (255, 255, 255, 255)
# Regime bands as fractions of the width: calm, stressed, calm.
BANDS = ((0.0, 0.44, CALM), (0.44, 0.70, STRESS), (0.70, 1.0, CALM))
# Price path (x, y as fractions; y grows downwards): rises, falls in the stressed band, recovers.
PATH = ((0.13, 0.64), (0.27, 0.47), (0.41, 0.37), (0.55, 0.70), (0.66, 0.78), (0.79, 0.52),
        (0.89, 0.30))  # fmt: skip


def icon(size: int) -> Image.Image:
    """The icon at `size` x `size` pixels (RGBA), drawn large and downsampled."""
    big = size * SUPERSAMPLE
    bands = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(bands)
    for start, stop, colour in BANDS:
        draw.rectangle((round(start * big), 0, round(stop * big), big), fill=colour)
    points = [(x * big, y * big) for x, y in PATH]
    width = round(max(0.09 * size, 1.7) * SUPERSAMPLE)
    draw.line(points, fill=LINE, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps
        r = width / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=LINE)

    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=0.2 * big, fill=255)
    out = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    out.paste(bands, (0, 0), mask)
    return out.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    targets = [(size, HERE / f"regime-risk-{size}.png") for size in SIZES]
    targets.append((32, HERE.parent / "favicon.png"))
    for size, path in targets:
        icon(size).save(path, format="PNG", optimize=True)
        print(path)


if __name__ == "__main__":
    main()
