#!/usr/bin/python3
"""Writes the fixed tile list of the render benchmark: XYZ tiles z12-z18 over
the demo district, one "z/x/y" per line, the same list on every run.

    make_tiles.py [--db DEMO.sqlite] [--per-zoom N] [--seed S] [-o tiles.txt]

The extent is the demo district's (117.12-117.26E, 34.24-34.34N, EPSG:4490
lon/lat, which Web Mercator treats as WGS84 like zsmap does); with --db it is
read from the boundary layer of that store with GDAL instead. Each zoom gets
N tiles (default 80) drawn without repeats with a fixed seed; a zoom with
fewer tiles over the extent (z12-z14) gives all it has, and the shortfall is
shared out among the higher zooms, so the list keeps N x 7 tiles in total.
The committed tests/bench/tiles.txt is the output with the defaults."""

import argparse
import math
import random
import sys

EXTENT = (117.12, 34.24, 117.26, 34.34)  # W, S, E, N degrees
ZOOMS = range(12, 19)


def tile_xy(lon, lat, z):
    """The tile holding lon/lat at zoom z (spherical Web Mercator)."""
    n = 1 << z
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return min(int(x), n - 1), min(int(y), n - 1)


def tiles_over(extent, z):
    w, s, e, n = extent
    x0, y0 = tile_xy(w, n, z)
    x1, y1 = tile_xy(e, s, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def extent_from_db(path):
    from osgeo import ogr

    ds = ogr.Open(path)
    if ds is None:
        sys.exit(f"make_tiles.py: cannot open {path}")
    layer = ds.GetLayerByName("boundary")
    if layer is None or layer.GetFeatureCount() == 0:
        sys.exit(f"make_tiles.py: {path} has no boundary")
    minx, maxx, miny, maxy = layer.GetExtent()
    return (minx, miny, maxx, maxy)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="read the extent from this store's boundary")
    ap.add_argument("--per-zoom", type=int, default=80)
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("-o", "--out", default="-")
    a = ap.parse_args()

    extent = extent_from_db(a.db) if a.db else EXTENT
    rng = random.Random(a.seed)
    avail = {z: tiles_over(extent, z) for z in ZOOMS}
    # quotas: small zooms give all they have, the rest is shared upward
    quota = {z: a.per_zoom for z in ZOOMS}
    short = 0
    for z in ZOOMS:
        if len(avail[z]) < quota[z]:
            short += quota[z] - len(avail[z])
            quota[z] = len(avail[z])
    while short:
        open_z = [z for z in ZOOMS if len(avail[z]) > quota[z]]
        if not open_z:
            break
        for z in open_z:
            if short and len(avail[z]) > quota[z]:
                quota[z] += 1
                short -= 1
    tiles = []
    for z in ZOOMS:
        pick = avail[z] if quota[z] == len(avail[z]) else rng.sample(avail[z], quota[z])
        tiles += sorted(pick)
    # a fixed shuffle: zooms interleaved, as a server sees them
    rng.shuffle(tiles)
    text = "".join(f"{z}/{x}/{y}\n" for z, x, y in tiles)
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    counts = ", ".join(f"z{z}: {quota[z]}" for z in ZOOMS)
    print(f"make_tiles.py: {len(tiles)} tiles ({counts})", file=sys.stderr)


if __name__ == "__main__":
    main()
