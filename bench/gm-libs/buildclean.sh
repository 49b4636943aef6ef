#!/bin/bash
# usage: buildclean.sh NAME   (clean release build of ./NAME, foreign CPU measured into build-NAME.log)
name=$1
dir=$(cd "$(dirname "$0")" && pwd)
target=${GM_BENCH_TARGET:-$HOME/.cache/dungeontalk-target/gm-bench}
# AVX2 and FMA: without them candle uses no SIMD and ggml is built without AVX2.
export RUSTFLAGS="-C target-cpu=native"
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
while true; do b0=$(busy); sleep 3; b1=$(busy); [ $((b1-b0)) -lt 60 ] && break; done
rm -rf "$target/$name"
cd "$dir/$name"
b0=$(busy); t0=$(date +%s.%N)
CARGO_TARGET_DIR="$target/$name" /usr/bin/time -v cargo build --release > "$dir/build-$name.log" 2>&1
rc=$?
b1=$(busy); t1=$(date +%s.%N)
own=$(awk -F': ' '/User time|System time/{s+=$2} END{print s}' "$dir/build-$name.log")
echo "rc=$rc; foreign cpu-s, wall-s, rate: $(echo "$b0 $b1 $t0 $t1 $own" | awk '{tot=($2-$1)/100; w=$4-$3; printf "%.1f %.1f %.2f", tot-$5, w, (tot-$5)/w}')" >> "$dir/build-$name.log"
