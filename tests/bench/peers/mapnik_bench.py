#!/usr/bin/python3
"""Mapnik peer of bench_render: renders the tile list from the zsmap store
(SpatiaLite, read by Mapnik's sqlite plugin through the store's own R*Tree
indexes) with styles/investor.json translated by investor_style.py, 256 px
PNG tiles in EPSG:3857, one thread.

    mapnik_bench.py DB TILES [--style FILE] [--runs R] [--warmup K] [--save DIR]

One Mapnik map per zoom (the style's zoom functions evaluated at that zoom);
consecutive style layers over the same table share one Mapnik layer (one
query), as a Mapnik user would write it. The store's EPSG:4490 lon/lat is
declared as EPSG:4326: zsmap treats it the same way (CGCS2000 and WGS84
differ by centimetres), and Mapnik then projects with its built-in Web
Mercator formula. Default PNG: "png32" (full colour, zlib default level,
filter none, RGBA); fast: "png32:z=2:t=0" (no alpha).
Needs Debian's python3-mapnik (run with /usr/bin/python3)."""

import os
import sys
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mapnik  # noqa: E402

import investor_style  # noqa: E402
import peerbench  # noqa: E402

FONT_DIR = "/usr/share/fonts/opentype/noto/"
FACE = {"Noto Sans CJK SC": "Noto Sans CJK SC Regular"}
BUFFER_PX = 64  # zsmap clips geometry 64 px beyond the tile


def hexcolor(c):
    return "#%02x%02x%02x" % tuple(c)


def filter_expr(where):
    parts = []
    for prop, (op, vals) in sorted(where.items()):
        # null/other stays outside every "in" and inside every "notin"
        ors = " or ".join(f"[{prop}] = '{v}'" for v in vals if v is not None)
        parts.append(f"({ors})" if op == "in" else f"not ({ors})")
    return " and ".join(parts)


def symbolizers(kind, p):
    if kind == "fill":
        s = f'<PolygonSymbolizer fill="{hexcolor(p["color"])}" fill-opacity="{p["opacity"]}"/>'
        if "outline" in p:
            s += (f'<LineSymbolizer stroke="{hexcolor(p["outline"])}" stroke-width="1" '
                  f'stroke-opacity="{p["opacity"]}"/>')
        return s
    if kind == "line":
        dash = f' stroke-dasharray="{",".join(str(d) for d in p["dash"])}"' if p["dash"] else ""
        return (f'<LineSymbolizer stroke="{hexcolor(p["color"])}" stroke-width="{p["width"]}" '
                f'stroke-opacity="{p["opacity"]}" stroke-linecap="{p["cap"]}" '
                f'stroke-linejoin="{p["join"]}"{dash}/>')
    if kind == "text":
        place = "line" if p["placement"] == "line" else "point"
        wrap = f' wrap-width="{p["max_width_px"]}"' if place == "point" else ""
        return (f'<TextSymbolizer face-name={quoteattr(FACE.get(p["font"], p["font"]))} '
                f'size="{p["size"]}" fill="{hexcolor(p["color"])}" '
                f'halo-fill="{hexcolor(p["halo"])}" halo-radius="{p["halo_width"]}" '
                f'placement="{place}" margin="{p["padding"]}"{wrap}>'
                f'[{p["field"]}]</TextSymbolizer>')
    raise ValueError(kind)


def map_xml(db, style_path, zoom):
    layers = investor_style.rules(style_path, zoom)
    # labels go on top, the upper style layer placing first (as zsmap does)
    body = [ly for ly in layers if ly.kind not in ("background", "text")]
    body += [ly for ly in reversed(layers) if ly.kind == "text"]
    bg = next((ly.rules[0].paint["color"] for ly in layers if ly.kind == "background"), (255,) * 3)
    styles, groups = [], []  # groups: [table, [style names]]
    for ly in body:
        rules = []
        for r in ly.rules:
            f = filter_expr(r.where)
            rules.append("<Rule>" + (f"<Filter>{escape(f)}</Filter>" if f else "")
                         + symbolizers(ly.kind, r.paint) + "</Rule>")
        styles.append(f'<Style name="{ly.id}">{"".join(rules)}</Style>')
        if groups and groups[-1][0] == ly.table and ly.kind != "text":
            groups[-1][1].append(ly.id)
        else:
            groups.append([ly.table, [ly.id]])
    xml_layers = []
    for i, (table, names) in enumerate(groups):
        params = {
            "type": "sqlite", "file": db, "table": table, "geometry_field": "geom",
            "wkb_format": "spatialite", "use_spatial_index": "true", "key_field": "rowid",
        }
        ds = "".join(f'<Parameter name="{k}">{escape(v)}</Parameter>' for k, v in params.items())
        xml_layers.append(
            f'<Layer name="l{i}-{table}" srs="epsg:4326">'
            + "".join(f"<StyleName>{n}</StyleName>" for n in names)
            + f"<Datasource>{ds}</Datasource></Layer>")
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<Map srs="epsg:3857" background-color="{hexcolor(bg)}" buffer-size="{BUFFER_PX}">'
            + "".join(styles) + "".join(xml_layers) + "</Map>")


class MapnikRenderer:
    def __init__(self, db, style_path, zooms):
        mapnik.register_fonts(FONT_DIR)
        self.db, self.style_path, self.zooms = os.path.abspath(db), style_path, zooms
        self.maps = {}

    def setup(self):
        self.maps = {}
        for z in self.zooms:
            m = mapnik.Map(256, 256)
            mapnik.load_map_from_string(m, map_xml(self.db, self.style_path, z), True)
            self.maps[z] = m

    def render(self, z, x, y):
        m = self.maps[z]
        m.zoom_to_box(mapnik.Box2d(*peerbench.tile_bounds(z, x, y)))
        im = mapnik.Image(256, 256)
        mapnik.render(m, im)
        return im

    def encode(self, im, fast):
        return im.tostring("png32:z=2:t=0" if fast else "png32")


def main():
    a = peerbench.arguments("mapnik_bench")
    tiles = peerbench.read_tiles(a.tiles)
    r = MapnikRenderer(a.db, a.style, sorted({t[0] for t in tiles}))
    v = mapnik.mapnik_version()  # 300100 for 3.1.0
    peerbench.run(f"mapnik {v // 100000}.{v // 100 % 1000}.{v % 100}", r, a)


if __name__ == "__main__":
    main()
