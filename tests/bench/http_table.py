#!/usr/bin/python3
"""The tables of run-http.sh from its folder: results.txt (one line of
key=value pairs per wrk run) and the metrics-NAME-{0,1}.txt snapshots of
zsmap's /metrics around each zsmap run.

  http_table.py OUT_DIR
  http_table.py --log LOG FROM TO
      "own_p50_ms=.. own_p99_ms=.. own_n=.." of the access log lines zsmap
      wrote between byte offsets FROM and TO (run-http.sh, after each run)
"""
import os
import re
import sys

MIB = 1024.0


def load(out):
    runs = []
    with open(os.path.join(out, "results.txt")) as f:
        for line in f:
            r = {}
            for kv in line.split():
                k, _, v = kv.partition("=")
                try:
                    r[k] = float(v)
                except ValueError:
                    r[k] = v
            runs.append(r)
    return runs


def metrics(out, name, i):
    """{series: value} of a /metrics snapshot, or {}."""
    m = {}
    try:
        with open(os.path.join(out, f"metrics-{name}-{i}.txt")) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                k, _, v = line.rpartition(" ")
                m[k] = float(v)
    except OSError:
        pass
    return m


def delta(out, name):
    a, b = metrics(out, name, 0), metrics(out, name, 1)
    return {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0)}


def statuses(d):
    """"200: N, 304: M" of the requests zsmap counted (the metrics fetch left out)."""
    by = {}
    for k, v in d.items():
        m = re.match(r'zsmap_http_requests_total\{route="([^"]+)",status="(\d+)"\}', k)
        if m and m.group(1) != "metrics":
            by[m.groups()] = v
    routes = {r for r, _ in by}
    text = ", ".join((f"{r} {s}" if len(routes) > 1 else s) + f": {int(n):,}"
                     for (r, s), n in sorted(by.items())) or "-"
    rendered = d.get("zsmap_tile_cache_misses_total", 0)
    return text + (f" ({int(rendered):,} rendered)" if rendered else "")


def log_slice(path, start, end):
    """The median and 99th percentile of the times in zsmap's access log
    lines between two byte offsets: its own time from the request line to
    the response handed to the kernel (the /metrics fetches left out)."""
    us = []
    with open(path, "rb") as f:
        f.seek(start)
        for line in f.read(end - start).splitlines():
            m = re.match(rb"[A-Z]+ (\S+) \d+ \d+ (\d+)us", line)
            if m and not m.group(1).startswith(b"/metrics"):
                us.append(int(m.group(2)))
    us.sort()
    if not us:
        return "own_n=0"
    return (f"own_p50_ms={us[len(us) // 2] / 1e3:.3f} "
            f"own_p99_ms={us[min(len(us) - 1, int(len(us) * 0.99))] / 1e3:.3f} own_n={len(us)}")


def server_latency(r):
    if "own_p50_ms" not in r:
        return ""
    return f"{ms(r['own_p50_ms'])} / {ms(r['own_p99_ms'])}"


def busy(r, span=None):
    """CPU time of the server, of wrk and of everything else on the machine,
    each over the wall time (cores busy); server and wrk over span if given
    (the cold run, where both idle once the list is done)."""
    w = r["wall_s"]
    machine = r["machine_busy_ticks"] / r["machine_all_ticks"] * (os.cpu_count() or 1) * w
    other = max(machine - r["server_cpu_s"] - r["wrk_cpu_s"], 0) / w
    s = span or w
    return f"{r['server_cpu_s'] / s:.2f} / {r['wrk_cpu_s'] / s:.2f} / {other:.2f}"


def cpu_per_req(r):
    """CPU µs the server spent per request: less sensitive to other load on
    the machine than req/s."""
    return f"{r['server_cpu_s'] / max(r['requests'], 1) * 1e6:.1f}"


def ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def mib(kb):
    return f"{kb / MIB:.1f}"


def errors(r):
    e = sum(r[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    return f"{int(r['err_status'])} / {int(e)}"


def tile_bytes(out):
    sizes = []
    for d, _, files in os.walk(os.path.join(out, "www")):
        sizes += [os.path.getsize(os.path.join(d, f)) for f in files]
    return len(sizes), sum(sizes) / max(len(sizes), 1)


def main():
    if sys.argv[1] == "--log":
        print(log_slice(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        return
    out = sys.argv[1]
    runs = load(out)
    by = {r["name"]: r for r in runs}
    p = print

    n, mean = tile_bytes(out)
    p(f"Cached tiles: {n} tiles (z14-z17, investor), mean {mean / 1000:.1f} kB, the same bytes"
      " from both servers; 64 connections, nginx and zsmap in turn.")
    p()
    p("| run | server | req/s | MB/s | bytes/req | p50 ms | p99 ms | max ms | non-2xx / socket errors "
      "| zsmap's own p50 / p99 ms | server CPU µs/req | cores busy: server / wrk / other "
      "| zsmap statuses (/metrics) |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in runs:
        if r["name"].startswith(("cached-", "304-")):
            p(f"| {r['name']} | {r['server']} | {r['rps']:,.0f} | {r['bytes'] / r['duration_s'] / 1e6:,.1f} "
              f"| {r['bytes_per_req']:,.0f} | {ms(r['lat_p50_ms'])} | {ms(r['lat_p99_ms'])} "
              f"| {ms(r['lat_max_ms'])} | {errors(r)} | {server_latency(r)} | {cpu_per_req(r)} | {busy(r)} "
              f"| {statuses(delta(out, r['name'])) if r['server'] == 'zsmap' else ''} |")
    p()
    ratios = []
    rnd = 0
    while f"cached-zsmap-{rnd + 1}" in by:
        rnd += 1
        z, g = by.get(f"cached-zsmap-{rnd}"), by.get(f"cached-nginx-{rnd}")
        if g:
            ratios.append(f"round {rnd} **{z['rps'] / g['rps']:.2f}x**")
    zs = [by[k]["rps"] for k in by if k.startswith("cached-zsmap-")]
    ng = [by[k]["rps"] for k in by if k.startswith("cached-nginx-")]
    if zs and ng:
        ratios.append(f"all rounds {sum(zs) / sum(ng):.2f}x")
    if "304-zsmap" in by and "304-nginx" in by:
        ratios.append(f"304s **{by['304-zsmap']['rps'] / by['304-nginx']['rps']:.2f}x**")
    p("zsmap / nginx req/s: " + "; ".join(ratios) + ".")
    p()

    p("API at 64 connections (wrk's latency: from sending a request to its whole response):")
    p()
    p("| route | paths cycled | req/s | p50 ms | p90 ms | p99 ms | max ms | bytes/req "
      "| non-2xx / socket errors | zsmap's own p50 / p99 ms | server CPU µs/req "
      "| cores busy: server / wrk / other | p99 < 2 ms |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    names = {"api-profile": ("`/api/carriers/{id}`", "ids.paths"),
             "api-search": ("`/api/carriers?…` (search)", "search.paths"),
             "api-at": ("`/api/at?lon&lat&zoom` (z15-z17)", "at.paths")}
    for k, (label, f) in names.items():
        if k not in by:
            continue
        r = by[k]
        with open(os.path.join(out, "api", f)) as fh:
            cycled = sum(1 for _ in fh)
        p(f"| {label} | {cycled} | {r['rps']:,.0f} | {ms(r['lat_p50_ms'])} | {ms(r['lat_p90_ms'])} "
          f"| {ms(r['lat_p99_ms'])} | {ms(r['lat_max_ms'])} | {r['bytes_per_req']:,.0f} | {errors(r)} "
          f"| {server_latency(r)} | {cpu_per_req(r)} | {busy(r)} | {'yes' if r['lat_p99_ms'] < 2 else '**no**'} |")
    p()

    if "cold" in by:
        r = by["cold"]
        d = delta(out, "cold")
        renders = d.get("zsmap_render_seconds_count", 0)
        render_ms = d.get("zsmap_render_seconds_sum", 0) / renders * 1e3 if renders else 0
        p(f"Cold tiles: a new zsmap process, {int(r['listed']):,} tiles (every z15-z17 tile of the "
          f"district), each requested once, {int(r['conns'])} connections:")
        p()
        p("| tiles answered 200 | failed | time s | tiles/s | p50 ms | p99 ms | max ms "
          "| zsmap's own p50 / p99 ms | renders (mean ms, server) | 503 busy "
          "| cores busy: server / wrk / other | zsmap statuses |")
        p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        p(f"| {int(r['tiles_ok']):,} | {int(r['tiles_failed'])} | {r['span_s']:.2f} "
          f"| **{r['tiles_per_s']:,.0f}** | {ms(r['lat_p50_ms'])} | {ms(r['lat_p99_ms'])} "
          f"| {ms(r['lat_max_ms'])} | {server_latency(r)} | {int(renders):,} ({render_ms:.2f}) "
          f"| {int(d.get('zsmap_render_busy_total', 0))} | {busy(r, r['span_s'])} | {statuses(d)} |")
        p()
        p("(Server and wrk cores busy over the time above; other over the whole wrk run, which "
          "lasts --duration even when the list ends sooner.)")
        p()

    p("Memory (MiB; nginx: master and workers summed). RSS before the run, highest sampled every "
      "0.2 s during it, after it; VmHWM (peak RSS of the process so far) after it:")
    p()
    p("| run | server | RSS before | RSS max | RSS after | HWM after |")
    p("|---|---|---:|---:|---:|---:|")
    for r in runs:
        p(f"| {r['name']} | {r['server']} | {mib(r['rss_before_kb'])} | {mib(r['rss_max_kb'])} "
          f"| {mib(r['rss_after_kb'])} | {mib(r['hwm_after_kb'])} |")


if __name__ == "__main__":
    main()
