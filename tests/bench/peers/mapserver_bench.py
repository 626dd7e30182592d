#!/usr/bin/python3
"""MapServer peer of bench_render: renders the tile list from the zsmap
store (SpatiaLite read through OGR, connection pooling with
PROCESSING "CLOSE_CONNECTION=DEFER") with styles/investor.json translated by
investor_style.py, 256 px PNG tiles in EPSG:3857 with the AGG renderer, one
thread, through MapScript.

    mapserver_bench.py DB TILES [--style FILE] [--runs R] [--warmup K] [--save DIR]

One map per zoom (the style's zoom functions evaluated at that zoom); one
MapServer layer per style layer (a layer draws feature by feature, so road
casings need layers of their own). The store's EPSG:4490 lon/lat is declared
as EPSG:4326 (zsmap treats it the same way). Labels use MapServer's label
cache: halos with OUTLINECOLOR/OUTLINEWIDTH, road names ANGLE FOLLOW, label
priority by style layer like zsmap's. MapServer's FONTSET takes the first
face of NotoSansCJK-Regular.ttc (the JP cut of the same design; timing is
the same). Default PNG: AGG/PNG, RGB, zlib default level (MapServer already
writes with filter NONE); fast: FORMATOPTION "COMPRESSION=2".
Needs Debian's python3-mapscript (run with /usr/bin/python3)."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mapscript  # noqa: E402

import investor_style  # noqa: E402
import peerbench  # noqa: E402

FONTS = {"Noto Sans CJK SC": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"}


def rgb(c):
    return "%d %d %d" % tuple(c)


def expression(where):
    parts = []
    for prop, (op, vals) in sorted(where.items()):
        vals = [v for v in vals if v is not None]
        if op == "in":
            parts.append("(" + " OR ".join(f'("[{prop}]" = "{v}")' for v in vals) + ")")
        else:  # null reads as "" and so stays outside every listed value
            parts.append("(" + " AND ".join(f'("[{prop}]" != "{v}")' for v in vals) + ")")
    return "(" + " AND ".join(parts) + ")" if parts else None


def style_block(kind, p):
    op = int(round(p["opacity"] * 100))
    if kind == "fill":
        s = f"STYLE COLOR {rgb(p['color'])} OPACITY {op} END\n"
        if "outline" in p:
            s += f"STYLE OUTLINECOLOR {rgb(p['outline'])} WIDTH 1 OPACITY {op} END\n"
        return s
    if kind == "line":
        s = (f"STYLE COLOR {rgb(p['color'])} WIDTH {p['width']} OPACITY {op} "
             f"LINECAP {p['cap'].upper()} LINEJOIN {p['join'].upper()}")
        if p["dash"]:
            s += " PATTERN " + " ".join(str(d) for d in p["dash"]) + " END"
        return s + " END\n"
    raise ValueError(kind)


def label_block(p, priority):
    line = p["placement"] == "line"
    # MapServer's label SIZE is in points at 96 dpi (x 4/3 in pixels)
    s = (f"LABEL FONT \"{p['font'].replace(' ', '_')}\" SIZE {round(p['size'] * 0.75, 2)} COLOR {rgb(p['color'])} "
         f"OUTLINECOLOR {rgb(p['halo'])} OUTLINEWIDTH {max(1, round(p['halo_width']))} "
         f"BUFFER {int(round(p['padding']))} PARTIALS FALSE PRIORITY {priority} ")
    if line:
        s += "ANGLE FOLLOW "
    else:  # wrap after about max-width: CJK characters are 1 em each
        s += f"POSITION CC MAXLENGTH {max(1, int(p['max_width_px'] / p['size']))} "
    return s + "END\n"


def map_text(db, style_path, zoom, fontset):
    layers = investor_style.rules(style_path, zoom)
    bg = next((ly.rules[0].paint["color"] for ly in layers if ly.kind == "background"), (255,) * 3)
    text_layers = [ly for ly in layers if ly.kind == "text"]
    out = [f"""MAP
  SIZE 256 256
  UNITS METERS
  EXTENT -20037508.34 -20037508.34 20037508.34 20037508.34
  IMAGECOLOR {rgb(bg)}
  FONTSET "{fontset}"
  PROJECTION "init=epsg:3857" END
  OUTPUTFORMAT NAME "png" DRIVER AGG/PNG MIMETYPE "image/png" IMAGEMODE RGB EXTENSION "png" END
"""]
    for ly in layers:
        if ly.kind == "background":
            continue
        geom = {"fill": "POLYGON", "line": "LINE"}.get(ly.kind)
        if ly.kind == "text":
            geom = "LINE" if ly.rules[0].paint["placement"] == "line" else "POLYGON"
        out.append(f"""  LAYER
    NAME "{ly.id}"
    TYPE {geom}
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{db}"
    DATA "{ly.table}"
    PROCESSING "CLOSE_CONNECTION=DEFER"
    PROJECTION "init=epsg:4326" END
""")
        for r in ly.rules:
            e = expression(r.where)
            out.append("    CLASS\n" + (f"      EXPRESSION {e}\n" if e else ""))
            if ly.kind == "text":
                # upper style layers place first, as in zsmap (PRIORITY 10 wins)
                prio = 10 - (len(text_layers) - 1 - text_layers.index(ly))
                out.append(f"      TEXT \"[{r.paint['field']}]\"\n      " + label_block(r.paint, prio))
            else:
                out.append("      " + style_block(ly.kind, r.paint))
            out.append("    END\n")
        out.append("  END\n")
    out.append("END\n")
    return "".join(out)


class MapServerRenderer:
    def __init__(self, db, style_path, zooms):
        self.db, self.style_path, self.zooms = os.path.abspath(db), style_path, zooms
        self.tmp = tempfile.mkdtemp(prefix="zsmap-ms-")
        self.fontset = os.path.join(self.tmp, "fonts.txt")
        with open(self.fontset, "w") as f:
            for name, path in FONTS.items():
                f.write(f"{name.replace(' ', '_')} {path}\n")
        self.maps = {}

    def setup(self):
        self.maps = {}
        for z in self.zooms:
            m = mapscript.fromstring(map_text(self.db, self.style_path, z, self.fontset))
            m.selectOutputFormat("png")
            self.maps[z] = m

    def render(self, z, x, y):
        m = self.maps[z]
        minx, miny, maxx, maxy = peerbench.tile_bounds(z, x, y)
        half = (maxx - minx) / 256 / 2  # MapServer's extent runs to the centres of edge pixels
        m.setExtent(minx + half, miny + half, maxx - half, maxy - half)
        return (z, m.draw())

    def encode(self, img, fast):
        _, im = img
        # the image's format is the map's; -1 is MapServer's default (zlib's 6)
        im.format.setOption("COMPRESSION", "2" if fast else "-1")
        return im.getBytes()


def main():
    a = peerbench.arguments("mapserver_bench")
    tiles = peerbench.read_tiles(a.tiles)
    r = MapServerRenderer(a.db, a.style, sorted({t[0] for t in tiles}))
    ver = mapscript.msGetVersion().split()[2]
    peerbench.run(f"mapserver {ver}", r, a)


if __name__ == "__main__":
    main()
