#!/bin/bash
# The render benchmark in one command (README.md in this folder): builds,
# creates the demo at scale 1 and 10, runs bench_render on both (1 thread and
# all cores), bench_snapshot_load on both, Mapnik and MapServer on both,
# saves sample tiles of all three side by side, and prints the tables.
#
#   tests/bench/run-render.sh [--out DIR] [--runs R] [--profile]
#
# --out DIR   keep everything there (default: a new folder under /tmp); demo
#             stores already in DIR are reused
# --runs R    passes per measurement, the median is reported (default 3)
# --profile   also profile bench_render on scale 1, 1 thread: `perf record`
#             of one pass, callgrind of the first 100 tiles, and the cost of
#             each style layer (layer_costs.py)
# Environment: BUILD (build folder, default build), PYTHON (default
# /usr/bin/python3, which has Debian's python3-mapnik and python3-mapscript).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/tests/bench"
BUILD=${BUILD:-$ROOT/build}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=""
RUNS=3
PROFILE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-render.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/zsmap-render-bench.XXXXXX)
mkdir -p "$OUT"
TILES="$BENCH/tiles.txt"
STYLE="$ROOT/styles/investor.json"
start=$(date +%s)
step() { printf '\n== %s (%ds, load average %s)\n' "$*" $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)"; }

for mod in mapnik mapscript; do
    if ! "$PYTHON" -c "import $mod" 2>/dev/null; then
        echo "run-render.sh: $PYTHON lacks $mod: apt-get install -y python3-mapnik mapserver-bin python3-mapscript" >&2
        exit 1
    fi
done

step "build"
[ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT"
ninja -C "$BUILD" server/zsmap tests/bench/bench_render tests/bench/bench_snapshot_load
ZSMAP="$BUILD/server/zsmap"

step "demo stores in $OUT"
for scale in 1 10; do
    db="$OUT/demo$scale.sqlite"
    if [ -f "$db" ]; then
        echo "reusing $db"
    else
        "$ZSMAP" demo --db "$db" --scale "$scale" | tail -n 1
    fi
done

for scale in 1 10; do
    step "bench_snapshot_load, scale $scale"
    "$BUILD/tests/bench/bench_snapshot_load" "$OUT/demo$scale.sqlite" 5 | tee "$OUT/snapshot$scale.txt"
done

for scale in 1 10; do
    step "bench_render, scale $scale, 1 thread and $(nproc) threads, $RUNS runs"
    "$BUILD/tests/bench/bench_render" "$OUT/demo$scale.sqlite" "$STYLE" "$TILES" --runs "$RUNS" |
        tee "$OUT/zsmap$scale.txt"
done

for scale in 1 10; do
    step "Mapnik, scale $scale, $RUNS runs"
    "$PYTHON" "$BENCH/peers/mapnik_bench.py" "$OUT/demo$scale.sqlite" "$TILES" --style "$STYLE" \
        --runs "$RUNS" | tee "$OUT/mapnik$scale.txt"
    step "MapServer, scale $scale, $RUNS runs"
    "$PYTHON" "$BENCH/peers/mapserver_bench.py" "$OUT/demo$scale.sqlite" "$TILES" --style "$STYLE" \
        --runs "$RUNS" | tee "$OUT/mapserver$scale.txt"
done

step "sample tiles side by side: $OUT/samples/side_by_side.png (zsmap | Mapnik | MapServer)"
cat >"$OUT/samples.txt" <<'EOF'
12/3381/1632
14/13525/6530
16/54101/26120
17/108211/52232
18/216408/104502
EOF
mkdir -p "$OUT/samples/zsmap" "$OUT/samples/mapnik" "$OUT/samples/mapserver"
"$BUILD/tests/bench/bench_render" "$OUT/demo1.sqlite" "$STYLE" "$OUT/samples.txt" --save "$OUT/samples/zsmap"
"$PYTHON" "$BENCH/peers/mapnik_bench.py" "$OUT/demo1.sqlite" "$OUT/samples.txt" --style "$STYLE" --save "$OUT/samples/mapnik"
"$PYTHON" "$BENCH/peers/mapserver_bench.py" "$OUT/demo1.sqlite" "$OUT/samples.txt" --style "$STYLE" --save "$OUT/samples/mapserver"
"$PYTHON" "$BENCH/peers/side_by_side.py" "$OUT/samples/side_by_side.png" "$OUT/samples.txt" \
    "$OUT/samples/zsmap" "$OUT/samples/mapnik" "$OUT/samples/mapserver"

if [ "$PROFILE" = 1 ]; then
    set +e +o pipefail # best effort: an empty grep or a short read ends nothing
    step "perf profile: bench_render, scale 1, 1 thread, 1 pass ($OUT/perf-*.txt)"
    perf record -F 3000 --call-graph dwarf,12288 -o "$OUT/perf.data" -- \
        "$BUILD/tests/bench/bench_render" "$OUT/demo1.sqlite" "$STYLE" "$TILES" --runs 1 --threads 1 \
        >"$OUT/perf-run.txt" 2>"$OUT/perf-record.txt"
    # the rendering thread only (the main thread loads the snapshot): "--sort
    # pid" lists threads by share, the main thread has the lowest id; its
    # lines are picked out of "--sort pid,..." reports (perf's --tid filter
    # drops the libraries both threads used) and put as % of that thread
    threads=$(perf report -i "$OUT/perf.data" --no-children --sort pid --stdio -q -g none 2>/dev/null)
    main=$(echo "$threads" | sed -n 's/^ *[0-9.]*% *\([0-9]*\):.*/\1/p' | sort -n | sed -n 1p)
    tid=$(echo "$threads" | sed -n 's/^ *[0-9.]*% *\([0-9]*\):.*/\1/p' | grep -vx "$main" | sed -n 1p)
    share=$(echo "$threads" | awk -v t="$tid:" '$2 ~ "^" t {sub("%", "", $1); print $1}')
    thread_report() {
        perf report -i "$OUT/perf.data" --stdio -q -g none "$@" 2>/dev/null |
            awk -v t="$tid:" -v s="$share" '{
                for (i = 1; i <= NF; i++) if ($i ~ "^" t) break
                if (i > NF) next
                line = ""
                for (k = 1; k < i; k++) { v = $k; sub("%", "", v); line = line sprintf("%6.1f%% ", 100 * v / s) }
                for (k = i + 1; k <= NF; k++) line = line " " $k
                print line }' | grep -v -E ' 0x(0000|ffff)'
    }
    echo "-- self time by library (% of the render thread, $share% of all samples)"
    thread_report --no-children --sort pid,dso --percent-limit 0.2 | tee "$OUT/perf-dso.txt"
    echo "-- self time by function (stripped library internals left out)"
    thread_report --no-children --sort pid,dso,sym --percent-limit 0.3 | tee "$OUT/perf-self.txt" | sed -n 1,25p
    echo "-- inclusive (children) and self time by function"
    thread_report --children --sort pid,sym --percent-limit 2 | tee "$OUT/perf-children.txt" | sed -n 1,40p

    step "callgrind: bench_render on the first 100 tiles, scale 1 ($OUT/callgrind.out)"
    head -n 100 "$TILES" >"$OUT/tiles100.txt"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" --toggle-collect=render_tile \
        "$BUILD/tests/bench/bench_render" "$OUT/demo1.sqlite" "$STYLE" "$OUT/tiles100.txt" \
        --runs 1 --threads 1 >"$OUT/callgrind-run.txt" 2>&1
    callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
        grep -E '^ *[0-9,]+ \( *[0-9.]+%\) .*(bench_render\]|cairo_[a-z_]+ \[|pixman_image_composite32|deflate \[|pango_layout_get_extents \[|FT_Load_Glyph)' |
        sed -n 1,30p | tee "$OUT/callgrind-inclusive.txt"
    echo "-- self (stripped library functions show as their address)"
    callgrind_annotate --inclusive=no "$OUT/callgrind.out" 2>/dev/null |
        grep -E '^ *[0-9,]+ \( *[0-9.]+%\) ' | grep -v 'PROGRAM TOTALS' | sed -n 1,15p |
        tee "$OUT/callgrind-self.txt"
    echo "-- calls"
    callgrind_annotate --tree=calling --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
        grep -E '^ +[0-9,]+ .*> .*(cairo_fill|cairo_stroke|cairo_fill_preserve|cairo_show_glyphs|text_shape|text_draw|pixman_image_composite32) ' |
        sort -u | tee "$OUT/callgrind-calls.txt"

    step "cost per style layer, scale 1 ($OUT/layers.md)"
    "$PYTHON" "$BENCH/layer_costs.py" "$BUILD/tests/bench/bench_render" "$OUT/demo1.sqlite" \
        --style "$STYLE" --tiles "$TILES" --runs "$RUNS" 2>/dev/null | tee "$OUT/layers.md"
    set -e -o pipefail
fi

step "results (also in $OUT/table.md)"
"$PYTHON" "$BENCH/render_table.py" "scale 1=$OUT/zsmap1.txt" "scale 1=$OUT/mapnik1.txt" \
    "scale 1=$OUT/mapserver1.txt" "scale 10=$OUT/zsmap10.txt" "scale 10=$OUT/mapnik10.txt" \
    "scale 10=$OUT/mapserver10.txt" | tee "$OUT/table.md"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p); $(. /etc/os-release && echo "$PRETTY_NAME"); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "total $(($(date +%s) - start)) s; files in $OUT"
