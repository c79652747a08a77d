#!/usr/bin/env bash
# Runs unit tests and element tests of build/ under valgrind's memcheck
# (--leak-check=full) and reports the definite leaks, telling those whose
# stack passes through our code (src/, gst/, tests/, gpen:: or gst_gpen
# symbols) from the rest (GLib, GStreamer, LibTorch, OpenCV start-up).
# Exit status 1 when one of ours leaks or memcheck finds an error.
#
#   scripts/valgrind.sh                 # the default selection below
#   scripts/valgrind.sh unit:checkpoint_hostile element:test_flush_discards_held_frames
#
# Slow: LibTorch under memcheck runs 20-50x slower. Logs: build/valgrind/.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind: apt-get install valgrind"; exit 2; }

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(
  unit:checkpoint_hostile
  unit:core_misc
  element:test_order_and_timestamps_after_eos
  element:test_flush_discards_held_frames
  element:test_paused_to_ready_releases_held_frames
  element:test_full_mixed_stream_keeps_order_and_timestamps
)
out=build/valgrind
mkdir -p "$out"
# GLib's slice allocator hides leaks from memcheck; gst-check forks each
# test unless told not to; the plugin scanner would run in another process.
export G_SLICE=always-malloc G_DEBUG=gc-friendly CK_FORK=no GST_REGISTRY_FORK=no
export GST_PLUGIN_PATH=$PWD/build/gst CK_DEFAULT_TIMEOUT=3000
memcheck=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
          --suppressions=tests/sanitizers/valgrind.supp
          --errors-for-leak-kinds=definite --num-callers=40 --error-exitcode=99)

status=0
for run in "${runs[@]}"; do
  kind=${run%%:*} name=${run#*:}
  log=$out/$name.log
  # (env goes before valgrind: memcheck does not follow env's exec)
  case $kind in
    unit) vars=() cmd=(build/tests/test_$name) ;;
    element) vars=(GST_CHECKS="$name" GST_REGISTRY="$out/registry-$name.bin") cmd=(build/tests/test_gpenenhance) ;;
    *) echo "valgrind: unknown run $run"; exit 2 ;;
  esac
  start=$(date +%s)
  env "${vars[@]}" "${memcheck[@]}" --log-file="$log" "${cmd[@]}" > "$out/$name.out" 2>&1
  rc=$?
  python3 - "$log" "$name" "$rc" "$(( $(date +%s) - start ))" <<'PY' || status=1
import re, sys
log, name, rc, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(log, errors="replace").read()
ours_pattern = re.compile(r"(/src/|/gst/|/tests/|gpen::|gst_gpen|stress::|checkpoint_test)")
records = re.split(r"\n==\d+== \n", text)
ours, theirs, errors = [], [], 0
for record in records:
    if "are definitely lost" in record:
        lines = [re.sub(r"^==\d+==\s*", "", l) for l in record.strip().splitlines()]
        head = next(l for l in lines if "definitely lost" in l)
        (ours if ours_pattern.search(record) else theirs).append((head, lines))
m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
errors = int(m.group(1)) if m else -1
lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
print(f"{name}: exit {rc}, {seconds} s, definitely lost {lost.group(1) if lost else 0} bytes"
      f" ({len(ours)} record(s) through our code, {len(theirs)} elsewhere), {errors} memcheck errors")
for head, lines in ours:
    print("  OURS: " + head)
    for l in lines[1:12]:
        print("        " + l)
for head, lines in theirs:
    frames = [l for l in lines[1:] if l.startswith(("at ", "by "))]
    print("  third-party: " + head + " | " + " <- ".join(f.split(": ", 1)[-1] for f in frames[1:4]))
leaks_only = errors - len(ours) - len(theirs)  # definite leaks count as errors
sys.exit(1 if ours or leaks_only > 0 or rc not in (0, 99) else 0)
PY
done
exit $status
