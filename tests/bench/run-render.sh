#!/bin/bash
# The render benchmark in one command (README.md in this folder): builds,
# creates the demo at scale 1 and 10, runs bench_render on both (1 thread and
# all cores), bench_snapshot_load on both, Mapnik and MapServer on scale 1,
# saves sample tiles of all three side by side, and prints the tables.
#
#   tests/bench/run-render.sh [--out DIR] [--runs R] [--profile]
#
# --out DIR   keep everything there (default: a new folder under /tmp); demo
#             stores already in DIR are reused
# --runs R    passes per measurement, the median is reported (default 3)
# --profile   also `perf record` one 1-thread pass of bench_render on scale 1
#             and print the top of `perf report`
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
step() { printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - start)); }

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

step "Mapnik, scale 1, $RUNS runs"
"$PYTHON" "$BENCH/peers/mapnik_bench.py" "$OUT/demo1.sqlite" "$TILES" --style "$STYLE" --runs "$RUNS" |
    tee "$OUT/mapnik1.txt"
step "MapServer, scale 1, $RUNS runs"
"$PYTHON" "$BENCH/peers/mapserver_bench.py" "$OUT/demo1.sqlite" "$TILES" --style "$STYLE" --runs "$RUNS" |
    tee "$OUT/mapserver1.txt"

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
    step "perf profile: bench_render, scale 1, 1 thread, 1 pass"
    perf record -F 2000 --call-graph dwarf,16384 -o "$OUT/perf.data" -- \
        "$BUILD/tests/bench/bench_render" "$OUT/demo1.sqlite" "$STYLE" "$TILES" --runs 1 --threads 1 \
        >"$OUT/perf-run.txt" 2>"$OUT/perf-record.txt"
    # the rendering thread only (the main thread loads the snapshot)
    # ("--sort pid" lists threads by share; the main thread's id is the lowest)
    threads=$(perf report -i "$OUT/perf.data" --no-children --sort pid --stdio -q -g none 2>/dev/null |
        sed -n 's/^ *[0-9.]*% *\([0-9]*\):.*/\1/p')
    main=$(echo "$threads" | sort -n | head -n 1)
    tid=$(echo "$threads" | grep -vx "$main" | head -n 1)
    perf report -i "$OUT/perf.data" --tid "$tid" --no-children --sort dso,sym --stdio -q -g none \
        --percent-limit 0.7 2>/dev/null | tee "$OUT/perf-self.txt" | head -n 30
    perf report -i "$OUT/perf.data" --tid "$tid" --children --sort sym --stdio -q -g none \
        --percent-limit 3 2>/dev/null | tee "$OUT/perf-children.txt" | head -n 40
fi

step "results (also in $OUT/table.md)"
"$PYTHON" "$BENCH/render_table.py" "scale 1=$OUT/zsmap1.txt" "scale 10=$OUT/zsmap10.txt" \
    "scale 1=$OUT/mapnik1.txt" "scale 1=$OUT/mapserver1.txt" | tee "$OUT/table.md"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(. /etc/os-release && echo "$PRETTY_NAME"); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "total $(($(date +%s) - start)) s; files in $OUT"
