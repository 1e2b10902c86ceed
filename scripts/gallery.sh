#!/usr/bin/env bash
# Regenerate the figure gallery (docs/gallery/*.png, shown in docs/gallery.md) from the presets in
# examples/ and the sample files in examples/data.
#
#   scripts/gallery.sh                 # writes docs/gallery/
#   scripts/gallery.sh /tmp/gallery    # writes elsewhere (the test suite does this)
#
# Uses $SPINPATH if set, else `spinpath` on PATH, else builds it with cargo (release).
# Every command below is the one docs/gallery.md quotes for its figure; runs take ~1 minute in all on
# a 2-core machine, the fit and the scan being the longest.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$(mkdir -p "${1:-$ROOT/docs/gallery}" && cd "${1:-$ROOT/docs/gallery}" && pwd)"
if [[ -n "${SPINPATH:-}" ]]; then
    BIN="$SPINPATH"
elif command -v spinpath >/dev/null 2>&1; then
    BIN="$(command -v spinpath)"
else
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p spinpath-cli
    BIN="$ROOT/target/release/spinpath"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Work on a copy of examples/ so that the repository's out/ stays untouched.
cp -r "$ROOT/examples" "$WORK/examples"
cd "$WORK"
run() { "$BIN" "$@" >/dev/null 2>&1 || { echo "failed: spinpath $*" >&2; "$BIN" "$@" >/dev/null; }; }
take() { cp "$1" "$DEST/$2"; echo "  $2"; }

echo "gallery → $DEST"
run run examples/spin-engine.toml -o out/spin-engine
take out/spin-engine/iv.png spin-engine-iv.png
take out/spin-engine/transmission.png spin-engine-transmission.png
run run examples/iv-sweeps.toml -o out/iv-sweeps
take out/iv-sweeps/iv.png iv-sweeps.png
run run examples/ih-loop.toml -o out/ih-loop
take out/ih-loop/ih.png ih-loop.png
run run examples/memristive-cb.toml -o out/memristive-cb
take out/memristive-cb/didv.png memristive-cb-didv.png
run run examples/memristive-cb-cotunneling.toml -o out/memristive-cb-cotunneling
take out/memristive-cb-cotunneling/didv.png memristive-cb-cotunneling-didv.png
run run examples/double-dot.toml -o out/double-dot
take out/double-dot/didv.png double-dot-didv.png
run run examples/current-statistics.toml -o out/current-statistics
take out/current-statistics/histogram_statistics_P.png current-statistics-P.png
run run examples/write-read.toml -o out/write-read
take out/write-read/write_read.png write-read.png
run fit examples/fit-spin-engine.toml -o out/fit-spin-engine
take out/fit-spin-engine/fit.png fit-spin-engine.png
run analyze tmr examples/data/iv_sweep_P_295K.csv examples/data/iv_sweep_AP_295K.dat -o out/analyze-tmr
take out/analyze-tmr/tmr.png analyze-tmr.png
run analyze ih examples/data/ih_loop_1mV.tsv -o out/analyze-ih
take out/analyze-ih/ih.png analyze-ih.png
run analyze power examples/data/iv_sweep_P_295K.csv -o out/analyze-power
take out/analyze-power/power.png analyze-power.png
run scan examples/spin-engine.toml --param spin_accumulation_meV=0:12:7 -o out/scan-sp
take out/scan-sp/scan.png scan-spin-accumulation.png
echo "done: $(ls "$DEST"/*.png | wc -l) figures"
