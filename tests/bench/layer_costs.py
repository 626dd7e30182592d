#!/usr/bin/python3
"""Where zsmap's render time goes, style layer by style layer: renders the
tile list with styles/investor.json cut down to the background plus one
layer, for each layer, with bench_render (1 thread), and reports each
layer's mean cost per tile over the background-only style (render time,
without PNG encoding) and the features it drew.

    layer_costs.py BENCH_RENDER DB [--style FILE] [--tiles FILE] [--runs R]

The costs do not add up exactly to the full style's render time: labels are
placed together (collisions between layers), and caches warm differently."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(bench, db, style, tiles, runs):
    out = subprocess.run([bench, db, style, tiles, "--runs", str(runs), "--threads", "1"],
                         check=True, capture_output=True, text=True).stdout
    res = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
    p = res["passes"][0]
    return p["mean"], p["tiles_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", help="build/tests/bench/bench_render")
    ap.add_argument("db")
    ap.add_argument("--style", default=os.path.join(HERE, "..", "..", "styles", "investor.json"))
    ap.add_argument("--tiles", default=os.path.join(HERE, "tiles.txt"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    with open(a.style, encoding="utf-8") as f:
        st = json.load(f)
    bg = [ly for ly in st["layers"] if ly["type"] == "background"]
    tmp = tempfile.mkdtemp(prefix="zsmap-layers-")

    def style_with(layers, name):
        path = os.path.join(tmp, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(st, layers=layers), f, ensure_ascii=False)
        return path

    base, _ = measure(a.bench, a.db, style_with(bg, "background"), a.tiles, a.runs)
    full, full_tps = measure(a.bench, a.db, a.style, a.tiles, a.runs)
    rows = []
    for ly in st["layers"]:
        if ly["type"] == "background":
            continue
        m, _ = measure(a.bench, a.db, style_with(bg + [ly], ly["id"]), a.tiles, a.runs)
        rows.append((ly["id"], ly["type"], ly.get("source-layer", ""),
                     m["render_us"] - base["render_us"], m["draw_us"], m["labels_us"],
                     m["features"], m["encode_us"]))
        print(f"  {ly['id']}: {rows[-1][3]:.0f} us", file=sys.stderr)
    total = sum(r[3] for r in rows)
    print(f"Per style layer, mean per tile over {a.tiles} (1 thread, {a.runs} runs; "
          f"background alone: render {base['render_us']:.0f} us; full style: render "
          f"{full['render_us']:.0f} us + encode {full['encode_us']:.0f} us, {full_tps:.0f} tiles/s)")
    print()
    print("| layer | type | source | render µs over background | share | draw µs | labels µs "
          "| features drawn |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: -r[3]):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.0f} | {100 * r[3] / total:.0f} % | {r[4]:.0f} "
              f"| {r[5]:.0f} | {r[6]:.1f} |")
    print(f"| sum | | | {total:.0f} | 100 % | | | |")


if __name__ == "__main__":
    main()
