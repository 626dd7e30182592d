"""Import of every format the issue names, with input files made by GDAL's own
drivers: GeoPackage, Shapefile (GBK), GeoJSON, KML, DXF, CSV (WKT and lon/lat),
XLSX, and the real OpenStreetMap buildings of Liechtenstein."""
import json
import os

from osgeo import ogr

from zsmaptest import (SHARED, check, check_eq, features, run_tests, tempdir, to_epsg,
                       write_layer, zsmap)

# Three parcels near the district centre: lon/lat (EPSG:4490) squares.
PARCELS = [
    ("L1", "徐州市鼓楼区工业地块一号", "Parcel One", "工业", 117.180, 34.280),
    ("L2", "九里山商务地块", "Jiulishan Commercial", "commercial", 117.185, 34.282),
    ("L3", "故黄河畔混合用地（东）", "Riverside Mixed (East)", "混合用地", 117.190, 34.284),
]
SIDE = 0.002  # degrees


def square(lon, lat, epsg=4490):
    pts = [(lon, lat), (lon + SIDE, lat), (lon + SIDE, lat + SIDE), (lon, lat + SIDE), (lon, lat)]
    if epsg != 4490:
        pts = [to_epsg(x, y, epsg) for x, y in pts]
    return "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in pts) + "))"


FIELDS = [("id", ogr.OFTString), ("name_zh", ogr.OFTString), ("name_en", ogr.OFTString),
          ("land_use", ogr.OFTString), ("area_m2", ogr.OFTReal)]


def rows(epsg):
    return [(square(lon, lat, epsg), {"id": i, "name_zh": zh, "name_en": en, "land_use": lu,
                                      "area_m2": 1000.5 * (n + 1)})
            for n, (i, zh, en, lu, lon, lat) in enumerate(PARCELS)]


def check_parcels(db, what, tol_deg=1e-7, expect_area=True):
    got = features(db, "parcels")
    check_eq(sorted(got), ["L1", "L2", "L3"], f"{what}: ids")
    codes = {"L1": "industrial", "L2": "commercial", "L3": "mixed"}
    for i, zh, en, _, lon, lat in PARCELS:
        if i not in got:
            continue
        fields, geom = got[i]
        check_eq(fields["name_zh"].encode("utf-8"), zh.encode("utf-8"), f"{what}: {i} name_zh bytes")
        check_eq(fields["name_en"], en, f"{what}: {i} name_en")
        check_eq(fields["land_use"], codes[i], f"{what}: {i} land_use")
        if expect_area:
            check(abs(fields["area_m2"] - 1000.5 * (int(i[1]))) < 1e-9, f"{what}: {i} area_m2")
        env = geom.GetEnvelope()  # minx, maxx, miny, maxy
        for got_v, want in zip(env, (lon, lon + SIDE, lat, lat + SIDE)):
            check(abs(got_v - want) < tol_deg, f"{what}: {i} envelope {env} vs {lon},{lat}")


def test_geopackage_projected():
    d = tempdir()
    src = os.path.join(d, "parcels.gpkg")
    write_layer(src, "GPKG", 4548, ogr.wkbPolygon, FIELDS, rows(4548), layer="地块")
    db = os.path.join(d, "z.sqlite")
    _, out, _ = zsmap("import", "--db", db, "--layer", "parcels", src)
    check("EPSG:4548" in out, f"report names the file's CRS: {out}")
    check_parcels(db, "gpkg")


def test_shapefile_gbk():
    d = tempdir()
    src = os.path.join(d, "parcels.shp")
    write_layer(src, "ESRI Shapefile", 4548, ogr.wkbPolygon, FIELDS, rows(4548),
                lco=["ENCODING=GBK"])
    os.remove(os.path.join(d, "parcels.cpg"))  # the file no longer says its encoding
    dbf = open(os.path.join(d, "parcels.dbf"), "rb").read()
    check("鼓楼区".encode("gbk") in dbf, "the .dbf really holds GBK bytes")
    check("鼓楼区".encode("utf-8") not in dbf, "the .dbf holds no UTF-8")
    db = os.path.join(d, "z.sqlite")
    _, _, err = zsmap("import", "--db", db, "--layer", "parcels", src, expect=1)
    check("UTF-8" in err and "--encoding" in err, f"GBK without --encoding is refused: {err}")
    check(not os.path.exists(db), "a failed import into a new file leaves no file")
    zsmap("import", "--db", db, "--layer", "parcels", "--encoding", "GBK", src)
    check_parcels(db, "shapefile GBK")


def test_geojson_and_field_map():
    d = tempdir()
    src = os.path.join(d, "p.geojson")
    fields = [("编号", ogr.OFTString), ("名称", ogr.OFTString), ("英文名", ogr.OFTString),
              ("用途", ogr.OFTString), ("面积", ogr.OFTReal)]
    data = [(w, {"编号": v["id"], "名称": v["name_zh"], "英文名": v["name_en"], "用途": v["land_use"],
                 "面积": v["area_m2"]}) for w, v in rows(4490)]
    write_layer(src, "GeoJSON", 4326, ogr.wkbPolygon, fields, data)
    db = os.path.join(d, "z.sqlite")
    zsmap("import", "--db", db, "--layer", "parcels",
          "--map", "id=编号,name_zh=名称,name_en=英文名,land_use=用途,area_m2=面积", src)
    check_parcels(db, "geojson")


def test_kml():
    d = tempdir()
    src = os.path.join(d, "p.kml")
    write_layer(src, "KML", 4326, ogr.wkbPolygon, FIELDS, rows(4490))
    db = os.path.join(d, "z.sqlite")
    zsmap("import", "--db", db, "--layer", "parcels", src)
    check_parcels(db, "kml")


def test_dxf():
    d = tempdir()
    src = os.path.join(d, "p.dxf")
    # DXF has a fixed schema: the parcel id travels as the entity's layer,
    # and the file has no CRS, so it is given.
    write_layer(src, "DXF", None, ogr.wkbPolygon, [("Layer", ogr.OFTString)],
                [(w, {"Layer": v["id"]}) for w, v in rows(4548)], layer="entities")
    db = os.path.join(d, "z.sqlite")
    _, _, err = zsmap("import", "--db", db, "--layer", "parcels", "--map", "id=Layer", src,
                      expect=1)
    check("--s_srs" in err, f"a DXF without CRS is refused, naming --s_srs: {err}")
    zsmap("import", "--db", db, "--layer", "parcels", "--map", "id=Layer", "--s_srs",
          "EPSG:4548", src)
    got = features(db, "parcels")
    check_eq(sorted(got), ["L1", "L2", "L3"], "dxf ids")
    for i, _, _, _, lon, lat in PARCELS:
        if i in got:
            env = got[i][1].GetEnvelope()
            check(abs(env[0] - lon) < 1e-7 and abs(env[2] - lat) < 1e-7, f"dxf {i} at {env}")
            check_eq(got[i][1].GetGeometryName(), "MULTIPOLYGON", f"dxf {i} is an area")


def test_csv_wkt():
    d = tempdir()
    src = os.path.join(d, "p.csv")
    write_layer(src, "CSV", None, ogr.wkbPolygon, FIELDS, rows(4490), lco=["GEOMETRY=AS_WKT"])
    check("WKT" in open(src, encoding="utf-8").readline(), "the CSV has a WKT column")
    db = os.path.join(d, "z.sqlite")
    zsmap("import", "--db", db, "--layer", "parcels", "--s_srs", "EPSG:4490", src)
    check_parcels(db, "csv wkt")


def check_points(db, what):
    got = features(db, "buildings")
    check_eq(sorted(got), ["B1", "B2"], f"{what}: ids")
    if "B1" in got:
        f, g = got["B1"]
        check_eq(f["name_zh"], "彭城创新大厦", f"{what}: name")
        check_eq(f["kind"], "building", f"{what}: kind from 写字楼")
        check_eq(g.GetGeometryName(), "POINT", f"{what}: a point carrier")
        check(abs(g.GetX() - 117.1912345) < 1e-7 and abs(g.GetY() - 34.2876543) < 1e-7,
              f"{what}: point at {g.GetX()}, {g.GetY()}")
        check_eq(f["rent_yuan_m2_day"], 2.5, f"{what}: rent")
        check(f["clear_height_m"] is None, f"{what}: a missing value is NULL, not 0")
    if "B2" in got:
        check_eq(got["B2"][0]["kind"], "factory", f"{what}: kind from 厂房")
        check_eq(got["B2"][0]["clear_height_m"], 12.0, f"{what}: clear height")


def test_csv_lonlat():
    d = tempdir()
    src = os.path.join(d, "b.csv")
    with open(src, "w", encoding="utf-8") as f:
        f.write("id,name_zh,kind,lon,lat,rent_yuan_m2_day,clear_height_m\n")
        f.write("B1,彭城创新大厦,写字楼,117.1912345,34.2876543,2.5,\n")
        f.write("B2,3号厂房,厂房,117.1952345,34.2836543,,12\n")
    db = os.path.join(d, "z.sqlite")
    zsmap("import", "--db", db, "--layer", "buildings", "--s_srs", "EPSG:4490", src)
    check_points(db, "csv lon/lat")


def test_xlsx():
    d = tempdir()
    src = os.path.join(d, "b.xlsx")
    fields = [("id", ogr.OFTString), ("name_zh", ogr.OFTString), ("kind", ogr.OFTString),
              ("经度", ogr.OFTReal), ("纬度", ogr.OFTReal), ("rent_yuan_m2_day", ogr.OFTReal),
              ("clear_height_m", ogr.OFTReal)]
    write_layer(src, "XLSX", None, ogr.wkbNone, fields, [
        (None, {"id": "B1", "name_zh": "彭城创新大厦", "kind": "写字楼", "经度": 117.1912345,
                "纬度": 34.2876543, "rent_yuan_m2_day": 2.5}),
        (None, {"id": "B2", "name_zh": "3号厂房", "kind": "厂房", "经度": 117.1952345,
                "纬度": 34.2836543, "clear_height_m": 12.0}),
    ], layer="载体")
    db = os.path.join(d, "z.sqlite")
    zsmap("import", "--db", db, "--layer", "buildings", "--s_srs", "EPSG:4490", src)
    check_points(db, "xlsx")


def test_osm_liechtenstein_buildings():
    """3,723 real footprints (holes, multipolygons, tiny and huge), moved
    from Liechtenstein to the district so that they lie in China."""
    src_path = os.path.join(SHARED, "data/real/osm-liechtenstein/liechtenstein-2013-08-03-buildings.geojson")
    src = ogr.Open(src_path)
    layer = src.GetLayer(0)
    d = tempdir()
    moved = os.path.join(d, "osm.geojson")
    dx, dy = 117.19 - 9.55, 34.29 - 47.15
    out = []
    expected = {}
    for f in layer:
        g = f.GetGeometryRef().Clone()
        fid = f.GetField("osm_id") or ("w" + f.GetField("osm_way_id"))
        # shift every vertex; shapes, holes and vertex counts stay as they are
        gj = json.loads(g.ExportToJson())

        def shift(c):
            return [shift(x) for x in c] if isinstance(c[0], list) else [c[0] + dx, c[1] + dy]
        gj["coordinates"] = shift(gj["coordinates"])
        kind = "factory" if f.GetField("building") in ("industrial", "warehouse") else "building"
        out.append({"type": "Feature", "geometry": gj,
                    "properties": {"id": fid, "name_zh": f.GetField("name"), "kind": kind}})
        expected[fid] = ogr.CreateGeometryFromJson(json.dumps(gj))
    with open(moved, "w", encoding="utf-8") as fh:
        json.dump({"type": "FeatureCollection", "features": out}, fh, ensure_ascii=False)
    check_eq(len(out), 3723, "the real file has 3,723 buildings")
    db = os.path.join(d, "z.sqlite")
    _, stdout, stderr = zsmap("import", "--db", db, "--layer", "buildings", moved)
    got = features(db, "buildings")
    check_eq(len(got), 3723, "every real building is stored")
    repaired = stderr.count("repaired:")
    print(f"osm: {len(got)} stored, {repaired} repaired; {stdout.strip()}")
    worst = 0.0
    for fid, g in expected.items():
        if fid not in got:
            continue
        stored = got[fid][1]
        if g.IsValid():
            # a valid footprint is stored as it was: same area, same vertices
            worst = max(worst, abs(stored.GetArea() - g.GetArea()) / g.GetArea())
            check(stored.Buffer(1e-9).Contains(g) and g.Buffer(1e-9).Contains(stored),
                  f"osm {fid} stored shape differs")
        else:
            check(stored.IsValid(), f"osm {fid} repaired into a valid shape")
    check(worst < 1e-9, f"valid footprints keep their area (worst relative change {worst})")
    holes = sum(1 for g in expected.values()
                if any(g.GetGeometryRef(i).GetGeometryCount() > 1 for i in range(g.GetGeometryCount())))
    check(holes > 0, "the real data has footprints with holes")


run_tests([test_geopackage_projected, test_shapefile_gbk, test_geojson_and_field_map, test_kml,
           test_dxf, test_csv_wkt, test_csv_lonlat, test_xlsx, test_osm_liechtenstein_buildings])
