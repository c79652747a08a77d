"""Where a forward pass's time goes, from a Chrome trace written by
`gpen-benchmark --profile DIR`. With GPU kernels in the trace: kernels grouped
by the ATen operator that launched them and by kernel name, the busy time and
the span (idle gaps show up as span minus busy). Without (a CPU run, Kineto's
or the legacy profiler's trace): operators by self time, their time less that
of the operators they called. A development aid, not part of the build.

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
    trace = json.load(f)
# The legacy profiler writes a bare list of events.
events = trace if isinstance(trace, list) else trace["traceEvents"]


def print_table(title, total, count, whole, whole_name):
    print(f"\n| {title} | calls | ms | % of {whole_name} |\n|---|---:|---:|---:|")
    for name, us in sorted(total.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"| {name[:110]} | {count[name]} | {us / 1000:.2f} | {100 * us / whole:.1f}% |")


def cpu_self_times():
    """Self time of each operator, per thread: nested events are calls."""
    ops = [e for e in events if e.get("ph") == "X" and e.get("cat", "cpu_op") == "cpu_op"]
    total = collections.defaultdict(float)
    count = collections.Counter()
    by_thread = collections.defaultdict(list)
    for e in ops:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    span = 0.0
    for thread_ops in by_thread.values():
        thread_ops.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, name, time of its children, duration]
        for e in thread_ops:
            while stack and stack[-1][0] <= e["ts"]:
                end, name, children, dur = stack.pop()
                total[name] += dur - children
            if stack:
                stack[-1][2] += e["dur"]
            else:
                span += e["dur"]
            stack.append([e["ts"] + e["dur"], e["name"], 0.0, e["dur"]])
            count[e["name"]] += 1
        for end, name, children, dur in stack:
            total[name] += dur - children
    print(f"# {a.trace}: {len(ops)} operators, {span / 1000:.2f} ms in top-level operators")
    print_table("operator (self time)", total, count, span, "top-level time")


kernels = [e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
if not kernels:
    cpu_self_times()
    raise SystemExit(0)

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
    print_table(title, total, count, busy, "busy")


table("operator", lambda k: ops.get(k.get("args", {}).get("External id"), "(none)"))
table("kernel", lambda k: k["name"])
