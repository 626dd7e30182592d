#!/usr/bin/python3
"""Prints the render benchmark's tables (Markdown) from the RESULT lines of
bench_render, mapnik_bench.py and mapserver_bench.py.

    render_table.py LABEL=FILE...      (LABEL names the data, e.g. "scale 1")

Ratios are per core (tiles/s over threads), against the faster peer on the
same data, or on "scale 1" when no peer ran on that data; all from the same
run. "cores busy" is the median over the runs of CPU time over wall time:
below the thread count, other work on the machine took CPU from the pass."""

import json
import statistics
import sys


def results(path):
    with open(path) as f:
        return [json.loads(ln[7:]) for ln in f if ln.startswith("RESULT ")]


def main():
    rows, peers = [], {}
    for arg in sys.argv[1:]:
        label, _, path = arg.partition("=")
        for r in results(path):
            if r["renderer"] == "zsmap":
                for p in r["passes"]:
                    md, mn = p["median"], p["mean"]
                    rows.append({
                        "renderer": "zsmap", "data": label, "threads": p["threads"],
                        "tps": p["tiles_per_s"], "runs": p["runs_tiles_per_s"],
                        "cores": p.get("cores_busy", []),
                        "median": md["total_us"] / 1e3, "mean": mn["total_us"] / 1e3,
                        "render": md["render_us"] / 1e3, "encode": md["encode_us"] / 1e3,
                        "bytes": mn["bytes"], "phases": (md, mn), "rss": r["peak_rss_mib"],
                    })
            else:
                md, mn = r["median_ms"], r["mean_ms"]
                row = {
                    "renderer": r["renderer"], "data": label, "threads": 1,
                    "tps": r["tiles_per_s"], "runs": r["runs_tiles_per_s"],
                    "cores": r.get("cores_busy", []),
                    "median": md["total"], "mean": mn["total"], "render": md["render"],
                    "encode": md["encode"], "bytes": r["mean_bytes"], "rss": r["peak_rss_mib"],
                    "fast_tps": 1e3 / (mn["render"] + mn["encode_fast"]),
                }
                rows.append(row)
                best = peers.get(label)
                if best is None or row["tps"] > best["tps"]:
                    peers[label] = row

    print("| renderer | data | threads | tiles/s | tiles/s per core | median ms/tile "
          "| mean ms/tile | median render ms | median encode ms | bytes/tile | peak RSS MiB "
          "| cores busy | per core vs faster peer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per_core = r["tps"] / r["threads"]
        best = peers.get(r["data"]) or peers.get("scale 1")
        ratio = f"{per_core / best['tps']:.2f}x" if best else "-"
        if best and best["data"] != r["data"]:
            ratio += f" (vs {best['data']})"
        print(f"| {r['renderer']} | {r['data']} | {r['threads']} | {r['tps']:.1f} | {per_core:.1f} "
              f"| {r['median']:.2f} | {r['mean']:.2f} | {r['render']:.2f} | {r['encode']:.2f} "
              f"| {r['bytes']:.0f} | {r['rss']:.0f} | {statistics.median(r['cores']):.2f} | {ratio} |")
    print()
    print("Runs, tiles/s (cores busy = CPU time / wall time; below the thread count, the "
          "machine was busy):")
    print()
    for r in rows:
        print(f"- {r['renderer']}, {r['data']}, {r['threads']} thread(s): "
              + ", ".join(f"{v:.1f}" for v in r["runs"])
              + " (cores busy " + ", ".join(f"{v:.2f}" for v in r["cores"]) + ")")

    print()
    print("zsmap per tile, µs (each tile's median over the runs; then median / mean over "
          "tiles; share of the mean total):")
    print()
    print("| data | threads | | query | draw | labels | other in render | encode | total |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["renderer"] != "zsmap":
            continue
        md, mn = r["phases"]
        for name, v in (("median", md), ("mean", mn)):
            other = v["render_us"] - v["query_us"] - v["draw_us"] - v["labels_us"]
            print(f"| {r['data']} | {r['threads']} | {name} | {v['query_us']:.0f} | {v['draw_us']:.0f} "
                  f"| {v['labels_us']:.0f} | {other:.0f} | {v['encode_us']:.0f} | {v['total_us']:.0f} |")
        t = mn["total_us"]
        other = mn["render_us"] - mn["query_us"] - mn["draw_us"] - mn["labels_us"]
        print(f"| {r['data']} | {r['threads']} | share | {100 * mn['query_us'] / t:.0f} % "
              f"| {100 * mn['draw_us'] / t:.0f} % | {100 * mn['labels_us'] / t:.0f} % "
              f"| {100 * other / t:.0f} % | {100 * mn['encode_us'] / t:.0f} % | 100 % |")

    fast = [r for r in rows if "fast_tps" in r]
    if fast:
        print()
        print("Peers with zsmap-like PNG settings (zlib 2, RGB; derived from the mean render "
              "time plus the mean fast-encode time of the same images): " + "; ".join(
                  f"{r['renderer']} {r['data']} ≈ {r['fast_tps']:.0f} tiles/s" for r in fast))


if __name__ == "__main__":
    main()
