# Sourced, not run: llama.cpp (the local game master, built into the server) is compiled for the
# vector units of the CPU it is built on, the one it runs on (the set-up builds where it runs).
# Without these it would use none of them and generate several times slower. Every script that
# builds the server sources this, so they all build llama.cpp the same way (a change would
# rebuild it).
for f in avx avx2 fma f16c bmi2; do
  if grep -qw "$f" /proc/cpuinfo 2>/dev/null; then export "GGML_${f^^}=ON"; fi
done
