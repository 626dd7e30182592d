"""An import killed with SIGKILL midway leaves the store exactly as it was,
still opens (integrity check) and takes the next import."""
import os
import signal
import subprocess
import time

from zsmaptest import ZSMAP, check, check_eq, db_digest, query, run_tests, tempdir, zsmap


def big_file(path, n):
    """n small square parcels as GeoJSON, written directly for speed."""
    with open(path, "w") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        for i in range(n):
            x, y = 117.10 + (i % 400) * 0.0004, 34.20 + (i // 400) * 0.0004
            ring = f"[[{x:.6f},{y:.6f}],[{x + 0.0003:.6f},{y:.6f}],[{x + 0.0003:.6f},{y + 0.0003:.6f}],[{x:.6f},{y + 0.0003:.6f}],[{x:.6f},{y:.6f}]]"
            f.write(("," if i else "") + '{"type":"Feature","properties":{"id":"K%06d","name_zh":"地块%d"},'
                    '"geometry":{"type":"Polygon","coordinates":[%s]}}\n' % (i, i, ring))
        f.write("]}\n")


def test_sigkill_midway():
    d = tempdir()
    db = os.path.join(d, "z.sqlite")
    small = os.path.join(d, "small.geojson")
    big_file(small, 10)
    zsmap("import", "--db", db, "--layer", "parcels", small)
    before = db_digest(db)
    big = os.path.join(d, "big.geojson")
    big_file(big, 40000)
    killed_midway = 0
    for delay in (0.3, 1.0, 2.0, 3.0):
        p = subprocess.Popen([ZSMAP, "import", "--db", db, "--layer", "parcels", big],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            killed_midway += 1
        p.communicate()
        if p.returncode == -signal.SIGKILL:
            check_eq(db_digest(db), before, f"store unchanged after SIGKILL at {delay} s")
            check_eq(query(db, "SELECT count(*) FROM parcels")[0][0], 10, "no parcel of the killed import")
    check(killed_midway >= 2, f"the import was killed while running ({killed_midway} times)")
    # the store opens (integrity check on open) and the import then completes
    rc, out, _ = zsmap("info", "--db", db)
    check("parcels" in out, f"info after kills: {out}")
    zsmap("import", "--db", db, "--layer", "parcels", big)
    check_eq(query(db, "SELECT count(*) FROM parcels")[0][0], 40000, "the full import lands (its first ten ids update)")
    check_eq(query(db, "PRAGMA integrity_check")[0][0], "ok", "integrity after everything")


run_tests([test_sigkill_midway])
