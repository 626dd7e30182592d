"""zsmap serve against the demo district on 127.0.0.1: every route's status
codes and headers, 304s, tiles equal to zsmap render pixel for pixel, real
clients (GDAL's XYZ and WMTS drivers, OWSLib), bad input, a data change
picked up while serving, and a clean SIGTERM. The tile cache is tested in
test_serve_cache.py, many connections in test_serve_load.py."""
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
from osgeo import ogr

from render_util import compare, read_png
from serveutil import free_port, tile_bounds
from zsmaptest import (ZSMAP, check, check_eq, features, query, run_tests, tempdir, write_layer,
                       zsmap)

D = tempdir()
DB = os.path.join(D, "demo.sqlite")
STYLES = os.environ.get("ZSMAP_STYLES", os.path.join(os.path.dirname(__file__), "..", "styles"))
TILE = (15, 27050, 13057)
server = {}


def request(path, headers=None, method="GET", conn=None):
    """(status, headers with lower-case names, body bytes) of one request."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    if own:
        conn.close()
    return r.status, hdrs, body


def get_json(path, headers=None):
    st, h, body = request(path, headers)
    return st, h, json.loads(body) if body else None


def raw(data, read=True):
    """Sends raw bytes on a new connection; returns what came back."""
    s = socket.create_connection(("127.0.0.1", server["port"]), timeout=30)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out:
                    head, _, rest = out.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            if len(rest) >= int(line.split(b":")[1]):
                                s.close()
                                return out
        except socket.timeout:
            pass
    s.close()
    return out


def alive():
    st, _, body = get_json("/healthz")
    return check_eq(st, 200, "the server still answers /healthz")


def check_error(path, status, words, what):
    st, h, body = request(path)
    check_eq(st, status, f"{what}: status of {path[:80]}")
    check(h.get("content-type", "").startswith("application/json"), f"{what}: a JSON error")
    try:
        doc = json.loads(body)
    except ValueError:
        check(False, f"{what}: the error body is JSON: {body[:200]!r}")
        return None
    check("error" in doc and "detail" in doc, f"{what}: error and detail in {doc}")
    for w in words:
        check(w in doc.get("detail", ""), f"{what}: the detail names '{w}': {doc}")
    return doc


def render_file(style, tile, scale=1, extra=()):
    out = os.path.join(D, f"r-{style}-{tile[0]}-{tile[1]}-{tile[2]}-{scale}.png")
    zsmap("render", "--db", DB, "--style", style, "-o", out, f"{tile[0]}/{tile[1]}/{tile[2]}",
          "--scale", str(scale), *extra)
    return out


def server_png(path):
    st, h, body = request(path)
    check_eq(st, 200, f"GET {path}")
    out = os.path.join(D, "s-" + path.strip("/").replace("/", "-").replace("?", "_"))
    with open(out, "wb") as f:
        f.write(body)
    return out


# ---- tests -----------------------------------------------------------------


def test_start():
    zsmap("demo", "--db", DB)
    port = free_port()
    log = open(os.path.join(D, "serve.log"), "wb")
    p = subprocess.Popen([ZSMAP, "serve", "--db", DB, "--port", str(port), "--styles", STYLES],
                         stdout=log, stderr=log)
    server.update(port=port, proc=p, log=log.name)
    end = time.time() + 60
    while time.time() < end:
        try:
            st, _, doc = get_json("/healthz")
            if st == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        check(False, "the server answered /healthz within 60 s")
        raise SystemExit(1)
    check_eq(doc["status"], "ok", "healthz status")
    check(isinstance(doc["data_version"], int) and doc["data_version"] > 0, f"data_version {doc}")


def test_healthz_and_metrics():
    st, h, _ = get_json("/healthz")
    check_eq(h.get("cache-control"), "no-store", "healthz is not cached")
    request("/tiles/investor/%d/%d/%d.png" % TILE)
    st, h, body = request("/metrics")
    check_eq(st, 200, "metrics")
    check(h.get("content-type", "").startswith("text/plain"), "metrics are text")
    text = body.decode()
    for want in ['zsmap_http_requests_total{route="healthz",status="200"}',
                 "zsmap_render_seconds_bucket{le=", "zsmap_render_seconds_count",
                 "zsmap_tile_cache_hits_total", "zsmap_tile_cache_misses_total",
                 "zsmap_snapshot_data_version", "zsmap_snapshot_age_seconds"]:
        check(want in text, f"/metrics has {want}")


def test_tile_headers_and_304():
    path = "/tiles/investor/%d/%d/%d.png" % TILE
    st, h, body = request(path)
    check_eq(st, 200, "tile status")
    check_eq(h.get("content-type"), "image/png", "tile content type")
    check_eq(h.get("cache-control"), "public, max-age=300", "tile cache control")
    check_eq(h.get("access-control-allow-origin"), "*", "tile CORS")
    etag = h.get("etag", "")
    check(etag.startswith('"') and etag.endswith('"') and len(etag) > 4, f"strong ETag {etag}")
    check(body[:8] == b"\x89PNG\r\n\x1a\n", "a PNG body")
    st2, h2, body2 = request(path)
    check_eq(h2.get("etag"), etag, "the same ETag again")
    check(body2 == body, "the same bytes again")
    st, h, body = request(path, {"If-None-Match": etag})
    check_eq(st, 304, "If-None-Match gives 304")
    check_eq(h.get("etag"), etag, "304 carries the ETag")
    check_eq(body, b"", "304 has no body")
    st, h, body = request(path, {"If-None-Match": '"other", ' + etag})
    check_eq(st, 304, "If-None-Match with a list gives 304")
    st, h, body = request(path, {"If-None-Match": '"other"'})
    check_eq(st, 200, "a different ETag gives 200")
    st, h, body = request(path, method="HEAD")
    check_eq(st, 200, "HEAD status")
    check_eq(body, b"", "HEAD has no body")
    check_eq(h.get("content-length"), str(len(body2)), "HEAD's Content-Length")
    st, h, body = request("/tiles/investor/%d/%d/%d@2x.png" % TILE)
    check_eq(st, 200, "@2x tile")
    check_eq(read_png(server_png("/tiles/investor/%d/%d/%d@2x.png" % TILE)).shape, (512, 512, 4),
             "@2x is 512 px")
    st, h, body = request("/heat/available_area/%d/%d/%d.png?status=available" % TILE)
    check_eq(st, 200, "heat tile")
    check_eq(h.get("content-type"), "image/png", "heat content type")
    st, h, body = request("/api/parks", method="OPTIONS")
    check_eq(st, 204, "OPTIONS preflight")
    check_eq(h.get("access-control-allow-origin"), "*", "preflight CORS")
    check("GET" in h.get("access-control-allow-methods", ""), "preflight methods")
    st, h, body = request("/api/parks", method="POST")
    check_eq(st, 405, "POST on a GET route")
    check("GET" in h.get("allow", ""), "405 has Allow")


def test_tiles_equal_render():
    for style, scale in (("investor", 1), ("investor", 2), ("kiosk", 1), ("staff", 2)):
        suffix = "@2x" if scale == 2 else ""
        a = read_png(server_png(f"/tiles/{style}/{TILE[0]}/{TILE[1]}/{TILE[2]}{suffix}.png"))
        b = read_png(render_file(style, TILE, scale))
        check_eq(compare(a, b)[0], 0, f"{style}@{scale}: server tile = zsmap render, pixel for pixel")
    a = read_png(server_png("/heat/rent/%d/%d/%d.png?kind=building&status=available" % TILE))
    b = read_png(render_file("heat-rent", TILE, 1, ["--filter", "kind=building&status=available"]))
    check_eq(compare(a, b)[0], 0, "heat tile with a filter = zsmap render --filter")
    a = read_png(server_png("/heat/rent/%d/%d/%d.png" % TILE))
    c = read_png(render_file("heat-rent", TILE, 1))
    check_eq(compare(a, c)[0], 0, "heat tile without a filter = zsmap render")


def test_tilejson():
    st, h, doc = get_json("/tiles/investor.json", {"Host": "maps.example.test:8443"})
    check_eq(st, 200, "TileJSON status")
    check_eq(h.get("content-type"), "application/json", "TileJSON type")
    check_eq(h.get("access-control-allow-origin"), "*", "TileJSON CORS")
    check_eq(doc["tilejson"], "3.0.0", "tilejson version")
    check_eq(doc["tiles"], ["http://maps.example.test:8443/tiles/investor/{z}/{x}/{y}.png"],
             "absolute tile URL from Host")
    check_eq((doc["minzoom"], doc["maxzoom"]), (0, 22), "zoom range")
    check_eq(doc["vector_layers"], [], "vector_layers")
    w, s, e, n = doc["bounds"]
    check(117 < w < e < 118 and 34 < s < n < 35, f"bounds around the district {doc['bounds']}")
    lon, lat, z = doc["center"]
    check(w <= lon <= e and s <= lat <= n and 0 <= z <= 22, f"center {doc['center']}")
    check(doc.get("attribution"), "attribution")
    check_error("/tiles/nosuch.json", 404, ["nosuch"], "TileJSON of an unknown style")


def style_names():
    return sorted(f[:-5] for f in os.listdir(STYLES)
                  if f.endswith(".json") and not f.startswith("heat-"))


def test_wmts_capabilities():
    path = "/wmts/1.0.0/WMTSCapabilities.xml"
    st, h, body = request(path)
    check_eq(st, 200, "capabilities status")
    check(h.get("content-type", "").endswith("xml"), "capabilities are XML")
    st2, _, body2 = request(path + "?service=WMTS&request=GetCapabilities&version=1.0.0")
    check_eq((st2, body2), (200, body), "the query string is ignored")
    ns = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
    root = ET.fromstring(body)
    layers = [l.find("ows:Identifier", ns).text for l in root.iter("{%s}Layer" % ns["w"])]
    check_eq(sorted(layers), style_names(), "every non-heat style is a layer")
    tms = root.find(".//w:Contents/w:TileMatrixSet", ns)
    check_eq(tms.find("ows:SupportedCRS", ns).text, "urn:ogc:def:crs:EPSG::3857", "CRS")
    mats = tms.findall("w:TileMatrix", ns)
    check_eq([m.find("ows:Identifier", ns).text for m in mats], [str(z) for z in range(23)],
             "tile matrices 0..22")
    sd = float(mats[14].find("w:ScaleDenominator", ns).text)
    check(abs(sd - 559082264.0287178 / 2 ** 14) < 1e-3, f"scale denominator at 14: {sd}")


def test_gdal_wmts_and_xyz():
    url = f"http://127.0.0.1:{server['port']}"
    p = subprocess.run(["gdalinfo", f"WMTS:{url}/wmts/1.0.0/WMTSCapabilities.xml"],
                       capture_output=True, text=True, timeout=120)
    check_eq(p.returncode, 0, f"gdalinfo opens the WMTS capabilities: {p.stderr}")
    check("investor" in p.stdout, "gdalinfo lists the investor layer")
    # a 3x3 tile window at zoom 15, tile-aligned in EPSG:3857
    z, x0, y0 = 15, TILE[1] - 1, TILE[2] - 1
    w, _, _, n = tile_bounds(z, x0, y0)
    _, s, e, _ = tile_bounds(z, x0 + 2, y0 + 2)
    xml = os.path.join(D, "xyz.xml")
    with open(xml, "w") as f:
        f.write(f"""<GDAL_WMS>
  <Service name="TMS"><ServerUrl>{url}/tiles/investor/${{z}}/${{x}}/${{y}}.png</ServerUrl></Service>
  <DataWindow>
    <UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>
    <LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY>
    <TileLevel>{z}</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin>
  </DataWindow>
  <Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
  <BandsCount>3</BandsCount><ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes><MaxConnections>4</MaxConnections>
</GDAL_WMS>""")
    env = dict(os.environ, GDAL_HTTP_TIMEOUT="60")
    mosaic = os.path.join(D, "mosaic.png")
    p = subprocess.run(["gdal_translate", "-of", "PNG", "-projwin", repr(w), repr(n), repr(e),
                        repr(s), xml, mosaic], capture_output=True, text=True, timeout=300,
                       env=env)
    check_eq(p.returncode, 0, f"gdal_translate reads the XYZ mosaic: {p.stderr}")
    got = read_png(mosaic)[:, :, :3]
    check_eq(got.shape, (768, 768, 3), "mosaic size")
    # the same mosaic from tiles rendered one by one: exact
    ref = np.zeros((768, 768, 3), np.uint8)
    for i in range(3):
        for j in range(3):
            t = read_png(render_file("investor", (z, x0 + i, y0 + j)))
            ref[j * 256:(j + 1) * 256, i * 256:(i + 1) * 256] = t[:, :, :3]
    check_eq(compare(got, ref)[0], 0, "GDAL's XYZ mosaic = zsmap render tile by tile")
    # one render of the whole extent: labels may move a little
    out = os.path.join(D, "bbox.png")
    zsmap("render", "--db", DB, "--style", "investor", "-o", out, "--bbox",
          f"{w!r},{s!r},{e!r},{n!r}", "--size", "768x768")
    maxd, over2, over16, mean = compare(got, read_png(out)[:, :, :3])
    print(f"xyz mosaic vs bbox render: max {maxd}, >2: {over2}, >16: {over16}, mean {mean:.3f}")
    check(over16 <= 0.02 * 768 * 768 and mean < 2.0,
          f"GDAL's XYZ mosaic ≈ zsmap render --bbox ({over16} px over 16 levels, mean {mean:.3f})")
    # the WMTS driver reads the same pixels (CLIENTS.md: checksums match)
    wm = os.path.join(D, "wmts.png")
    # at zoom 15 (the driver's native level is the deepest, 22)
    p = subprocess.run(["gdal_translate", "-of", "PNG", "-oo", f"TILEMATRIX={z}", "-projwin",
                        repr(w), repr(n), repr(e), repr(s),
                        f"WMTS:{url}/wmts/1.0.0/WMTSCapabilities.xml,layer=investor", wm],
                       capture_output=True, text=True, timeout=120, env=env)
    check_eq(p.returncode, 0, f"gdal_translate reads the WMTS layer: {p.stderr}")
    if p.returncode == 0:
        check_eq(compare(read_png(wm)[:, :, :3], got)[0], 0, "WMTS read = XYZ mosaic")


def test_owslib():
    from owslib.wmts import WebMapTileService
    wmts = WebMapTileService(f"http://127.0.0.1:{server['port']}/wmts/1.0.0/WMTSCapabilities.xml")
    check_eq(sorted(wmts.contents), style_names(), "OWSLib sees every style")
    layer = wmts.contents["investor"]
    png = wmts.gettile(layer="investor", tilematrixset=list(layer.tilematrixsetlinks)[0],
                       tilematrix=str(TILE[0]), row=TILE[2], column=TILE[1],
                       format="image/png").read()
    check(png[:8] == b"\x89PNG\r\n\x1a\n", "OWSLib fetched a PNG")
    _, _, body = request("/tiles/investor/%d/%d/%d.png" % TILE)
    check(png == body, "OWSLib's tile is the server's tile")


def test_carrier_profile():
    st, h, doc = get_json("/api/carriers/P01")
    check_eq(st, 200, "profile status")
    check_eq(h.get("content-type"), "application/json", "profile type")
    check_eq(h.get("cache-control"), "public, max-age=300", "profile cache control")
    check_eq(h.get("access-control-allow-origin"), "*", "profile CORS")
    name = query(DB, "SELECT name_zh FROM parks WHERE id = 'P01'")[0][0]
    check_eq(doc["id"], "P01", "profile id")
    check_eq(doc["name"]["zh"].encode(), name.encode(), "name_zh bytes as stored")
    check_eq(doc["kind"], "park", "kind")
    etag = h["etag"]
    st, h2, body = request("/api/carriers/P01", {"If-None-Match": etag})
    check_eq(st, 304, "profile 304")
    st, h3, body = request("/api/carriers/P01", {"Accept-Encoding": "gzip"})
    check_eq(h3.get("content-encoding"), "gzip", "gzip when accepted")
    check_eq(json.loads(gzip.decompress(body)), doc, "gzip body decodes to the profile")
    check(h3.get("etag") != etag, "the gzip variant has its own ETag")
    check("Accept-Encoding" in h3.get("vary", ""), "Vary: Accept-Encoding")
    st, h4, body = request("/healthz", {"Accept-Encoding": "gzip"})
    check(h4.get("content-encoding") is None, "a small body is not compressed")
    check_error("/api/carriers/NOPE", 404, ["NOPE"], "unknown carrier id")


def total(q):
    st, _, doc = get_json("/api/carriers?limit=1&" + q if q else "/api/carriers?limit=1")
    check_eq(st, 200, f"search {q}")
    return doc["total"]


def test_search():
    everything = total("")
    kinds = {k: total("kind=" + k) for k in ("park", "parcel", "building", "factory")}
    check_eq(kinds["park"], 21, "21 parks")
    check_eq(sum(kinds.values()), everything, f"totals by kind add up {kinds}")
    statuses = [total("status=" + s) for s in ("available", "reserved", "leased",
                                                "under_construction")]
    check(sum(statuses) <= everything, "totals by status add up to at most all")
    both = total("kind=parcel&status=available")
    check(both <= min(kinds["parcel"], statuses[0]), "two filters narrow the search")
    st, _, doc = get_json("/api/carriers?kind=park&limit=5&offset=18")
    check_eq(len(doc["carriers"]), 3, "the last page holds what is left")
    check_eq((doc["limit"], doc["offset"], doc["total"]), (5, 18, 21), "paging fields")
    st, h, doc = get_json("/api/carriers?kind=park&format=geojson&limit=3")
    check_eq(h.get("content-type"), "application/geo+json", "GeoJSON type")
    check_eq(doc["type"], "FeatureCollection", "a FeatureCollection")
    check_eq(doc["numberMatched"], 21, "numberMatched")
    check_eq(len(doc["features"]), 3, "three features")
    check_error("/api/carriers?colour=red", 400, ["colour"], "unknown parameter")
    check_error("/api/carriers?bbox=100,30,110,40", 400, ["bbox"], "bbox too large")
    check_error("/api/carriers?limit=1001", 400, ["limit"], "limit too big")
    check_error("/api/carriers?min_area=abc", 400, ["min_area"], "non-numeric filter")


def test_at_and_parks():
    st, _, p01 = get_json("/api/carriers/P01")
    st, h, doc = get_json(f"/api/at?lon={p01['lon']}&lat={p01['lat']}&zoom=15")
    check_eq(st, 200, "point query status")
    ids = [c["id"] for c in doc["carriers"]]
    check("P01" in ids, f"the click at P01's centroid finds P01: {ids}")
    kinds = [c["kind"] for c in doc["carriers"]]
    check(kinds == sorted(kinds, key=lambda k: {"building": 0, "factory": 0, "parcel": 1,
                                                "park": 2}[k]), f"topmost first: {kinds}")
    check_error("/api/at?lon=200&lat=34&zoom=15", 400, ["lon"], "lon out of range")
    st, h, doc = get_json("/api/parks")
    check_eq(st, 200, "parks status")
    check_eq((doc["total"], len(doc["parks"])), (21, 21), "21 parks with statistics")


def test_photos():
    st, _, p01 = get_json("/api/carriers/P01")
    url = p01["photos"][0]["url"]
    st, h, body = request(url)
    check_eq(st, 200, f"photo {url}")
    check_eq(h.get("content-type"), "image/jpeg", "photo type")
    with open(os.path.join(DB + ".photos", url.rsplit("/", 1)[1]), "rb") as f:
        check(f.read() == body, "the photo's bytes")
    st, h2, _ = request(url, {"If-None-Match": h["etag"]})
    check_eq(st, 304, "photo 304")
    st, h, body = request(p01["photos"][0]["thumbnail_url"])
    check_eq(st, 200, "thumbnail")
    os.symlink("/etc/passwd", os.path.join(DB + ".photos", "evil.jpg"))
    check_error("/photos/evil.jpg", 404, ["evil.jpg"], "a symbolic link out of the folder")
    for path in ("/photos/..%2Fdemo.sqlite", "/photos/%2e%2e/demo.sqlite", "/photos/../demo.sqlite",
                 "/photos/.hidden", "/photos/a%00.jpg"):
        st, h, body = request(path)
        check(400 <= st < 500 and b"sqlite" not in body[:16], f"{path} is refused ({st})")
    check_error("/photos/nothere.jpg", 404, ["nothere.jpg"], "a missing photo")


def test_bad_inputs():
    check_error("/tiles/investor/23/0/0.png", 400, ["23"], "z out of range")
    check_error("/tiles/investor/3/8/0.png", 400, ["8"], "x out of range")
    check_error("/tiles/investor/3/99999999999999999999/0.png", 400, [], "overflowing x")
    check_error("/tiles/investor/3/x/0.png", 400, [], "non-numeric x")
    check_error("/tiles/nosuch/1/0/0.png", 404, ["nosuch"], "unknown style")
    check_error("/tiles/heat-rent/1/0/0.png", 404, ["heat"], "a heat style under /tiles")
    check_error("/heat/nosuch/1/0/0.png", 404, ["nosuch"], "unknown metric")
    check_error("/heat/rent/1/0/0.png?colour=red", 400, ["colour"], "unknown heat parameter")
    check_error("/api/carriers/a%00b", 400, ["%00"], "NUL byte")
    check_error("/nothing/here", 404, [], "unknown path")
    check_error("/tiles/investor/1/0/0.png" + "x" * 5000, 414, [], "very long URL")
    check_error("/api/carriers?q=" + "a" * 5000, 414, [], "very long query")
    # the longest target the router takes, with browser-sized headers, still
    # reaches it (libmicrohttpd's per-connection memory holds it)
    st, h, body = request("/api/carriers/" + "a" * 2000 + "?x=" + "b" * 4000,
                          headers={"User-Agent": "u" * 1500, "Cookie": "c" * 1000})
    check(st == 400 and b"carrier id is 2000 bytes" in body,
          f"a 6 KB target with 2.5 KB of headers reaches the router: {st} {body[:100]!r}")
    alive()
    # past libmicrohttpd's per-connection memory: it answers by itself (4xx)
    out = raw(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 4"), f"a 100 KB URL gets a 4xx: {out[:40]!r}")
    out = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 60000 + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 4"), f"a 60 KB header gets a 4xx: {out[:40]!r}")
    raw(b"GARBAGE\r\n\r\n")
    raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", read=False)  # stalls, then leaves
    raw(b"\x00\xff\xfe" * 100 + b"\r\n\r\n")
    alive()


def test_data_change():
    st, _, doc = get_json("/healthz")
    v0 = doc["data_version"]
    pid = query(DB, "SELECT id FROM parcels ORDER BY id LIMIT 1")[0][0]
    st, _, before = get_json(f"/api/carriers/{pid}")
    feats = features(DB, "parcels")
    values, geom = feats[pid]
    skip = {"id", "version", "updated_at"}
    fields = [("id", ogr.OFTString)]
    row = {"id": pid}
    for k, v in values.items():
        if k in skip or v is None:
            continue
        t = ogr.OFTReal if isinstance(v, float) else ogr.OFTInteger if isinstance(v, int) \
            else ogr.OFTString
        fields.append((k, t))
        row[k] = v
    row["name_zh"] = (values.get("name_zh") or "") + "（已更新）"
    if ("name_zh", ogr.OFTString) not in fields:
        fields.append(("name_zh", ogr.OFTString))
    src = os.path.join(D, "changed.geojson")
    write_layer(src, "GeoJSON", 4490, geom.GetGeometryType(), fields, [(geom.ExportToWkt(), row)])
    zsmap("import", "--db", DB, "--layer", "parcels", src)
    end = time.time() + 3.5
    v1 = v0
    while time.time() < end and v1 == v0:
        time.sleep(0.1)
        v1 = get_json("/healthz")[2]["data_version"]
    check(v1 > v0, f"/healthz shows the new data version within ~3 s ({v0} -> {v1})")
    st, _, after = get_json(f"/api/carriers/{pid}")
    check_eq(after["name"]["zh"], row["name_zh"], "the parcel's profile changed")
    check(after != before, "the profile is a new one")


def test_sighup():
    server["proc"].send_signal(signal.SIGHUP)
    alive()  # served while the reload loads to the side
    end, logged = time.time() + 60, False
    while time.time() < end and not logged:
        time.sleep(0.2)
        with open(server["log"], "rb") as f:
            logged = b"reloaded styles and data" in f.read()
    check(logged, "the reload is done and logged")
    st, _, body = request("/tiles/investor/%d/%d/%d.png" % TILE)
    check_eq(st, 200, "tiles after a reload")


def test_stop():
    p = server["proc"]
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    check_eq(rc, 0, "SIGTERM stops the server with exit code 0")
    with open(server["log"], "rb") as f:
        log = f.read().decode("utf-8", "replace")
    lines = [l for l in log.splitlines() if l.startswith("GET /tiles/investor/")]
    check(lines, "access log lines for tiles")
    if lines:
        parts = lines[0].split()
        check(len(parts) >= 6 and parts[2].isdigit() and parts[3].isdigit()
              and parts[4].endswith("us") and parts[5] in ("hit", "disk", "miss", "-"),
              f"access log: method path status bytes µs cache: {lines[0]}")
    check(any(l.endswith(" hit") for l in lines), "cache hits are logged")
    if rc != 0:
        print(log[-4000:])


if __name__ == "__main__":
    try:
        run_tests([test_start, test_healthz_and_metrics, test_tile_headers_and_304,
                   test_tiles_equal_render, test_tilejson, test_wmts_capabilities,
                   test_gdal_wmts_and_xyz, test_owslib, test_carrier_profile, test_search,
                   test_at_and_parks, test_photos, test_bad_inputs,
                   test_data_change, test_sighup, test_stop])
    finally:
        p = server.get("proc")
        if p and p.poll() is None:
            p.kill()
        shutil.rmtree(D, ignore_errors=True)
