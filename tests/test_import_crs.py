"""Reprojection on import, checked against control points computed by a
separate tool (gdaltransform), the GCJ-02 round trip, and the real district
boundary published in GCJ-02, which is also invalid and must be repaired."""
import math
import os
import random
import subprocess

from osgeo import ogr

from zsmaptest import SHARED, check, check_eq, features, run_tests, tempdir, write_layer, zsmap

M_PER_DEG_LAT = 110_950.0  # near 34N; good to 0.1 % for a tolerance check


def gdaltransform(points, s_srs):
    """lon/lat (EPSG:4490) of points in s_srs, computed by gdaltransform."""
    text = "".join(f"{x!r} {y!r}\n" for x, y in points)
    out = subprocess.run(["gdaltransform", "-s_srs", s_srs, "-t_srs", "EPSG:4490", "-output_xy"],
                         input=text, capture_output=True, text=True, check=True).stdout
    return [tuple(map(float, line.split()[:2])) for line in out.strip().splitlines()]


def metres(a, b):
    dx = (a[0] - b[0]) * M_PER_DEG_LAT * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * M_PER_DEG_LAT
    return math.hypot(dx, dy)


def import_points(points, s_srs, file_srs=None):
    """Imports points as carriers (CSV x/y with --s_srs, or a GeoPackage that
    carries its CRS) and returns their stored lon/lat in input order."""
    d = tempdir()
    db = os.path.join(d, "z.sqlite")
    if file_srs:
        src = os.path.join(d, "p.gpkg")
        write_layer(src, "GPKG", file_srs, ogr.wkbPoint,
                    [("id", ogr.OFTString), ("kind", ogr.OFTString)],
                    [(f"POINT({x!r} {y!r})", {"id": f"C{i:03d}", "kind": "factory"})
                     for i, (x, y) in enumerate(points)])
        zsmap("import", "--db", db, "--layer", "buildings", src)
    else:
        src = os.path.join(d, "p.csv")
        with open(src, "w") as f:
            f.write("id,kind,x,y\n")
            for i, (x, y) in enumerate(points):
                f.write(f"C{i:03d},factory,{x!r},{y!r}\n")
        zsmap("import", "--db", db, "--layer", "buildings", "--s_srs", s_srs, src)
    got = features(db, "buildings")
    return [(got[k][1].GetX(), got[k][1].GetY()) if k in got else (0, 0)
            for k in (f"C{i:03d}" for i in range(len(points)))]


def control(s_srs, points, file_srs=None):
    want = gdaltransform(points, s_srs)
    got = import_points(points, s_srs, file_srs)
    worst = max(metres(a, b) for a, b in zip(got, want))
    print(f"{s_srs}{' (file CRS)' if file_srs else ''}: worst {worst * 1000:.3f} mm over {len(points)} points")
    check(worst < 0.01, f"{s_srs}: stored points within 1 cm of gdaltransform (worst {worst} m)")


rng = random.Random(4548)


def test_cgcs2000_3deg_cm117():
    pts = [(500000 + rng.uniform(-30000, 30000), 3795000 + rng.uniform(-30000, 30000))
           for _ in range(40)]
    control("EPSG:4548", pts)
    control("EPSG:4548", pts, file_srs=4548)


def test_cgcs2000_3deg_zone_prefix():
    pts = [(39500000 + rng.uniform(-30000, 30000), 3795000 + rng.uniform(-30000, 30000))
           for _ in range(40)]
    control("EPSG:4527", pts)


def test_cgcs2000_6deg_zone20():
    pts = [(20500000 + rng.uniform(-30000, 30000), 3795000 + rng.uniform(-30000, 30000))
           for _ in range(40)]
    control("EPSG:4498", pts)


def test_geographic_and_web_mercator():
    ll = [(117.19 + rng.uniform(-0.2, 0.2), 34.29 + rng.uniform(-0.2, 0.2)) for _ in range(40)]
    control("EPSG:4490", ll)
    control("EPSG:4326", ll)
    merc = [(13045000 + rng.uniform(-20000, 20000), 4068000 + rng.uniform(-20000, 20000))
            for _ in range(40)]
    control("EPSG:3857", merc)


# The published WGS84 -> GCJ-02 formula, written here again on purpose: the
# test must not borrow zsmap's own implementation.
def _t_lat(x, y):
    r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    r += (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
    r += (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    return r


def _t_lon(x, y):
    r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    r += (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
    r += (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3
    return r


def wgs_to_gcj(lon, lat):
    a, ee = 6378245.0, 0.00669342162296594323
    dlat, dlon = _t_lat(lon - 105, lat - 35), _t_lon(lon - 105, lat - 35)
    rad = lat / 180 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = dlat * 180 / ((a * (1 - ee)) / (magic * sq) * math.pi)
    dlon = dlon * 180 / (a / sq * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def test_gcj02_round_trip():
    wgs = [(117.19 + rng.uniform(-0.3, 0.3), 34.29 + rng.uniform(-0.3, 0.3)) for _ in range(60)]
    gcj = [wgs_to_gcj(*p) for p in wgs]
    shift = metres(gcj[0], wgs[0])
    check(300 < shift < 800, f"GCJ-02 moves points by hundreds of metres here ({shift:.0f} m)")
    got = import_points(gcj, "GCJ02")
    worst = max(metres(a, b) for a, b in zip(got, wgs))
    print(f"GCJ02: worst {worst * 1000:.3f} mm over {len(wgs)} points")
    check(worst < 1.0, f"GCJ-02 round trip under 1 m (worst {worst} m)")
    got = import_points(gcj, "gcj02")
    check(max(metres(a, b) for a, b in zip(got, wgs)) < 1.0, "GCJ02 is accepted in any case")


def test_real_district_boundary_gcj02_invalid():
    src = os.path.join(SHARED, "data/real/xuzhou-datav/320302.fc.geojson")
    ds = ogr.Open(src)  # keep the dataset alive while its feature is read
    feature = ds.GetLayer(0).GetNextFeature()
    orig = feature.GetGeometryRef().Clone()
    feature = ds = None
    check(not orig.IsValid(), "the published district polygon is invalid as shipped")
    d = tempdir()
    db = os.path.join(d, "z.sqlite")
    _, out, err = zsmap("import", "--db", db, "--layer", "boundary", "--s_srs", "GCJ02",
                        "--map", "id=adcode,name_zh=name", src)
    check("repaired" in err and "Self-intersection" in err, f"the repair is reported: {err}")
    check("1 repaired" in out, f"the summary counts the repair: {out}")
    got = features(db, "boundary")
    check_eq(list(got), ["320302"], "the boundary is stored under its adcode")
    if "320302" in got:
        fields, g = got["320302"]
        check_eq(fields["name_zh"], "鼓楼区", "name survives")
        check(g.IsValid(), "the stored boundary is valid")
        check(abs(g.GetArea() / orig.GetArea() - 1) < 0.01, "the repair keeps the area")
        c0, c1 = orig.Centroid(), g.Centroid()
        east = (c1.GetX() - c0.GetX()) * M_PER_DEG_LAT * math.cos(math.radians(34.3))
        north = (c1.GetY() - c0.GetY()) * M_PER_DEG_LAT
        print(f"datav boundary moved {east:.0f} m east, {north:.0f} m north from GCJ-02")
        check(-600 < east < -450 and 80 < north < 180,
              f"GCJ-02 to WGS84 moves the boundary ~530 m west, ~130 m north ({east:.0f}, {north:.0f})")


run_tests([test_cgcs2000_3deg_cm117, test_cgcs2000_3deg_zone_prefix, test_cgcs2000_6deg_zone20,
           test_geographic_and_web_mercator, test_gcj02_round_trip,
           test_real_district_boundary_gcj02_invalid])
