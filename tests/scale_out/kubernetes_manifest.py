#!/usr/bin/env python3
"""examples/kubernetes/restore-archive.yaml against gpen-enhance's contract
for one shard of a run, without a cluster: the manifest parses, it is an
Indexed Job whose pods each take one GPU, run gpen-enhance on shard
$(JOB_COMPLETION_INDEX)/N with N = completions, --skip-existing and a
--report per pod, all of it on a shared (ReadWriteMany) volume; and
gpen-enhance accepts those options and refuses a shard outside 0..N-1.

    kubernetes_manifest.py MANIFEST GPEN_ENHANCE

Exit 77 (meson: skipped) without python3-yaml."""
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed")
    sys.exit(77)

manifest_path, gpen_enhance = sys.argv[1:3]
with open(manifest_path) as f:
    documents = [d for d in yaml.safe_load_all(f) if d]

jobs = [d for d in documents if d.get("kind") == "Job"]
claims = {d["metadata"]["name"]: d for d in documents if d.get("kind") == "PersistentVolumeClaim"}
assert len(jobs) == 1, "one Job"
job = jobs[0]
assert job["apiVersion"] == "batch/v1"
spec = job["spec"]
assert spec["completionMode"] == "Indexed", "an Indexed Job: each pod has its index"
shards = spec["completions"]
assert isinstance(shards, int) and shards >= 1
assert 1 <= spec["parallelism"] <= shards
pod = spec["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure")
[container] = pod["containers"]
assert container["resources"]["limits"]["nvidia.com/gpu"] == 1, "one GPU per pod"

env = {e["name"]: e for e in container.get("env", [])}
assert env["SHARDS"]["value"] == str(shards), "SHARDS must equal completions"

# The command line as the kubelet makes it: $(NAME) from the container's env,
# JOB_COMPLETION_INDEX from the Job controller.
argv = container["command"] + container.get("args", [])
assert os.path.basename(argv[0]) == "gpen-enhance", argv


def expand(text, values):
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: values.get(m.group(1), m.group(0)), text)


def option(name):
    found = [a.split("=", 1)[1] for a in argv if a.startswith(name + "=")]
    found += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]
    assert len(found) == 1, f"{name} once: {argv}"
    return found[0]


assert option("--shard") == "$(JOB_COMPLETION_INDEX)/$(SHARDS)", option("--shard")
assert "--skip-existing" in argv, "a replaced pod resumes"
report = option("--report")
assert "$(JOB_COMPLETION_INDEX)" in report and "$(POD_NAME)" in report, \
    "a report per index, and per pod (a replacement does not overwrite its predecessor's)"
assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
undefined = {m for a in argv for m in re.findall(r"\$\(([^)]*)\)", a)} - set(env) - {"JOB_COMPLETION_INDEX"}
assert not undefined, f"not in the container's env: {undefined}"

# Inputs, output and reports on the shared volume, a ReadWriteMany claim.
output = option("--output") if any(a.startswith("--output") for a in argv) else option("-o")
inputs = [a for a in argv[1:] if not a.startswith("-") and a not in (output,)]
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
for path in inputs + [output, report]:
    volume = next((n for n, m in mounts.items() if path.startswith(m.rstrip("/") + "/")), None)
    assert volume, f"{path} is not on a mounted volume"
    claim = volumes[volume]["persistentVolumeClaim"]["claimName"]
    if claim in claims:
        assert "ReadWriteMany" in claims[claim]["spec"]["accessModes"], "every node mounts it"
assert inputs, "an input folder"

# gpen-enhance takes this command line: every option is its own, and a
# shard from the Job's range parses (its usage errors exit 2 before any
# work; here the model is missing, which is exit 2 too, so the check is on
# what it says).
help_text = subprocess.run([gpen_enhance, "--help"], capture_output=True, text=True).stdout
for a in argv[1:]:
    if a.startswith("--"):
        assert a.split("=", 1)[0] in help_text, f"gpen-enhance has no {a}"
with tempfile.TemporaryDirectory() as tmp:
    def run(index):
        values = {"JOB_COMPLETION_INDEX": str(index), "SHARDS": str(shards), "POD_NAME": "pod-x"}
        args = [expand(a, values) for a in argv[1:]]
        env_vars = dict(os.environ, GPEN_MODEL_DIR=os.path.join(tmp, "no-models"))
        return subprocess.run([gpen_enhance] + args, capture_output=True, text=True, env=env_vars)
    for index in (0, shards - 1):
        r = run(index)
        assert "--shard" not in r.stderr, r.stderr  # accepted; it stops later, on the model
    r = run(shards)
    assert r.returncode == 2 and "--shard" in r.stderr, (r.returncode, r.stderr)

print(f"{manifest_path}: an Indexed Job of {shards} shards, {spec['parallelism']} at once, "
      f"one GPU each; {' '.join(argv)}")
