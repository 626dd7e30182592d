#!/usr/bin/python3
"""Puts the same tiles from several renderers side by side for a visual
check: one row per tile, one column per folder (each holding Z-X-Y.png), on
white, written as one PNG. Uses Mapnik's image compositing (no PIL here).

    side_by_side.py OUT.png TILES DIR [DIR...]
"""

import sys

import mapnik

GAP = 6


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, tiles_path, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    tiles = [ln.strip() for ln in open(tiles_path) if ln.strip() and not ln.startswith("#")]
    w = len(dirs) * 256 + (len(dirs) - 1) * GAP
    h = len(tiles) * 256 + (len(tiles) - 1) * GAP
    sheet = mapnik.Image(w, h)
    sheet.fill(mapnik.Color("white"))
    sheet.premultiply()
    for row, t in enumerate(tiles):
        name = t.replace("/", "-") + ".png"
        for col, d in enumerate(dirs):
            im = mapnik.Image.open(f"{d}/{name}")
            im.premultiply()
            sheet.composite(im, mapnik.CompositeOp.src_over, 1.0, col * (256 + GAP), row * (256 + GAP))
    sheet.demultiply()
    sheet.save(out, "png32")


if __name__ == "__main__":
    main()
