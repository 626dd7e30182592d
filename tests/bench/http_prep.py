#!/usr/bin/python3
"""Lists and files for the HTTP benchmark (run-http.sh, README.md here).

  http_prep.py pick URL [--zooms 14-17] [--min 18000] [--max 34000] [--count 128]
      tiles (z/x/y) of the district's TileJSON bounds whose investor PNG from
      the zsmap server at URL is min..max bytes, spread over the zooms, in a
      fixed shuffled order: how http_tiles.txt was made
  http_prep.py grid URL --zooms 15-17 [--style investor]
      the paths of every tile of those zooms over the bounds, shuffled (seed 1)
  http_prep.py tiles URL LIST ROOT PATHS
      fetches LIST's tiles from zsmap at URL (warming its cache), writes the
      bytes to ROOT/<URL path> for nginx and "path TAB zsmap ETag" to PATHS
  http_prep.py same URL PATHS ROOT ETAGS
      checks that the server at URL (nginx) sends the bytes of ROOT for every
      path of PATHS and writes "path TAB its own ETag" to ETAGS
  http_prep.py api URL DIR
      ids.paths (carrier profiles), search.paths (searches), at.paths (clicks
      at zoom 15-17), from the server's own data
"""
import argparse
import json
import math
import os
import random
import sys
import urllib.error
import urllib.request

STYLE = "investor"


def get(url, headers=None):
    """(status, headers, body) of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def bounds(url):
    return json.loads(get(f"{url}/tiles/{STYLE}.json")[2])["bounds"]


def zoom_range(s):
    a, _, b = s.partition("-")
    return range(int(a), int(b or a) + 1)


def tiles_over(b, z):
    """Every XYZ tile of zoom z over the lon/lat box b."""
    n = 2**z

    def x_of(lon):
        return min(n - 1, int((lon + 180) / 360 * n))

    def y_of(lat):
        r = math.radians(lat)
        return min(n - 1, int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n))

    return [(z, x, y) for x in range(x_of(b[0]), x_of(b[2]) + 1)
            for y in range(y_of(b[3]), y_of(b[1]) + 1)]


def tile_path(z, x, y, style=STYLE):
    return f"/tiles/{style}/{z}/{x}/{y}.png"


def cmd_pick(a):
    b = bounds(a.url)
    zooms = list(zoom_range(a.zooms))
    rng = random.Random(1)
    fits = {}
    for z in zooms:
        ts = tiles_over(b, z)
        rng.shuffle(ts)
        fits[z] = []
        for t in ts:  # stop early: a few hundred candidates are plenty
            st, _, body = get(a.url + tile_path(*t))
            if st == 200 and a.min <= len(body) <= a.max:
                fits[z].append(t)
                if len(fits[z]) >= a.count:
                    break
        print(f"z{z}: {len(fits[z])} tiles of {a.min}-{a.max} bytes", file=sys.stderr)
    # round robin over the zooms: equal shares where the zooms have enough
    chosen, i = [], 0
    while len(chosen) < a.count and any(i < len(fits[z]) for z in zooms):
        chosen += [fits[z][i] for z in zooms if i < len(fits[z])][: a.count - len(chosen)]
        i += 1
    if len(chosen) < a.count:
        sys.exit(f"only {len(chosen)} tiles fit")
    rng.shuffle(chosen)
    for t in chosen:
        print("%d/%d/%d" % t)


def cmd_grid(a):
    b = bounds(a.url)
    ts = [t for z in zoom_range(a.zooms) for t in tiles_over(b, z)]
    random.Random(1).shuffle(ts)
    for t in ts:
        print(tile_path(*t, style=a.style))


def cmd_tiles(a):
    sizes = []
    with open(a.list) as f, open(a.paths, "w") as out:
        for line in f:
            z, x, y = (int(v) for v in line.split("/"))
            p = tile_path(z, x, y)
            st, h, body = get(a.url + p)
            if st != 200 or h.get("Content-Type") != "image/png" or not h.get("ETag"):
                sys.exit(f"{p}: status {st}, {h.get('Content-Type')}, ETag {h.get('ETag')}")
            os.makedirs(os.path.dirname(a.root + p), exist_ok=True)
            with open(a.root + p, "wb") as t:
                t.write(body)
            out.write(f"{p}\t{h['ETag']}\n")
            sizes.append(len(body))
    sizes.sort()
    print(f"{len(sizes)} tiles, bytes min {sizes[0]}, median {sizes[len(sizes) // 2]}, "
          f"max {sizes[-1]}, mean {sum(sizes) / len(sizes):.0f}")


def cmd_same(a):
    n = 0
    with open(a.paths) as f, open(a.etags, "w") as out:
        for line in f:
            p = line.split("\t")[0].strip()
            st, h, body = get(a.url + p)
            with open(a.root + p, "rb") as t:
                want = t.read()
            if st != 200 or body != want or not h.get("ETag"):
                sys.exit(f"{a.url}{p}: status {st}, {len(body)} bytes (want {len(want)}), "
                         f"ETag {h.get('ETag')}")
            st304 = get(a.url + p, {"If-None-Match": h["ETag"]})[0]
            if st304 != 304:
                sys.exit(f"{a.url}{p}: If-None-Match {h['ETag']} gave {st304}, not 304")
            out.write(f"{p}\t{h['ETag']}\n")
            n += 1
    print(f"{a.url}: the same bytes for all {n} tiles; 304 for their ETags")


def cmd_api(a):
    rng = random.Random(1)
    carriers = []
    for kind, limit in (("park", 50), ("parcel", 300), ("building", 400), ("factory", 250)):
        body = get(f"{a.url}/api/carriers?kind={kind}&limit={limit}")[2]
        carriers += json.loads(body)["carriers"]
    rng.shuffle(carriers)
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "ids.paths"), "w") as f:
        for c in carriers:
            f.write(f"/api/carriers/{c['id']}\n")
    searches = [
        "status=available&min_area=5000&limit=20",
        "kind=factory&status=available&min_clear_height=8&limit=20",
        "kind=parcel&land_use=industrial&status=available&limit=20",
        "industry=semiconductor&kind=building&limit=20",
        "kind=building&status=available&min_area=2000&limit=50&offset=20",
        "park=P03&limit=20",
        "bbox=117.17,34.27,117.21,34.31&kind=factory&limit=20",
        "q=%E5%8E%82%E6%88%BF&status=available&limit=20",  # q=厂房 (factory)
    ]
    with open(os.path.join(a.dir, "search.paths"), "w") as f:
        for s in searches:
            st, _, body = get(f"{a.url}/api/carriers?{s}")
            if st != 200:
                sys.exit(f"/api/carriers?{s}: status {st}: {body[:200]!r}")
            d = json.loads(body)
            print(f"  search {s}: total {d['total']}, {len(d['carriers'])} returned, "
                  f"{len(body)} bytes", file=sys.stderr)
            f.write(f"/api/carriers?{s}\n")
    # half at carriers' centroids (something under the click), half anywhere
    # in the district's bounds
    b = bounds(a.url)
    with open(os.path.join(a.dir, "at.paths"), "w") as f:
        for i in range(256):
            if i % 2 == 0:
                c = carriers[i % len(carriers)]
                lon, lat = c["lon"], c["lat"]
            else:
                lon, lat = rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3])
            f.write(f"/api/at?lon={lon:.6f}&lat={lat:.6f}&zoom={15 + i % 3}\n")
    print(f"{len(carriers)} carrier ids, {len(searches)} searches, 256 points", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pick")
    p.add_argument("url")
    p.add_argument("--zooms", default="14-17")
    p.add_argument("--min", type=int, default=18000)
    p.add_argument("--max", type=int, default=34000)
    p.add_argument("--count", type=int, default=128)
    p = sub.add_parser("grid")
    p.add_argument("url")
    p.add_argument("--zooms", default="15-17")
    p.add_argument("--style", default=STYLE)
    p = sub.add_parser("tiles")
    for n in ("url", "list", "root", "paths"):
        p.add_argument(n)
    p = sub.add_parser("same")
    for n in ("url", "paths", "root", "etags"):
        p.add_argument(n)
    p = sub.add_parser("api")
    p.add_argument("url")
    p.add_argument("dir")
    a = ap.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
