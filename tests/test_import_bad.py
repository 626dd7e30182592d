"""Every bad input to import gets a clear error naming the problem, a non-zero
exit, and leaves the store's content (rows and photo files) identical."""
import hashlib
import os
import shutil

from osgeo import ogr

from zsmaptest import (check, check_eq, db_digest, features, query, run_tests, tempdir,
                       to_epsg, write_layer, zsmap)

D = tempdir()
DB = os.path.join(D, "base.sqlite")


def sq(lon, lat, side=0.002, epsg=4490):
    pts = [(lon, lat), (lon + side, lat), (lon + side, lat + side), (lon, lat + side), (lon, lat)]
    if epsg != 4490:
        pts = [to_epsg(x, y, epsg) for x, y in pts]
    return "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in pts) + "))"


def setup_base():
    """A store with a park (with a photo), two parcels and a factory."""
    photos = os.path.join(D, "photos")
    os.makedirs(photos, exist_ok=True)
    # a real JPEG made by GDAL
    from osgeo import gdal
    mem = gdal.GetDriverByName("MEM").Create("", 64, 48, 3)
    for b in range(3):
        mem.GetRasterBand(b + 1).Fill(60 * b + 40)
    gdal.GetDriverByName("JPEG").CreateCopy(os.path.join(photos, "gate.jpg"), mem)
    parks = os.path.join(D, "parks.geojson")
    write_layer(parks, "GeoJSON", 4326, ogr.wkbPolygon,
                [("id", ogr.OFTString), ("name_zh", ogr.OFTString), ("photos", ogr.OFTString)],
                [(sq(117.17, 34.27, 0.03), {"id": "P01", "name_zh": "云龙智能制造园",
                                            "photos": "photos/gate.jpg|园区大门"})])
    zsmap("import", "--db", DB, "--layer", "parks", parks)
    parcels = os.path.join(D, "parcels.geojson")
    write_layer(parcels, "GeoJSON", 4326, ogr.wkbPolygon,
                [("id", ogr.OFTString), ("park", ogr.OFTString), ("status", ogr.OFTString)],
                [(sq(117.18, 34.28), {"id": "L1", "park": "P01", "status": "可租"}),
                 (sq(117.19, 34.28), {"id": "L2", "park": "P01", "status": "leased"})])
    zsmap("import", "--db", DB, "--layer", "parcels", parcels)
    check_eq(len(query(DB, "SELECT * FROM photos")), 1, "base store has its photo")


def bad(args, needle, code=1):
    """Runs an import expected to fail; checks the message and that nothing changed."""
    before = db_digest(DB)
    rc, out, err = zsmap("import", "--db", DB, *args, expect=code)
    check(needle in err, f"error for {args} names the problem ({needle!r}): {err.strip()}")
    check_eq(db_digest(DB), before, f"store unchanged after {args}")
    return err


def write(name, text):
    path = os.path.join(D, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def parcels_file(name, rows, epsg=4326, fields=None):
    path = os.path.join(D, name)
    write_layer(path, "GeoJSON" if path.endswith("json") else "GPKG", epsg, ogr.wkbPolygon,
                fields or [("id", ogr.OFTString), ("status", ogr.OFTString),
                           ("area_m2", ogr.OFTString), ("park", ogr.OFTString)], rows)
    return path


def test_unreadable_inputs():
    bad(["--layer", "parcels", os.path.join(D, "nope.shp")], "does not exist")
    bad(["--layer", "parcels", write("junk.geojson", "this is not GeoJSON {")],
        "not a vector file GDAL can read")
    with open(os.path.join(D, "random.shp"), "wb") as f:
        f.write(os.urandom(4096))
    bad(["--layer", "parcels", os.path.join(D, "random.shp")], "not a vector file")
    bad(["--layer", "nonsense", write("x.geojson", "{}")], "unknown layer 'nonsense'", code=2)


def test_layers_and_fields():
    gpkg = os.path.join(D, "two.gpkg")
    write_layer(gpkg, "GPKG", 4490, ogr.wkbPolygon, [("id", ogr.OFTString)],
                [(sq(117.2, 34.3), {"id": "L9"})], layer="east")
    ds = ogr.Open(gpkg, 1)
    ds.CreateLayer("west", ds.GetLayer(0).GetSpatialRef(), ogr.wkbPolygon)
    ds = None
    bad(["--layer", "parcels", gpkg], "choose one with --source-layer")
    bad(["--layer", "parcels", "--source-layer", "north", gpkg], "has no layer 'north' (layers: east, west)")
    src = parcels_file("ok.geojson", [(sq(117.2, 34.3), {"id": "L9", "status": "available"})])
    bad(["--layer", "parcels", "--map", "colour=status", src], "no field 'colour'")
    bad(["--layer", "parcels", "--map", "status=状态", src], "has no field '状态'")
    bad(["--layer", "parcels", "--map", "status", src], "is not field=SOURCE_FIELD")
    bad(["--layer", "buildings", src], "no field 'kind'")
    empty = os.path.join(D, "empty.gpkg")
    write_layer(empty, "GPKG", 4490, ogr.wkbPolygon, [("id", ogr.OFTString)], [])
    bad(["--layer", "parcels", empty], "has no features")


def test_crs_problems():
    csv = write("nocrs.csv", "id,WKT\nL9,\"" + sq(117.2, 34.3) + "\"\n")
    bad(["--layer", "parcels", csv], "does not say its coordinate reference system")
    bad(["--layer", "parcels", "--s_srs", "EPSG:999999", csv], "EPSG:999999")
    bad(["--layer", "parcels", "--s_srs", "no such crs", csv], "no such crs")
    metres = write("metres.csv", "id,WKT\nL9,\"" + sq(117.2, 34.3, epsg=4548) + "\"\n")
    bad(["--layer", "parcels", "--s_srs", "EPSG:4490", metres], "are not degrees")
    europe = parcels_file("europe.geojson", [(sq(9.5, 47.1), {"id": "L9"})])
    bad(["--layer", "parcels", europe], "outside China")
    # projected metres read in the wrong projected CRS land outside China too
    bad(["--layer", "parcels", "--s_srs", "EPSG:3857", metres], "outside China")


def test_bad_values():
    def one(props, needle, layer="parcels"):
        src = parcels_file("v.geojson", [(sq(117.2, 34.3), props)])
        bad(["--layer", layer, src], needle)
    one({"id": "L9", "status": "sold out"}, "'sold out' is not one of available")
    one({"id": "L9", "area_m2": "about 30 mu"}, "'about 30 mu' is not a number")
    one({"id": "L9", "park": "P99"}, "park 'P99' does not exist")
    one({"id": "P01"}, "already a carrier in layer parks")
    one({"id": "L9", "area_m2": "-5"}, "negative")
    src = parcels_file("dup.geojson", [(sq(117.2, 34.3), {"id": "L9"}),
                                       (sq(117.21, 34.3), {"id": "L9"})])
    bad(["--layer", "parcels", src], "id 'L9' is given to two features")
    nul = parcels_file("noid.geojson", [(sq(117.2, 34.3), {"status": "leased"})])
    bad(["--layer", "parcels", nul], "has no field 'id'")
    nul = parcels_file("noid2.geojson", [(sq(117.2, 34.3), {"id": "L9"}),
                                         (sq(117.21, 34.3), {"status": "leased"})])
    bad(["--layer", "parcels", nul], "feature 1 (id ?): rejected: no id")


def test_invalid_geometry_and_skip():
    flat = "POLYGON((117.2 34.3,117.21 34.3,117.22 34.3,117.2 34.3))"  # no area at all
    bowtie = "POLYGON((117.2 34.31,117.21 34.32,117.21 34.31,117.2 34.32,117.2 34.31))"
    src = parcels_file("geom.geojson", [(flat, {"id": "L7"}), (bowtie, {"id": "L8"}),
                                        (sq(117.23, 34.3), {"id": "L9"})])
    err = bad(["--layer", "parcels", src], "1 of 3 features rejected")
    check("L7" in err and "L8" not in err.split("rejected")[0], f"the report names L7: {err}")
    before = query(DB, "SELECT count(*) FROM parcels")[0][0]
    rc, out, err = zsmap("import", "--db", DB, "--layer", "parcels", "--skip-invalid", src)
    check("feature 0 (id L7): rejected" in err, f"skipped feature named: {err}")
    check("feature 1 (id L8): repaired: Self-intersection" in err, f"repair named: {err}")
    check("1 repaired, 1 skipped" in out, f"summary: {out}")
    check_eq(query(DB, "SELECT count(*) FROM parcels")[0][0], before + 2, "two parcels added")
    got = features(DB, "parcels")
    check("L8" in got and got["L8"][1].IsValid(), "the repaired bowtie is valid")
    check(abs(got["L8"][1].GetArea() - 0.5 * 0.01 * 0.01) < 1e-9, "the bowtie keeps its area")


def test_dry_run_and_photos():
    src = parcels_file("dry.geojson", [(sq(117.25, 34.3), {"id": "L20", "status": "available"})])
    before = db_digest(DB)
    rc, out, err = zsmap("import", "--db", DB, "--layer", "parcels", "--dry-run", src)
    check("would import" in out and "1 inserted" in out, f"dry run reports: {out}")
    check_eq(db_digest(DB), before, "dry run changes nothing")
    # a missing photo refuses the import, and no photo file is left behind
    parks = os.path.join(D, "parks2.geojson")
    write_layer(parks, "GeoJSON", 4326, ogr.wkbPolygon,
                [("id", ogr.OFTString), ("photos", ogr.OFTString)],
                [(sq(117.3, 34.3, 0.01), {"id": "P02", "photos": "photos/gate.jpg;photos/missing.jpg"})])
    bad(["--layer", "parks", parks], "missing.jpg")
    notjpeg = write("photos/readme.jpg", "not a photo")
    write_layer(parks, "GeoJSON", 4326, ogr.wkbPolygon,
                [("id", ogr.OFTString), ("photos", ogr.OFTString)],
                [(sq(117.3, 34.3, 0.01), {"id": "P02", "photos": "photos/readme.jpg"})])
    bad(["--layer", "parks", parks], "readme.jpg")
    check(os.path.exists(notjpeg), "the input is left alone")


def test_not_a_store():
    text = write("notes.sqlite", "minutes of the meeting\n")
    digest = hashlib.sha256(open(text, "rb").read()).hexdigest()
    src = parcels_file("ok2.geojson", [(sq(117.2, 34.3), {"id": "L9"})])
    rc, out, err = zsmap("import", "--db", text, "--layer", "parcels", src, expect=1)
    check("not a zsmap database" in err or "not a database" in err, f"refused: {err}")
    check_eq(hashlib.sha256(open(text, "rb").read()).hexdigest(), digest, "the file is untouched")


setup_base()
run_tests([test_unreadable_inputs, test_layers_and_fields, test_crs_problems, test_bad_values,
           test_invalid_geometry_and_skip, test_dry_run_and_photos, test_not_a_store])
shutil.rmtree(D, ignore_errors=True)
