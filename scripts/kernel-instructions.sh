#!/usr/bin/env bash
# Counts the fused epilogue kernel's instructions per output, from the SASS
# that nvcc makes for sm_90, on a machine without a GPU: a cost model for
# kernel work between GPU sessions (the kernel was issue-bound on the H100),
# not a measurement of time.
#
#   scripts/kernel-instructions.sh [REV] [CACHE_DIR]
#
# REV: the git revision whose kernel to count (default: the working tree).
# CACHE_DIR: where scripts/cuda-syntax-check.sh unpacked nvcc (default
# .cuda-headers/; run that script once first).
#
# The kernel's runtime options are fixed as in a decoder layer (concatenated
# noise, activation, the next layer's scaling, no separate unscaled output,
# blur padding 1; the to_rgb fold's rows, where the kernel has them, as at
# GPEN's 256 and 128 levels) by assumptions inserted into a copy of the source, so the
# compiler drops the branches such a layer does not take; where the kernel
# has a path for blocks inside the image, only that path is kept (edge blocks
# are a few percent of a 256x256 or larger image). Instructions counted are
# those of the whole kernel so specialised, divided by the outputs (of 8
# channels) a thread makes; the loop and setup instructions are included.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/nvcc-host.sh"
rev=${1:-}
cache=$(realpath -m "${2:-$root/.cuda-headers}")
nvcc=$cache/usr/lib/nvidia-cuda-toolkit/bin/nvcc
cuobjdump=$cache/usr/bin/cuobjdump
[ -x "$nvcc" ] || { echo "no nvcc in $cache: run scripts/cuda-syntax-check.sh first"; exit 1; }
host=$(nvcc_host_compiler) || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cd "$root"
if [ -n "$rev" ]; then
  for file in $(git ls-tree -r --name-only "$rev" src/ | grep -E '\.(h|cuh|cu)$'); do
    mkdir -p "$work/$(dirname "$file")"
    git show "$rev:$file" > "$work/$file"
  done
else
  (cd src && find . -name '*.h' -o -name '*.cuh' -o -name '*.cu') | while read -r file; do
    mkdir -p "$work/src/$(dirname "$file")"
    cp "src/$file" "$work/src/$file"
  done
fi

python3 - "$work/src" << 'EOF'
import pathlib, re, sys
src = pathlib.Path(sys.argv[1])
head = re.compile(r"fused_epilogue_kernel\(EpilogueKernelArgs a\) \{\n")
fixed = ("  a.concat = true; a.activate = true; a.out_plain = nullptr; a.blur_pad = 1;\n"
         "  __builtin_assume(a.features != nullptr); __builtin_assume(a.next_scale != nullptr);\n"
         "  __builtin_assume(a.out_scale != nullptr);\n")
done = False
for path in list(src.rglob("*.cuh")) + list(src.rglob("*.cu")):
    text = path.read_text()
    match = head.search(text)
    if not match:
        continue
    text = text[:match.end()] + fixed + text[match.end():]
    # Blocks inside the image only, where the kernel tells them apart.
    text = re.sub(r"if \(x0 >= pad[^\n]*\n\s*(blur_block<T, V, R, X, false>[^\n]*)\n\s*else\n[^\n]*\n",
                  r"(void)pad; \1\n", text)
    path.write_text(text)
    done = True
if not done:
    sys.exit("fused_epilogue_kernel(EpilogueKernelArgs a) not found")
EOF

# Before the layout in folders the kernels were in src/ itself.
cu=$work/src/cuda/fused_epilogue_kernel.cu
[ -f "$cu" ] || cu=$work/src/cuda/fused_epilogue_kernel.cu
"$nvcc" -ccbin "$host" -std=c++17 -O3 -arch=sm_90 -cubin -I"$work/src" -o "$work/kernel.cubin" "$cu"
"$cuobjdump" -sass "$work/kernel.cubin" > "$work/kernel.sass"
python3 - "$work/kernel.sass" << 'EOF'
import re, sys
sass = open(sys.argv[1]).read()
rows = []
for function in re.split(r"\n\s*Function : ", sass)[1:]:
    name = function.split("\n", 1)[0]
    # fused_epilogue_kernel<T, V, R[, X], blur[, to_rgb]>
    m = re.search(r"kernelI(6__half|13__nv_bfloat16|f)Li(\d+)ELi(\d+)E(?:Li(\d+)E)?Lb([01])E(?:Lb([01])E)?",
                  name)
    if not m:
        continue
    count = len(re.findall(r"/\*[0-9a-f]{4,}\*/\s+\S", function))
    rows.append(({"6__half": "fp16", "13__nv_bfloat16": "bf16", "f": "fp32"}[m.group(1)],
                 int(m.group(2)), int(m.group(3)), int(m.group(4) or 1), m.group(5) == "1",
                 m.group(6) == "1", count))
yes = lambda b: "yes" if b else "no"
print("| type | channels a packet | rows x columns | blur | to_rgb | instructions | per output |")
print("|---|---:|---|---|---|---:|---:|")
for t, v, r, x, blur, rgb, count in sorted(rows):
    print(f"| {t} | {v} | {r}x{x} | {yes(blur)} | {yes(rgb)} | {count} | {count / (r * x):.0f} |")
EOF
