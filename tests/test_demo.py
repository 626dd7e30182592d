"""The demo district: made deterministically through the same import as user
data, with the counts and the field completeness the issue asks for."""
import hashlib
import os
import sqlite3

from osgeo import ogr

from zsmaptest import check, check_eq, query, run_tests, tempdir, zsmap

D = tempdir()
DB = os.path.join(D, "demo.sqlite")
INDUSTRIES = {"semiconductor", "electronics", "medical", "commerce"}


def content_digest(path):
    """Every row of every table except the times of the run, and every photo."""
    h = hashlib.sha256()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for t in ("meta", "boards", "parks", "parcels", "buildings", "boundary", "roads", "water",
              "photos", "imports"):
        cur = con.execute(f'SELECT * FROM "{t}" ORDER BY 1')
        names = [c[0] for c in cur.description]
        for row in cur:
            h.update(repr([v for n, v in zip(names, row)
                           if n not in ("updated_at", "imported_at", "source")]).encode())
    con.close()
    for name in sorted(os.listdir(path + ".photos")):
        h.update(name.encode() + open(os.path.join(path + ".photos", name), "rb").read())
    return h.hexdigest()


def test_build():
    rc, out, err = zsmap("demo", "--db", DB)
    print(out.strip())
    check("parcels" in out and "buildings" in out, "summary printed")
    rows = query(DB, "SELECT layer, source_crs, features, skipped FROM imports ORDER BY id")
    check_eq([r[0] for r in rows], ["boundary", "water", "roads", "parks", "parcels", "buildings"],
             "every layer went through import, parks before what names them")
    check(all(r[1] == "EPSG:4548" for r in rows), f"imported from EPSG:4548: {rows}")
    check(all(r[3] == 0 for r in rows), "nothing skipped")


def count(sql):
    return query(DB, sql)[0][0]


def test_counts():
    check_eq(count("SELECT count(*) FROM parks"), 21, "21 parks")
    check(count("SELECT count(*) FROM parcels") >= 3000, "at least 3,000 parcels")
    check(count("SELECT count(*) FROM buildings") >= 20000, "at least 20,000 buildings")
    check(count("SELECT count(*) FROM boundary") >= 1, "a district boundary")
    check(count("SELECT count(*) FROM roads WHERE name_zh IS NOT NULL") >= 10, "named roads")
    check(count("SELECT count(*) FROM water") >= 1, "water")
    check(count("SELECT count(*) FROM boards") >= 3, "boards (zones)")


def test_parks_complete():
    for row in query(DB, "SELECT id, name_zh, name_en, industries, enterprises, annual_tax_wan,"
                         " tax_class, description_zh, description_en, board, area_m2,"
                         " contact_name, contact_phone, status FROM parks"):
        check(all(v is not None for v in row), f"park fields all filled: {row}")
        check(any("\u4e00" <= ch <= "\u9fff" for ch in row[1] or ""), f"Chinese name: {row[1]}")
        inds = set((row[3] or "").split(","))
        check(inds and inds <= INDUSTRIES, f"leading industries among the four: {row[3]}")
    check_eq(count("SELECT count(DISTINCT name_zh) FROM parks"), 21, "park names unique")
    for (pid, n) in query(DB, "SELECT carrier_id, count(*) FROM photos"
                              " WHERE carrier_id LIKE 'P%' GROUP BY carrier_id"):
        check(n >= 2, f"park {pid} has a few photos")
    check_eq(count("SELECT count(DISTINCT carrier_id) FROM photos WHERE carrier_id LIKE 'P%'"), 21,
             "every park has photos")
    for f, t in query(DB, "SELECT file, thumb FROM photos"):
        p, tp = os.path.join(DB + ".photos", f), os.path.join(DB + ".photos", t)
        check(open(p, "rb").read(3) == b"\xff\xd8\xff", f"{f} is a JPEG")
        check(os.path.getsize(tp) < os.path.getsize(p), f"{t} is a smaller thumbnail")


def test_parcels_complete():
    check_eq(count("SELECT count(*) FROM parcels WHERE land_use IS NULL OR area_m2 IS NULL"
                   " OR area_m2 <= 0 OR current_state IS NULL"), 0,
             "every parcel has land use, area and current state")
    offered = "land_use IN ('industrial', 'commercial', 'residential', 'mixed')"
    check_eq(count(f"SELECT count(*) FROM parcels WHERE {offered} AND (status IS NULL"
                   " OR plot_ratio IS NULL OR price_wan_per_mu IS NULL)"), 0,
             "every parcel on offer has status, plot ratio and price")
    check_eq(count("SELECT count(*) FROM parcels WHERE price_wan_per_mu = 0 OR plot_ratio = 0"), 0,
             "an unknown price or plot ratio is NULL, never 0")
    check_eq({r[0] for r in query(DB, "SELECT DISTINCT status FROM parcels WHERE status IS NOT NULL")},
             {"available", "reserved", "leased", "under_construction"}, "every status occurs")
    check(len(query(DB, "SELECT DISTINCT land_use FROM parcels")) >= 4, "mixed land use")
    inside = count("SELECT count(*) FROM parcels WHERE park IS NOT NULL")
    check(0 < inside < count("SELECT count(*) FROM parcels"), "parcels in and out of parks")


def test_buildings_complete():
    offices = count("SELECT count(*) FROM buildings WHERE kind = 'building'")
    factories = count("SELECT count(*) FROM buildings WHERE kind = 'factory'")
    check(offices > 1000 and factories > 1000, f"offices {offices} and factories {factories}")
    check_eq(count("SELECT count(*) FROM buildings WHERE kind = 'building' AND (floors IS NULL"
                   " OR height_m IS NULL OR gross_area_m2 IS NULL OR vacant_area_m2 IS NULL"
                   " OR rent_yuan_m2_day IS NULL OR status IS NULL)"), 0, "offices complete")
    check_eq(count("SELECT count(*) FROM buildings WHERE kind = 'building' AND (clear_height_m"
                   " IS NOT NULL OR rent_yuan_m2_month IS NOT NULL)"), 0,
             "offices carry no factory fields")
    check_eq(count("SELECT count(*) FROM buildings WHERE kind = 'factory' AND (length_m IS NULL"
                   " OR width_m IS NULL OR clear_height_m IS NULL OR floor_load_t_m2 IS NULL"
                   " OR power_kva IS NULL OR gross_area_m2 IS NULL OR vacant_area_m2 IS NULL"
                   " OR rent_yuan_m2_month IS NULL OR height_m IS NULL)"), 0, "factories complete")
    check_eq(count("SELECT count(*) FROM buildings WHERE kind = 'factory'"
                   " AND rent_yuan_m2_day IS NOT NULL"), 0, "factories rent by the month")
    check(count("SELECT count(*) FROM buildings WHERE vacant_area_m2 > 0") > 1000, "some vacant")
    check_eq(count("SELECT count(*) FROM buildings WHERE vacant_area_m2 > gross_area_m2"), 0,
             "vacant never exceeds gross")
    check(count("SELECT count(*) FROM buildings WHERE crane_t IS NOT NULL") > 0, "some cranes")


def test_geometry():
    ds = ogr.Open(DB)
    for layer in ("parks", "parcels", "buildings", "boundary", "water", "roads"):
        sql = f"SELECT count(*) FROM {layer} WHERE ST_IsValid(geom) = 0"
        res = ds.ExecuteSQL(sql, dialect="SQLITE")
        invalid = res.GetNextFeature().GetField(0)
        ds.ReleaseResultSet(res)
        check_eq(invalid, 0, f"{layer}: every geometry valid")
    env = ds.GetLayerByName("boundary").GetExtent()
    cx, cy = (env[0] + env[1]) / 2, (env[2] + env[3]) / 2
    check(abs(cx - 117.19) < 0.05 and abs(cy - 34.29) < 0.05, f"district centred near 117.19E 34.29N: {cx}, {cy}")
    benv = ds.GetLayerByName("buildings").GetExtent()
    check(env[0] <= benv[0] and benv[1] <= env[1] and env[2] <= benv[2] and benv[3] <= env[3],
          "buildings lie within the district's extent")
    ds = None


def test_deterministic_and_guarded():
    other = os.path.join(D, "again.sqlite")
    zsmap("demo", "--db", other)
    check_eq(content_digest(other), content_digest(DB), "two demo runs make the same district")
    before = content_digest(DB)
    rc, out, err = zsmap("demo", "--db", DB, expect=1)
    check("--force" in err, f"an existing store is not replaced silently: {err}")
    check_eq(content_digest(DB), before, "refused demo changes nothing")
    zsmap("demo", "--db", DB, "--scale", "0", expect=2)
    zsmap("demo", "--db", DB, "--scale", "ten", expect=2)


run_tests([test_build, test_counts, test_parks_complete, test_parcels_complete,
           test_buildings_complete, test_geometry, test_deterministic_and_guarded])
