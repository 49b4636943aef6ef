#!/bin/bash
# usage: runclean.sh OUTFILE cmd...
# Runs a bench only when the machine is idle, and checks that other processes used
# < 0.15 CPU-s per wall-s during the run (total busy jiffies from /proc/stat minus the
# bench's own user+sys from /usr/bin/time); retries otherwise.
out=$1; shift
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }   # user nice system irq softirq (jiffies)
for try in $(seq 1 20); do
  # wait for 3 s of >= 90% idle
  while true; do b0=$(busy); sleep 3; b1=$(busy); d=$((b1-b0)); [ $d -lt 60 ] && break; done
  b0=$(busy); t0=$(date +%s.%N)
  /usr/bin/time -v "$@" > "$out" 2>&1
  b1=$(busy); t1=$(date +%s.%N)
  own=$(awk -F': ' '/User time|System time/{s+=$2} END{print s}' "$out")
  foreign=$(echo "$b0 $b1 $t0 $t1 $own" | awk '{tot=($2-$1)/100; w=$4-$3; printf "%.2f %.2f %.2f", tot-$5, w, (tot-$5)/w}')
  rate=$(echo $foreign | awk '{print $3}')
  if awk "BEGIN{exit !($rate < 0.15)}"; then echo "clean run (try $try): foreign cpu-s, wall-s, rate = $foreign" >> "$out"; exit 0; fi
  echo "contaminated try $try ($foreign), retrying" >&2
done
echo "NO CLEAN RUN" >> "$out"
