"""The tile cache of zsmap serve, against the real server on 127.0.0.1:
a data change committed by another process (zsmap import) drops exactly
the cached tiles within reach of it, every zoom, and nothing far away; the
MBTiles files on disk serve a restarted server (same ETags, no render) and
are readable by GDAL's MBTiles driver; a change made while the server was
down is found at start from the saved digest; settings come from --config;
an overloaded render pool answers 503 with Retry-After while cached tiles
keep being served."""
import json
import math
import os
import shutil
import signal
import threading
import time

from osgeo import gdal, ogr

from render_util import compare, read_png
from serveutil import MERC, Server
from zsmaptest import (check, check_eq, features, run_tests, tempdir, write_layer, zsmap)

D = tempdir()
DB = os.path.join(D, "demo.sqlite")
CACHE = os.path.join(D, "cache")
STYLES = os.environ.get("ZSMAP_STYLES", os.path.join(os.path.dirname(__file__), "..", "styles"))
state = {}


def lonlat_to_tile(lon, lat, z):
    x = MERC * lon / 180.0
    y = MERC / math.pi * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    n = 2 ** z
    return int((x + MERC) / (2 * MERC) * n), int((MERC - y) / (2 * MERC) * n)


def misses(srv):
    return srv.metrics()["zsmap_tile_cache_misses_total"]


def fetch(srv, path):
    """(status, etag, body, rendered: whether the request missed the cache)."""
    m0 = misses(srv)
    st, h, body = srv.request(path)
    return st, h.get("etag"), body, misses(srv) - m0


def change_building(bid, name, vacant):
    """Imports a new name and vacant area for building bid (another process)."""
    values, geom = features(DB, "buildings")[bid]
    fields = [("id", ogr.OFTString), ("kind", ogr.OFTString), ("name_zh", ogr.OFTString),
              ("vacant_area_m2", ogr.OFTReal)]
    src = os.path.join(D, f"change-{vacant:.0f}.geojson")
    row = {"id": bid, "kind": values["kind"], "name_zh": name, "vacant_area_m2": vacant}
    write_layer(src, "GeoJSON", 4490, geom.GetGeometryType(), fields, [(geom.ExportToWkt(), row)])
    zsmap("import", "--db", DB, "--layer", "buildings", src)


def tile_sets():
    """Tiles near the changed building (its tile and the 8 around it, all
    within 256 px of it) and far from it (4 tiles east: over 768 px away),
    z14-z17, investor style; heat tiles: its own and one 4 tiles east."""
    lon, lat = state["lonlat"]
    near, far = [], []
    for z in range(14, 18):
        x, y = lonlat_to_tile(lon, lat, z)
        near += [f"/tiles/investor/{z}/{x + dx}/{y + dy}.png" for dx in (-1, 0, 1)
                 for dy in (-1, 0, 1)]
        far += [f"/tiles/investor/{z}/{x + 4}/{y}.png", f"/tiles/investor/{z}/{x}/{y + 4}.png"]
        near.append(f"/heat/available_area/{z}/{x}/{y}.png")
        far.append(f"/heat/available_area/{z}/{x + 4}/{y}.png")
    return near, far


def test_setup():
    zsmap("demo", "--db", DB)
    bld = features(DB, "buildings")
    # a building in the middle of the district, so that every tile around has data
    env = [g.GetEnvelope() for _, g in bld.values() if g]
    cx = sorted((e[0] + e[1]) / 2 for e in env)[len(env) // 2]
    cy = sorted((e[2] + e[3]) / 2 for e in env)[len(env) // 2]
    bid, (vals, g) = min(bld.items(), key=lambda kv: (kv[1][1].Centroid().GetX() - cx) ** 2
                         + (kv[1][1].Centroid().GetY() - cy) ** 2)
    c = g.Centroid()
    state.update(bid=bid, lonlat=(c.GetX(), c.GetY()))
    print("changing building", bid, "at", state["lonlat"])


def test_config_file():
    conf = os.path.join(D, "zsmap.conf")
    with open(conf, "w") as f:
        f.write("# the test's server\n"
                f"db = {DB}\n"
                f"styles = {STYLES}\n"
                "cache = cache\n"  # relative: next to this file
                "render-threads = 2\n")
    srv = Server(os.path.join(D, "serve1.log"), "--config", conf)
    state["srv"] = srv
    check(os.path.isdir(CACHE), "the cache folder named in the config file (relative to it) exists")
    st, _, _ = srv.request("/tiles/investor/14/13525/6528.png")
    check_eq(st, 200, "a tile from the server started with --config")
    # a bad config file: an error naming the file, the line and the key
    bad = os.path.join(D, "bad.conf")
    with open(bad, "w") as f:
        f.write(f"db = {DB}\nrender-thread = 2\n")
    rc, out, err = zsmap("serve", "--config", bad, expect=None)
    check(rc != 0 and "bad.conf:2" in err and "render-thread" in err,
          f"an unknown key is refused naming file:line and the key: {rc} {err!r}")


def test_invalidation():
    srv = state["srv"]
    near, far = tile_sets()
    before = {}
    for p in near + far:
        st, etag, body, _ = fetch(srv, p)
        check_eq(st, 200, f"GET {p}")
        before[p] = (etag, body)
    for p in near + far:
        st, etag, _, rendered = fetch(srv, p)
        check(st == 200 and rendered == 0 and etag == before[p][0], f"{p} is cached")
    v0 = srv.data_version()
    dropped0 = srv.metrics()["zsmap_tile_cache_dropped_total"]
    change_building(state["bid"], "测试大厦（已改名）", 4321.0)
    v1 = srv.wait_version_above(v0)
    check(v1 > v0, f"the import is picked up within a second or so ({v0} -> {v1})")
    dropped = srv.metrics()["zsmap_tile_cache_dropped_total"] - dropped0
    rerendered = [p for p in near if fetch(srv, p)[3] == 1]
    kept = [p for p in far if fetch(srv, p)[3] == 0]
    check_eq(len(rerendered), len(near), "every tile near the change is rendered again")
    check_eq(len(kept), len(far), "no tile far from the change is rendered again")
    check(dropped >= len(near), f"{dropped} tiles dropped, at least the {len(near)} near ones")
    print(f"change: {dropped:.0f} cached tiles dropped; {len(near)} near re-rendered, "
          f"{len(far)} far kept")
    # what is served now is what zsmap render draws from the changed store
    lon, lat = state["lonlat"]
    x, y = lonlat_to_tile(lon, lat, 17)
    out = os.path.join(D, "r17.png")
    zsmap("render", "--db", DB, "--style", "investor", "-o", out, f"17/{x}/{y}")
    st, _, body = srv.request(f"/tiles/investor/17/{x}/{y}.png")
    got = os.path.join(D, "s17.png")
    with open(got, "wb") as f:
        f.write(body)
    check_eq(compare(read_png(out), read_png(got))[0], 0,
             "the re-rendered tile equals zsmap render of the new data")
    check(body != before[f"/tiles/investor/17/{x}/{y}.png"][1], "the tile under the change changed")
    state["etags"] = {p: srv.request(p)[1].get("etag") for p in near + far}


def test_restart_serves_from_disk():
    srv = state["srv"]
    check_eq(srv.stop(), 0, "SIGTERM stops the server")
    files = sorted(os.listdir(CACHE))
    check("investor.mbtiles" in files and "heat-available_area.mbtiles" in files,
          f"one MBTiles file per style: {files}")
    ds = gdal.Open(os.path.join(CACHE, "investor.mbtiles"))
    check(ds is not None and ds.RasterXSize > 0, "GDAL's MBTiles driver opens the cache file")
    srv = Server(os.path.join(D, "serve2.log"), "--db", DB, "--styles", STYLES, "--cache", CACHE)
    state["srv"] = srv
    m0 = srv.metrics()
    for p, etag in state["etags"].items():
        st, h, _ = srv.request(p)
        check(st == 200 and h.get("etag") == etag, f"{p}: same tile after a restart")
    m1 = srv.metrics()
    check_eq(m1["zsmap_tile_cache_misses_total"] - m0["zsmap_tile_cache_misses_total"], 0,
             "a restarted server renders none of them")
    disk = m1['zsmap_tile_cache_hits_total{store="disk"}'] - \
        m0['zsmap_tile_cache_hits_total{store="disk"}']
    check_eq(disk, len(state["etags"]), "they come from the disk cache")
    check_eq(m1['zsmap_tile_cache_disk_skipped_total{reason="error"}'], 0, "no disk write failed")


def test_change_while_down():
    srv = state["srv"]
    check_eq(srv.stop(), 0, "SIGTERM stops the server")
    change_building(state["bid"], "测试大厦（再改名）", 1234.0)
    srv = Server(os.path.join(D, "serve3.log"), "--db", DB, "--styles", STYLES, "--cache", CACHE)
    state["srv"] = srv
    near, far = tile_sets()
    rerendered = [p for p in near if fetch(srv, p)[3] == 1]
    kept = [p for p in far if fetch(srv, p)[3] == 0]
    check_eq(len(rerendered), len(near), "tiles near a change made while down are rendered again")
    check_eq(len(kept), len(far), "tiles far from it still come from the disk cache")
    check_eq(srv.stop(), 0, "SIGTERM stops the server")


def test_style_change():
    """SIGHUP after one style file changed: that style's cached tiles go
    (memory and disk), every other style's stay."""
    styles = os.path.join(D, "styles")
    shutil.copytree(STYLES, styles)
    cache = os.path.join(D, "cache3")
    srv = Server(os.path.join(D, "serve6.log"), "--db", DB, "--styles", styles, "--cache", cache)
    state["srv"] = srv
    lon, lat = state["lonlat"]
    x, y = lonlat_to_tile(lon, lat, 15)
    investor, kiosk = f"/tiles/investor/15/{x}/{y}.png", f"/tiles/kiosk/15/{x}/{y}.png"
    before = {p: srv.request(p)[2] for p in (investor, kiosk)}
    path = os.path.join(styles, "kiosk.json")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace('"fill-color": "#fbfaf7"', '"fill-color": "#203040"'))  # district
    srv.proc.send_signal(signal.SIGHUP)
    end = time.time() + 30
    while time.time() < end and "reloaded styles" not in srv.log_text():
        time.sleep(0.1)
    st, _, body, rendered = fetch(srv, kiosk)
    check(st == 200 and rendered == 1 and body != before[kiosk],
          "the changed style's tile is drawn again, and differs")
    st, _, body, rendered = fetch(srv, investor)
    check(st == 200 and rendered == 0 and body == before[investor],
          "the other style's tile is still cached")
    check_eq(srv.stop(), 0, "SIGTERM stops the server")
    # and after a restart the disk agrees
    srv = Server(os.path.join(D, "serve7.log"), "--db", DB, "--styles", styles, "--cache", cache)
    state["srv"] = srv
    check_eq(fetch(srv, investor)[3], 0, "the unchanged style's tile comes from disk")
    check_eq(fetch(srv, kiosk)[3], 0, "the changed style's new tile comes from disk")
    check_eq(srv.stop(), 0, "SIGTERM stops the server")


def test_cache_cannot_follow():
    """When the cache cannot record a change (here its digest file is a
    folder, so saving it fails), every cached tile goes and the new data is
    served anyway: nothing stale."""
    cache = os.path.join(D, "cache2")
    srv = Server(os.path.join(D, "serve5.log"), "--db", DB, "--styles", STYLES, "--cache", cache)
    state["srv"] = srv
    near, far = tile_sets()
    for p in near[:3] + far[:3]:
        srv.request(p)
    os.remove(os.path.join(cache, "data.digest"))
    os.makedirs(os.path.join(cache, "data.digest", "blocker"))
    v0 = srv.data_version()
    change_building(state["bid"], "测试大厦（三改名）", 999.0)
    check(srv.wait_version_above(v0) > v0, "the change is published although the cache failed")
    rerendered = [p for p in near[:3] + far[:3] if fetch(srv, p)[3] == 1]
    check_eq(len(rerendered), 6, "every cached tile was dropped, far ones too")
    check_eq(srv.stop(), 0, "SIGTERM stops the server")
    check("could not follow the change" in srv.log_text(), "the failure is logged")


def test_overload():
    """One render thread and a queue of two: a burst of distinct uncached
    tiles gets 200s and 503s with Retry-After, nothing else, and cached
    tiles are answered meanwhile."""
    srv = Server(os.path.join(D, "serve4.log"), "--db", DB, "--styles", STYLES,
                 "--render-threads", "1", "--render-queue", "2")
    cached = "/tiles/investor/14/13525/6528.png"
    srv.request(cached)
    # identical concurrent requests render once
    lon, lat = state["lonlat"]
    x, y = lonlat_to_tile(lon, lat, 16)
    same = f"/tiles/staff/16/{x}/{y}@2x.png"
    renders0 = srv.metrics()["zsmap_render_seconds_count"]
    got = []
    barrier = threading.Barrier(16)

    def same_tile():
        barrier.wait()
        st, h, _ = srv.request(same)
        got.append((st, h.get("etag")))

    threads = [threading.Thread(target=same_tile) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check_eq(sorted(set(got)), [(200, got[0][1])], "16 identical requests: one tile for all")
    check_eq(srv.metrics()["zsmap_render_seconds_count"] - renders0, 1,
             "16 identical concurrent requests render once")

    x0, y0 = lonlat_to_tile(lon, lat, 17)
    statuses, retry, bodies = [], [], []
    lock = threading.Lock()
    stop = time.time() + 3.0

    def burst(k):
        i = 0
        while time.time() < stop:
            p = f"/tiles/kiosk/17/{x0 - 20 + (i % 40)}/{y0 - 20 + k * 5 + i // 40}@2x.png"
            st, h, body = srv.request(p)
            with lock:
                statuses.append(st)
                if st == 503:
                    retry.append(h.get("retry-after"))
                    bodies.append(body)
            i += 1

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    served_while_busy = 0
    cached_ok = 0
    while time.time() < stop - 0.3:
        st, _, _ = srv.request(cached)
        cached_ok += st == 200
        m = srv.metrics()
        served_while_busy += m["zsmap_render_running"] + m["zsmap_render_queued"] > 0
    for t in threads:
        t.join()
    n200, n503 = statuses.count(200), statuses.count(503)
    print(f"burst: {len(statuses)} requests, {n200} rendered, {n503} refused (503); "
          f"{cached_ok} cached tiles served, {served_while_busy} while renders were under way")
    check_eq(n200 + n503, len(statuses), "the burst gets only 200 or 503")
    check(n200 > 0 and n503 > 0, "some tiles rendered and some refused")
    check(all(r and r.isdigit() and int(r) > 0 for r in retry), "every 503 has Retry-After")
    check(all(json.loads(b).get("detail", "").find("busy") >= 0 for b in bodies),
          "every 503 says the server is busy")
    check(cached_ok > 0 and served_while_busy > 0,
          "cached tiles are served while every render thread is busy")
    m = srv.metrics()
    check_eq(m["zsmap_render_busy_total"], n503, "metrics count the refusals")
    check_eq(srv.stop(), 0, "SIGTERM stops the server under load")


if __name__ == "__main__":
    try:
        run_tests([test_setup, test_config_file, test_invalidation,
                   test_restart_serves_from_disk, test_change_while_down, test_style_change,
                   test_cache_cannot_follow,
                   test_overload])
    finally:
        if "srv" in state:
            state["srv"].kill()
        shutil.rmtree(D, ignore_errors=True)
