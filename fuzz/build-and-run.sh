#!/usr/bin/env bash
# Builds the libFuzzer targets of the checkpoint reader with clang and
# -fsanitize=fuzzer,address,undefined, then fuzzes each for SECONDS (one
# process). LibTorch itself is not instrumented; our reader is.
#
#   fuzz/build-and-run.sh [SECONDS] [TARGET...]   # default: 60 s, checkpoint pickle
#   FUZZ_MAX_LEN=65536 fuzz/build-and-run.sh 120 checkpoint  # small inputs only, faster
#
# Targets: checkpoint (load_checkpoint_from_memory: zip and legacy files) and
# pickle (the restricted unpickler alone). Seeds: fuzz/seeds/<target>/, the
# fixtures in tests/data (checkpoint only) and tests/data/fuzz-regressions.
# The growing corpus lives in build-fuzz/corpus/<target>/ and is reused by the
# next run; a crashing input is written to build-fuzz/artifacts/. Keep each as
# tests/data/fuzz-regressions/<name> once the reader is fixed: test_checkpoint
# loads every file there and expects a clean CheckpointError.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(checkpoint pickle)

CXX=${CXX_FUZZ:-clang++}
out=build-fuzz
mkdir -p "$out/obj" "$out/artifacts"

flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Wall -Wextra
       -Isrc -isystem /usr/include/torch/csrc/api/include)
libs=(-Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
reader=(checkpoint zip_archive pickle_reader)

# Compiles $1 into $2 when the object is older than the source or a header.
compile() {
  local src=$1 obj=$2
  if [ ! -f "$obj" ] || [ -n "$(find "$src" src -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)" ] ||
     [ "$0" -nt "$obj" ]; then
    echo "fuzz: compiling $src"
    "$CXX" "${flags[@]}" -c "$src" -o "$obj"
  fi
}

objects=()
for name in "${reader[@]}"; do
  compile "src/checkpoint/$name.cpp" "$out/obj/$name.o"
  objects+=("$out/obj/$name.o")
done

status=0
for target in "${targets[@]}"; do
  [ -f "fuzz/fuzz_$target.cpp" ] || { echo "fuzz: no target '$target'"; exit 2; }
  compile "fuzz/fuzz_$target.cpp" "$out/obj/fuzz_$target.o"
  "$CXX" "${flags[@]}" "$out/obj/fuzz_$target.o" "${objects[@]}" -o "$out/fuzz_$target" "${libs[@]}"

  corpus=$out/corpus/$target
  seeds=("fuzz/seeds/$target" tests/data/fuzz-regressions)
  max_len=${FUZZ_MAX_LEN:-65536}
  if [ "$target" = checkpoint ] && [ -z "${FUZZ_MAX_LEN:-}" ]; then
    # The real checkpoints (up to 4.5 MB) bring their structure, at the cost
    # of ~40x fewer runs a second. FUZZ_MAX_LEN=65536 leaves them out and
    # fuzzes the small seeds only, in a corpus of its own.
    seeds+=(tests/data/gpen-64/*.pth tests/data/gpen-64/*.pt tests/data/retinaface-mnet/*.pt*)
    max_len=5000000
  elif [ "$target" = checkpoint ]; then
    corpus=$corpus-small
  fi
  mkdir -p "$corpus"
  # libFuzzer takes folders of inputs: link the seeds into one per run.
  rm -rf "$out/seeds/$target"
  mkdir -p "$out/seeds/$target"
  for seed in "${seeds[@]}"; do
    if [ -d "$seed" ]; then
      for f in "$seed"/*; do [ -f "$f" ] && ln -sf "$PWD/$f" "$out/seeds/$target/$(basename "$(dirname "$f")")-$(basename "$f")"; done
    elif [ -f "$seed" ]; then
      ln -sf "$PWD/$seed" "$out/seeds/$target/fixture-$(basename "$seed")"
    fi
  done

  echo "fuzz: $target for $seconds s"
  # -malloc_limit_mb makes any single allocation over 256 MB a finding: the
  # reader must refuse what the file cannot back before allocating it.
  log=$out/$target.log
  set +e
  # intercept_tls_get_addr=0: see docs/reliability.md, Sanitizers (clang 14's
  # runtime has the same misreading of dynamic TLS as GCC 12's).
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:intercept_tls_get_addr=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$out/fuzz_$target" "$corpus" "$out/seeds/$target" \
    -dict=fuzz/checkpoint.dict -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=256 \
    -artifact_prefix="$out/artifacts/$target-" -print_final_stats=1 2>&1 | tee "$log" |
    grep -E '^(#[0-9]+.*(INITED|DONE|pulse)|==[0-9]+==|SUMMARY|stat::|Done )' || true
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $target FOUND A PROBLEM (exit $rc); see $log and $out/artifacts/"
    status=1
  fi
  echo "fuzz: $target corpus: $(find "$corpus" -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
done
exit $status
