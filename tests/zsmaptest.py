"""Shared helpers for zsmap's integration tests: run the real binary, make
input files with GDAL's own drivers, and read the real SpatiaLite file back."""
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import traceback

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

ZSMAP = os.environ.get("ZSMAP", "build/server/zsmap")
SHARED = os.environ.get("ZSMAP_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

failures = []


def check(cond, what):
    """Records a failed check with its description; never raises."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def check_eq(a, b, what):
    return check(a == b, f"{what}: {a!r} != {b!r}")


def run_tests(tests):
    """Runs each test function; exits 1 when any check failed or raised."""
    for t in tests:
        print("--", t.__name__, flush=True)
        try:
            t()
        except Exception:
            failures.append(f"{t.__name__} raised")
            traceback.print_exc()
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


def tempdir():
    return tempfile.mkdtemp(prefix="zsmap-test-")


def zsmap(*args, expect=0, timeout=600):
    """Runs zsmap; returns (exit code, stdout, stderr) and checks the code."""
    p = subprocess.run([ZSMAP, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if expect is not None:
        check(p.returncode == expect,
              f"zsmap {' '.join(map(str, args))} exited {p.returncode}, expected {expect}\n"
              f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


def db_digest(path):
    """A digest of every row of every table of the store, and of the files in
    its photo folder: equal digests mean equal content."""
    h = hashlib.sha256()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        " ORDER BY name")]
    for t in tables:
        h.update(t.encode())
        for row in con.execute(f'SELECT * FROM "{t}" ORDER BY 1'):
            h.update(repr(row).encode())
    con.close()
    photos = path + ".photos"
    if os.path.isdir(photos):
        for name in sorted(os.listdir(photos)):
            h.update(name.encode())
            with open(os.path.join(photos, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def query(path, sql, args=()):
    """Rows of a plain SQL query on the store (no SpatiaLite functions)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def features(path, layer):
    """The store's layer read through GDAL's own SQLite/SpatiaLite driver:
    {id: (fields dict, ogr geometry in EPSG:4490 lon/lat)}."""
    ds = ogr.Open(path)
    lyr = ds.GetLayerByName(layer)
    out = {}
    for f in lyr:
        g = f.GetGeometryRef()
        out[f.GetField("id")] = (f.items(), g.Clone() if g else None)
    return out


def write_layer(path, driver, srs_epsg, geom_type, fields, rows, layer="data", lco=None,
                dsco=None):
    """Writes rows [(geometry WKT, {field: value})] with GDAL's driver;
    fields is [(name, ogr type)]."""
    drv = ogr.GetDriverByName(driver)
    if os.path.exists(path):
        drv.DeleteDataSource(path)
    ds = drv.CreateDataSource(path, options=dsco or [])
    srs = None
    if srs_epsg:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(srs_epsg)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lyr = ds.CreateLayer(layer, srs, geom_type, options=lco or [])
    for name, t in fields:
        lyr.CreateField(ogr.FieldDefn(name, t))
    for wkt, values in rows:
        f = ogr.Feature(lyr.GetLayerDefn())
        for k, v in values.items():
            if v is not None:
                f.SetField(k, v)
        if wkt:
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        lyr.CreateFeature(f)
    ds = None


def to_epsg(lon, lat, epsg):
    """lon/lat (EPSG:4490) to x/y in another CRS, with GDAL's OSR, GIS order."""
    src = osr.SpatialReference()
    src.ImportFromEPSG(4490)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(epsg)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(src, dst).TransformPoint(lon, lat)
    return x, y
