#!/usr/bin/env bash
# Runs every fuzz target for SECS seconds (default 60) on a stable toolchain, one after the other,
# and prints the executions per target. This is what `cargo xtask fuzz-smoke [secs]` runs; it is
# not part of the required CI. See docs/RELIABILITY.md.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). `--sanitizer none` is what makes it work
# on stable: cargo-fuzz then passes only stable flags (-Cpasses=sancov-module, -Cllvm-args=...,
# --cfg fuzzing). The library crates are all `forbid(unsafe_code)`, so AddressSanitizer would add little.
#
# Usage: fuzz/smoke.sh [SECS] [TARGET...]
# Exit status: 0 when no target failed; 1 and the failing input's path otherwise; 2 when
# cargo-fuzz is missing.
set -euo pipefail

secs="${1:-60}"
shift || true
cd "$(dirname "$0")"
root="$(cd .. && pwd)"
all_targets=(parse_slice stream_reader stream_vs_slice roundtrip resync
    seek_table track_list chain_plan mux_roundtrip demux salvage dsp_decode wav)
# Targets fed raw container bytes start from the fixtures. seek_table, track_list and chain_plan
# start from the seeds `cargo xtask fuzz-smoke` takes from the fixtures, dsp_decode from the
# streams it encodes and wav from the WAV files it writes (corpus/<t>/seeds/, committed; libFuzzer reads corpus/<t>/ recursively);
# roundtrip and mux_roundtrip from nothing.
byte_targets=" parse_slice stream_reader stream_vs_slice resync demux salvage "
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

echo "+ cargo fuzz build --sanitizer none" >&2
cargo fuzz build --sanitizer none

failed=0
summary=""
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t/regressions" "artifacts/$t"
    if [[ "$byte_targets" == *" $t "* ]]; then
        for f in "$root"/fixtures/reference/*.h4mk "$root"/fixtures/valid/*.h4mk; do
            [ -f "$f" ] && cp -n "$f" "corpus/$t/" || true
        done
    fi
    log="artifacts/$t/smoke.log"
    cmd=(cargo fuzz run --sanitizer none "$t" "corpus/$t" "corpus/$t/regressions" --
        "-max_total_time=$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1)
    echo "+ ${cmd[*]}" >&2
    if "${cmd[@]}" >"$log" 2>&1; then status=ok; else status=FAILED; failed=1; fi
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)"
    summary+="$(printf '%-16s %-7s %12s executions in %ss' "$t" "$status" "${runs:-?}" "$secs")"$'\n'
    if [ "$status" = FAILED ]; then
        grep -E 'panicked|Test unit written|SUMMARY' "$log" >&2 || tail -20 "$log" >&2
        echo "reproduce: cargo fuzz run --sanitizer none $t <artifact>; then move the input to fuzz/corpus/$t/regressions/ and fix" >&2
    fi
done
printf '%s' "$summary"
exit "$failed"
