"""What the two peer benchmarks share: arguments, the tile list, tile maths,
timing passes and the report (the same figures as bench_render, and a
RESULT line of JSON).

A renderer plugs in as an object with
    setup()                -> builds its per-zoom maps afresh (one per pass)
    render(z, x, y)        -> an opaque rendered image (query + draw + labels)
    encode(img, fast)      -> PNG bytes: the renderer's default PNG settings,
                              or (fast) zlib level 2 and no alpha, near zsmap's
"""

import argparse
import math
import os
import resource
import statistics
import sys
import time

MERC_MAX = 20037508.342789244


def tile_bounds(z, x, y):
    """EPSG:3857 metres (minx, miny, maxx, maxy) of XYZ tile z/x/y."""
    size = 2 * MERC_MAX / (1 << z)
    minx = -MERC_MAX + x * size
    maxy = MERC_MAX - y * size
    return (minx, maxy - size, minx + size, maxy)


def read_tiles(path):
    tiles = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                z, x, y = (int(v) for v in line.split("/"))
            except ValueError:
                sys.exit(f"{path}:{n}: not a tile Z/X/Y")
            tiles.append((z, x, y))
    if not tiles:
        sys.exit(f"{path} lists no tiles")
    return tiles


def arguments(name):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=f"{name}: render a tile list, single-threaded")
    ap.add_argument("db", help="the zsmap store (SpatiaLite)")
    ap.add_argument("tiles", help='tile list, one "z/x/y" per line')
    ap.add_argument("--style", default=os.path.join(here, "..", "..", "..", "styles", "investor.json"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--save", metavar="DIR", help="write DIR/Z-X-Y.png for every tile, no timing")
    ap.add_argument("--no-fast", action="store_true", help="skip the fast-PNG encode timing")
    return ap.parse_args()


def run(name, renderer, a):
    tiles = read_tiles(a.tiles)
    if a.save:
        renderer.setup()
        for z, x, y in tiles:
            with open(os.path.join(a.save, f"{z}-{x}-{y}.png"), "wb") as f:
                f.write(renderer.encode(renderer.render(z, x, y), False))
        print(f"{name}: wrote {len(tiles)} tiles to {a.save}")
        return

    runs = []  # per run: list per tile of (render, encode, bytes, encode_fast, bytes_fast), seconds
    tps, cores = [], []
    for _ in range(a.runs):
        renderer.setup()
        for z, x, y in tiles[: a.warmup]:  # fonts, connections: not counted
            renderer.encode(renderer.render(z, x, y), False)
        per = []
        busy = 0.0
        w0, c0 = time.perf_counter(), time.process_time()
        for z, x, y in tiles:
            t0 = time.perf_counter()
            img = renderer.render(z, x, y)
            t1 = time.perf_counter()
            png = renderer.encode(img, False)
            t2 = time.perf_counter()
            busy += t2 - t0
            if a.no_fast:
                ef, bf = math.nan, math.nan
            else:  # the same image again with fast settings, kept off the clock
                t3 = time.perf_counter()
                fast = renderer.encode(img, True)
                ef, bf = time.perf_counter() - t3, len(fast)
            per.append((t1 - t0, t2 - t1, len(png), ef, bf))
        runs.append(per)
        tps.append(len(tiles) / busy)
        # CPU time the process got over wall time: below 1, the machine was busy
        cores.append((time.process_time() - c0) / (time.perf_counter() - w0))

    def column(i, zoom=None):
        return [
            statistics.median(r[k][i] for r in runs)
            for k in range(len(tiles))
            if zoom is None or tiles[k][0] == zoom
        ]

    render_ms = [v * 1e3 for v in column(0)]
    encode_ms = [v * 1e3 for v in column(1)]
    total_ms = [r + e for r, e in zip(render_ms, encode_ms)]
    fast_ms = [v * 1e3 for v in column(3)]
    nbytes, fbytes = column(2), column(4)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {
        "renderer": name,
        "db": a.db,
        "tiles": len(tiles),
        "runs": a.runs,
        "threads": 1,
        "tiles_per_s": statistics.median(tps),
        "runs_tiles_per_s": [round(v, 2) for v in tps],
        "cores_busy": [round(v, 2) for v in cores],
        "median_ms": {
            "render": statistics.median(render_ms),
            "encode": statistics.median(encode_ms),
            "total": statistics.median(total_ms),
            "encode_fast": statistics.median(fast_ms),
        },
        "mean_ms": {
            "render": statistics.fmean(render_ms),
            "encode": statistics.fmean(encode_ms),
            "total": statistics.fmean(total_ms),
            "encode_fast": statistics.fmean(fast_ms),
        },
        "mean_bytes": statistics.fmean(nbytes),
        "mean_bytes_fast": statistics.fmean(fbytes),
        "peak_rss_mib": rss,
    }
    print(f"{name}: {a.db}, {len(tiles)} tiles from {a.tiles}, {a.runs} runs, 1 thread")
    print(f"  {res['tiles_per_s']:.1f} tiles/s (median of {', '.join(f'{v:.1f}' for v in tps)}); "
          f"cores busy {', '.join(f'{v:.2f}' for v in cores)} (CPU time / wall time)")
    m, mm = res["median_ms"], res["mean_ms"]
    print("  per tile (ms)        render   encode    total   encode at zlib 2, RGB")
    print(f"  median            {m['render']:8.2f} {m['encode']:8.2f} {m['total']:8.2f} {m['encode_fast']:8.2f}")
    print(f"  mean              {mm['render']:8.2f} {mm['encode']:8.2f} {mm['total']:8.2f} {mm['encode_fast']:8.2f}")
    print(f"  mean bytes {res['mean_bytes']:.0f} (fast: {res['mean_bytes_fast']:.0f}); peak RSS {rss:.1f} MiB")
    print("  per zoom: zoom tiles median render, encode, total ms; mean total ms; mean bytes")
    for z in sorted({t[0] for t in tiles}):
        r = [v * 1e3 for v in column(0, z)]
        e = [v * 1e3 for v in column(1, z)]
        t = [p + q for p, q in zip(r, e)]
        b = column(2, z)
        print(f"    {z:4d} {len(r):5d} {statistics.median(r):8.2f} {statistics.median(e):8.2f} "
              f"{statistics.median(t):8.2f} {statistics.fmean(t):8.2f} {statistics.fmean(b):8.0f}")
    import json

    print("RESULT " + json.dumps(res))
