#!/usr/bin/env bash
# One pass on a CUDA machine: describe it, build (scripts/gpu/build.sh), run
# the whole test suite, then the benchmark. Logs go to LOG_DIR.
#
#   scripts/gpu/check.sh DEBS_DIR LOG_DIR [benchmark options...]
#
# STEPS (default "probe build test bench") picks the steps to run; "unit"
# runs the unit suite alone (CUDA tests included, seconds), for short leases;
# "aligned" whole aligned faces from host memory, one batch at a time and
# with a batch in flight (ALIGNED_OPTIONS replaces its benchmark options);
# "frames" the end-to-end figures: 1080p frames with one face each, decoding
# excluded, then included (FRAMES_OPTIONS replaces its benchmark options);
# "blocking" the network with each of the fused epilogue's blockings in
# BLOCKINGS (rows blur,plain : columns blur,plain; BLOCKING_OPTIONS replaces
# its benchmark options), the first being the default, to pick the next one;
# "fold" the network with to_rgb folded into the epilogues and without
# (GPEN_FUSED_TO_RGB=1 and 0; FOLD_OPTIONS replaces its benchmark options).
# GPEN_BUILD_DIR (default build-cuda) is the build folder, relative to the
# tree's root (scripts/gpu/rehearse.sh uses another).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
debs=${1:?usage: check.sh DEBS_DIR LOG_DIR [benchmark options]}
logs=${2:?usage: check.sh DEBS_DIR LOG_DIR [benchmark options]}
shift 2
steps=${STEPS:-probe build test bench}
mkdir -p "$logs"
cd "$root"
status=0
build=${GPEN_BUILD_DIR:-build-cuda}
deps() { scripts/gpu/with-deps.sh --build "$build" "$@"; }

has() { [[ " $steps " == *" $1 "* ]]; }

if has probe; then
  {
    grep -E '^(PRETTY_NAME|VERSION)=' /etc/os-release
    uname -r
    g++ --version | head -n 1
    ldd --version | head -n 1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
    python3 -c 'import os, torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
                "cudnn", torch.backends.cudnn.version(), "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI,
                os.path.dirname(torch.__file__))'
    for tool in pkg-config meson ninja nvcc cmake ccache; do
      printf '%s: %s\n' "$tool" "$(command -v $tool || echo none)"
    done
    nproc
  } 2>&1 | tee "$logs/probe.txt"
fi

if has build; then
  start=$SECONDS
  if scripts/gpu/build.sh "$debs" "$build" > "$logs/build.log" 2>&1; then
    echo "build: ok in $((SECONDS - start)) s"
  else
    echo "build: FAILED after $((SECONDS - start)) s"; tail -n 60 "$logs/build.log"; exit 1
  fi
fi

if has unit; then
  start=$SECONDS
  deps meson test -C "$build" --print-errorlogs --suite unit \
    > "$logs/unit.log" 2>&1 || status=1
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\] .* \([0-9]+ ms\)$' "$build"/meson-logs/testlog.txt |
    sort -u > "$logs/unit-cases.txt"
  grep -E 'FAILED|Cuda' "$logs/unit-cases.txt"
  grep -E '^(Ok|Fail|Skipped|Timeout):' "$logs/unit.log"
  echo "unit: $((SECONDS - start)) s"
fi

if has test; then
  start=$SECONDS
  deps meson test -C "$build" --print-errorlogs \
    --num-processes "$(nproc)" > "$logs/test.log" 2>&1 || status=1
  # The unit tests' own lines for the CUDA cases, then meson's summary.
  for t in "$build"/meson-logs/testlog.txt; do
    grep -E '^\[ +(OK|FAILED|SKIPPED) +\] .*(Cuda|CUDA|Precision|Batched).* \([0-9]+ ms\)$' "$t" | sort -u
    # The other cases that skipped (meson counts their programs as passed),
    # e.g. for the image formats that the PNG-only imgcodecs stand-in lacks.
    grep -E '^\[ +SKIPPED +\] [A-Za-z0-9_]+\.[A-Za-z0-9_/]+ \([0-9]+ ms\)$' "$t" |
      grep -vE '(Cuda|CUDA|Precision|Batched)' | sort -u
  done
  grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass):' "$logs/test.log"
  grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$logs/test.log"
  echo "test: $((SECONDS - start)) s"
fi

if has bench; then
  deps "$build"/benchmark/gpen-benchmark "$@" 2>&1 | tee "$logs/bench.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if has aligned; then
  read -r -a aligned_options <<< "${ALIGNED_OPTIONS:---arch gpen-512 --device cuda --precision fp16 --batches 16,32 --iterations 5 --depth 1,2 --baseline off}"
  deps "$build"/benchmark/gpen-benchmark --mode aligned \
    "${aligned_options[@]}" 2>&1 | tee "$logs/aligned.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if has blocking; then
  read -r -a blocking_options <<< "${BLOCKING_OPTIONS:---arch gpen-512 --device cuda --precision fp16 --batches 32 --iterations 5 --graphs on --baseline off}"
  for blocking in ${BLOCKINGS:-2,2:1,1 2,2:2,1 2,2:2,2 4,2:1,1 2,1:1,1}; do
    echo "== GPEN_EPILOGUE_ROWS=${blocking%:*} GPEN_EPILOGUE_COLUMNS=${blocking#*:}" | tee -a "$logs/blocking.txt"
    GPEN_EPILOGUE_ROWS=${blocking%:*} GPEN_EPILOGUE_COLUMNS=${blocking#*:} deps \
      "$build"/benchmark/gpen-benchmark "${blocking_options[@]}" 2>&1 | tee -a "$logs/blocking.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  done
fi

if has fold; then
  read -r -a fold_options <<< "${FOLD_OPTIONS:---arch gpen-512 --device cuda --precision fp16,bf16 --batches 32,64 --iterations 5 --graphs on --baseline off}"
  for fold in 1 0; do
    echo "== GPEN_FUSED_TO_RGB=$fold" | tee -a "$logs/fold.txt"
    GPEN_FUSED_TO_RGB=$fold deps "$build"/benchmark/gpen-benchmark "${fold_options[@]}" 2>&1 | tee -a "$logs/fold.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  done
fi

if has frames; then
  read -r -a frames_options <<< "${FRAMES_OPTIONS:---arch gpen-512 --device cuda --precision fp16 --batches 16 --frames 128 --baseline off}"
  frame=$logs/frame-1080p.png
  if scripts/gpu/make-frame.sh "$frame" "$build"; then
    for input in none "$frame"; do
      extra=()
      [ "$input" = none ] || extra=(--input "$input")
      deps "$build"/benchmark/gpen-benchmark --mode frames \
        "${frames_options[@]}" "${extra[@]}" 2>&1 | tee -a "$logs/frames.txt"
      [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    done
  else
    echo "frames: could not make $frame"; status=1
  fi
fi
exit $status
