"""Where a forward pass's GPU time goes, from a Chrome trace written by
`gpen-benchmark --profile DIR`: kernels grouped by the ATen operator that
launched them and by kernel name, the busy time and the span (idle gaps show
up as span minus busy). A development aid, not part of the build.

    python3 scripts/gpu/trace_summary.py TRACE.json [--top 25]
"""
import argparse
import collections
import json

p = argparse.ArgumentParser()
p.add_argument("trace")
p.add_argument("--top", type=int, default=25)
a = p.parse_args()

with open(a.trace) as f:
    events = json.load(f)["traceEvents"]

kernels = [e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
ops = {}
# The innermost operator that launched each kernel: cpu ops and kernels share
# an "External id"; an op nested in another launches under its own id.
for e in events:
    if e.get("cat") == "cpu_op" and "External id" in e.get("args", {}):
        ops[e["args"]["External id"]] = e["name"]

busy = sum(k["dur"] for k in kernels)
start = min(k["ts"] for k in kernels)
end = max(k["ts"] + k["dur"] for k in kernels)
print(f"# {a.trace}: {len(kernels)} kernels, busy {busy / 1000:.2f} ms, "
      f"span {(end - start) / 1000:.2f} ms")


def table(title, key):
    total = collections.defaultdict(float)
    count = collections.Counter()
    for k in kernels:
        name = key(k)
        total[name] += k["dur"]
        count[name] += 1
    print(f"\n| {title} | calls | ms | % of busy |\n|---|---:|---:|---:|")
    for name, us in sorted(total.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"| {name[:110]} | {count[name]} | {us / 1000:.2f} | {100 * us / busy:.1f}% |")


table("operator", lambda k: ops.get(k.get("args", {}).get("External id"), "(none)"))
table("kernel", lambda k: k["name"])
