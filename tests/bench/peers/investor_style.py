"""styles/investor.json turned into plain per-zoom rules for the peer
renderers (Mapnik, MapServer), so that they draw what zsmap draws.

The MapLibre expressions the style uses are evaluated here, at each whole
zoom of the benchmark, for every value of the properties they read (status,
land_use, road_class, each with an "other" bucket for anything else or
null); features that get the same paint are grouped into one rule whose
condition is a set of values per property. What the peers cannot do is left
out and said in README.md: symbol-sort-key (label priority), zsmap's
cross-tile label placement, and circles for point buildings (the demo has
none: every building is a polygon).

    rules(style_path, zoom) -> list of Layer (in drawing order)
"""

import json
import math
from dataclasses import dataclass, field

OTHER = None  # the bucket for any value not listed, and for null

DOMAINS = {
    "status": ["available", "reserved", "leased", "under_construction", OTHER],
    "land_use": ["industrial", "commercial", "residential", "mixed", "green", "other", OTHER],
    "road_class": ["primary", "secondary", "tertiary", "minor", OTHER],
}


@dataclass
class Rule:
    # property -> ("in", [values]) or ("notin", [values]); empty: every feature
    where: dict
    paint: dict


@dataclass
class Layer:
    id: str
    kind: str  # background | fill | line | text
    table: str  # the store's table (None for background)
    rules: list = field(default_factory=list)


class Unsupported(Exception):
    pass


def _gets(e, out):
    if isinstance(e, dict):
        for x in e.values():
            _gets(x, out)
    elif isinstance(e, list) and e:
        if e[0] == "get" and len(e) == 2:
            out.add(e[1])
        for x in e[1:]:
            _gets(x, out)
    return out


def _interp(kind, x, stops, ev):
    pts = [(stops[i], stops[i + 1]) for i in range(0, len(stops), 2)]
    if x <= pts[0][0]:
        return ev(pts[0][1])
    if x >= pts[-1][0]:
        return ev(pts[-1][1])
    for (x0, v0), (x1, v1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            a, b = ev(v0), ev(v1)
            if kind[0] == "linear":
                t = (x - x0) / (x1 - x0)
            elif kind[0] == "exponential":
                base = kind[1]
                t = (x - x0) / (x1 - x0) if base == 1 else (base ** (x - x0) - 1) / (base ** (x1 - x0) - 1)
            else:
                raise Unsupported(kind)
            return a + (b - a) * t
    raise Unsupported(stops)


def evaluate(e, zoom, props, geometry="Polygon"):
    """A MapLibre expression (the subset investor.json uses) for one feature."""
    ev = lambda x: evaluate(x, zoom, props, geometry)  # noqa: E731
    if not isinstance(e, list) or not e or not isinstance(e[0], str):
        return e  # a constant, or an array of numbers (line-dasharray)
    op = e[0]
    if op == "get":
        return props.get(e[1])
    if op == "zoom":
        return zoom
    if op == "literal":
        return e[1]
    if op == "geometry-type":
        return geometry
    if op == "interpolate":
        if e[2] != ["zoom"]:
            raise Unsupported("interpolate over " + json.dumps(e[2]))
        return _interp(e[1], zoom, e[3:], ev)
    if op == "match":
        v = ev(e[1])
        for i in range(2, len(e) - 1, 2):
            labels = e[i] if isinstance(e[i], list) else [e[i]]
            if v in labels:
                return ev(e[i + 1])
        return ev(e[-1])
    if op == "==":
        return ev(e[1]) == ev(e[2])
    if op == "!=":
        return ev(e[1]) != ev(e[2])
    if op == "in":
        return ev(e[1]) in ev(e[2])
    if op == "coalesce":
        for x in e[1:]:
            v = ev(x)
            if v is not None:
                return v
        return None
    raise Unsupported(op)


def _combos(names):
    out = [{}]
    for n in names:
        out = [dict(c, **{n: v}) for c in out for v in DOMAINS[n]]
    return out


def _condition(combos, names):
    """The combos as one set of values per property, when they are exactly
    the product of those sets; None otherwise."""
    where, size = {}, 1
    for n in names:
        vals = []
        for c in combos:
            if c[n] not in vals:
                vals.append(c[n])
        size *= len(vals)
        if len(vals) == len(DOMAINS[n]):
            continue
        if OTHER in vals:
            where[n] = ("notin", [v for v in DOMAINS[n] if v not in vals])
        else:
            where[n] = ("in", vals)
    return where if size == len(combos) else None


def _color(c):
    """#rgb / #rrggbb -> (r, g, b) 0..255."""
    c = c.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return tuple(int(c[i:i + 2], 16) for i in (0, 2, 4))


def _paint(sl, zoom, props):
    """The drawing parameters of layer sl for a feature, or None when it is
    filtered out."""
    p, lo = sl.get("paint", {}), sl.get("layout", {})
    ev = lambda k, d=None, src=p: evaluate(src[k], zoom, props) if k in src else d  # noqa: E731
    if "filter" in sl and not evaluate(sl["filter"], zoom, props):
        return None
    t = sl["type"]
    if t == "background":
        return {"color": _color(ev("background-color")), "opacity": ev("background-opacity", 1.0)}
    if t == "fill":
        out = {"color": _color(ev("fill-color")), "opacity": float(ev("fill-opacity", 1.0))}
        if "fill-outline-color" in p:
            out["outline"] = _color(ev("fill-outline-color"))
        return out
    if t == "line":
        w = float(ev("line-width", 1.0))
        dash = ev("line-dasharray")
        return {
            "color": _color(ev("line-color")),
            "width": round(w, 3),
            "opacity": float(ev("line-opacity", 1.0)),
            "cap": ev("line-cap", "butt", lo),
            "join": ev("line-join", "miter", lo),
            "dash": [round(d * w, 3) for d in dash] if dash else None,
        }
    if t == "symbol":
        tf = lo["text-field"]
        if not (isinstance(tf, list) and tf[0] == "get"):
            raise Unsupported("text-field " + json.dumps(tf))
        size = float(ev("text-size", 16.0, lo))
        return {
            "field": tf[1],
            "font": lo.get("text-font", ["Noto Sans CJK SC"])[0],  # an array of names
            "size": round(size, 3),
            "max_width_px": round(float(ev("text-max-width", 10.0, lo)) * size, 1),
            "padding": float(ev("text-padding", 2.0, lo)),
            "placement": ev("symbol-placement", "point", lo),
            "color": _color(ev("text-color", "#000000")),
            "halo": _color(ev("text-halo-color", "#ffffff")),
            "halo_width": float(ev("text-halo-width", 0.0)),
        }
    raise Unsupported("layer type " + t)


def rules(style_path, zoom):
    """The style's layers drawn at a whole zoom, each with its rules."""
    with open(style_path, encoding="utf-8") as f:
        st = json.load(f)
    out = []
    for sl in st["layers"]:
        if not (sl.get("minzoom", 0) <= zoom < sl.get("maxzoom", 24)):
            continue
        if sl["type"] == "circle":
            continue  # point buildings: none in the demo
        names = sorted(
            n for n in _gets(sl.get("filter"), set())
            | _gets(sl.get("paint"), set()) | _gets(sl.get("layout"), set())
            if n in DOMAINS
        )
        groups = {}
        for c in _combos(names):
            pt = _paint(sl, zoom, c)
            if pt is not None:
                groups.setdefault(json.dumps(pt, sort_keys=True), []).append(c)
        kind = {"background": "background", "fill": "fill", "line": "line", "symbol": "text"}[sl["type"]]
        layer = Layer(sl["id"], kind, sl.get("source-layer"))
        for key, combos in groups.items():
            where = _condition(combos, names)
            if where is None:  # not a product: one rule per combination
                for c in combos:
                    layer.rules.append(Rule(_condition([c], names), json.loads(key)))
            else:
                layer.rules.append(Rule(where, json.loads(key)))
        if layer.rules:
            out.append(layer)
    return out


def scale_denominator(zoom):
    """OGC scale denominator of a 256 px Web Mercator tile at zoom (0.28 mm pixels)."""
    return 559082264.0287178 / math.pow(2, zoom)


if __name__ == "__main__":
    import sys

    for z in (12, 15, 18):
        print(f"--- zoom {z}")
        for ly in rules(sys.argv[1] if len(sys.argv) > 1 else "styles/investor.json", z):
            for r in ly.rules:
                print(ly.id, ly.kind, ly.table, r.where, r.paint)
