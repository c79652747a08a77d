#!/usr/bin/env bash
# examples/slurm/restore-archive.sbatch on a real, single-node Slurm cluster
# started here: munged, slurmctld and slurmd on localhost, as root, with
# their configuration, state, sockets and logs in a temporary folder (the
# system's /etc/slurm and /etc/munge are not touched), all stopped at exit.
#
#   slurm_array.sh GPEN_ENHANCE SBATCH_SCRIPT MODEL IMAGE...
#
# The node is CPU only but advertises 4 "gpu" GRES, whose device files are
# empty files in the temporary folder (gres.conf), so the script is
# submitted as written, its --gres=gpu:1 included: Slurm runs at most 4
# tasks at once, one per "GPU", and gpen-enhance runs them on the CPU
# (GPEN_DEVICE=cpu). Its 32 CPUs are
# configuration too (SlurmdParameters=config_overrides), for the script's
# --cpus-per-task=8.
#
# 1. A 4-task array over a folder of 24 copies of the test images: every
#    image is restored exactly once (the shards' reports merged) and every
#    output is there.
# 2. The same into a fresh folder, slowed down by gpen-enhance's test hook
#    (GPEN_ENHANCE_TEST_DELAY_MS: each image waits before it is decoded, so
#    a task lasts long enough to be cancelled midway); the largest shard's
#    task is cancelled (scancel: SIGTERM, its report written), then
#    re-submitted alone with SHARDS=4: it does only the images the cancelled
#    attempt had not written, and skips the others.
#
# meson runs it under subreaper.py, which reaps (or kills) whatever the
# daemons leave behind (slurmstepd detaches from slurmd).
#
# Exit 77 (meson: skipped) when it cannot run: not root, or slurm-wlm and
# munge not installed (.ci/run installs them).
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

export PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" = 0 ] || skip "needs root, to run munged, slurmctld and slurmd"
for program in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo python3; do
  command -v "$program" > /dev/null ||
    skip "$program is not installed (apt-get install slurm-wlm munge python3)"
done

gpen_enhance=$(realpath "${1:?usage: slurm_array.sh GPEN_ENHANCE SBATCH_SCRIPT MODEL IMAGE...}")
script=$(realpath "${2:?}")
model=$(realpath "${3:?}")
shift 3
images=()
for image in "$@"; do images+=("$(realpath "$image")"); done
[ ${#images[@]} -gt 0 ] || fail "no images given"

work=$(mktemp -d /tmp/gpen-slurm-XXXXXX)
pids=()
cleanup() {
  local status=$?
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -n "${slurmctld_pid:-}" ]; then
    # Jobs first, so that no slurmstepd or gpen-enhance outlives the node.
    scancel --quiet --full --signal=KILL --partition=test 2> /dev/null
    for _ in $(seq 50); do
      [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.2
    done
  fi
  # Each daemon by the process id it was started with, last started first.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2> /dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null
  done
  if [ "$status" != 0 ] && [ "$status" != 77 ]; then
    for log in "$work"/slurmctld.log "$work"/slurmd.log "$work"/logs/*.log; do
      [ -f "$log" ] && { echo "--- $log (end)"; tail -n 30 "$log"; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- munge: its own key and socket.
mkdir -m 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$work/munge/munge.key"
socket=$work/munge/munge.socket
# --force: it would rather not run as root.
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || fail "munged did not start: $(cat "$work/munge/munged.log" 2> /dev/null)"

# --- Slurm: ports that nothing listens on.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || { echo "$port"; return; }
  done
  fail "no free port"
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
mkdir -p "$work/state" "$work/spool" "$work/logs"
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=gpentest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=10
MinJobAge=3600
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=32 RealMemory=4000 Gres=gpu:4 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# Four "GPUs": where /dev/nvidia0..3 would be, character devices that are
# /dev/null (plain files where mknod is not allowed: slurmd complains, and
# accepts them). Slurm gives each task one, and sets CUDA_VISIBLE_DEVICES
# from its number, as on a GPU node.
mkdir "$work/gpu"
for i in 0 1 2 3; do
  mknod "$work/gpu/nvidia$i" c 1 3 2> /dev/null || touch "$work/gpu/nvidia$i"
done
echo "NodeName=localhost Name=gpu File=$work/gpu/nvidia[0-3]" > "$work/gres.conf"
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
slurmctld_pid=$!
pids+=("$slurmctld_pid")
slurmd -D -N localhost -f "$SLURM_CONF" > "$work/slurmd.out" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 150); do
  state=$(sinfo -h -n localhost -o %T 2> /dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || fail "the node is not up (state \"$state\"): $(cat "$work/slurmctld.out" "$work/slurmd.out")"
echo "slurm: a node with $(sinfo -h -o '%c CPUs, GRES %G') is up ($(sinfo -V))"

# --- The archive: 24 images in a tree, copies of the test images.
archive=$work/archive
for i in $(seq 0 23); do
  image=${images[i % ${#images[@]}]}
  mkdir -p "$archive/roll-$((i / 8))"
  cp "$image" "$archive/roll-$((i / 8))/photo-$i.${image##*.}"
done

export GPEN_ENHANCE=$gpen_enhance GPEN_DEVICE=cpu
export GPEN_ARGS="--model $model --detector cascade --jobs 1"
export GPEN_MODEL_DIR=$work/no-models GST_REGISTRY=$work/registry.bin
export ARCHIVE=$archive

# Submits the script (the caller's environment exported), prints the job id.
submit() {
  (cd "$work/logs" && sbatch --parsable --export=ALL "$@" "$script") | cut -d';' -f1
}
# Waits until job $1 (all its array tasks) has left the queue.
wait_for() {
  local deadline=$((SECONDS + ${2:-180}))
  while [ -n "$(squeue -h -j "$1" -o %i 2> /dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || fail "job $1 did not finish in time: $(squeue)"
    sleep 0.5
  done
}
# "K STATE" for each task of array job $1.
task_states() {
  scontrol -o show job "$1" |
    sed -n 's/.*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\) .*/\1 \2/p' | sort -n
}
# Python for the JSON checks: the reports are read as any other program would.
check() { python3 - "$@"; }

# --- 1. The whole array, 4 shards.
start=$SECONDS
export OUTPUT=$work/restored REPORTS=$work/reports
job=$(submit --array=0-3)
echo "1. submitted array job $job (4 tasks)"
wait_for "$job"
states=$(task_states "$job")
echo "$states"
[ "$(grep -c ' COMPLETED$' <<< "$states")" = 4 ] || fail "not all 4 tasks completed: $states"
"$gpen_enhance" --merge-reports "$REPORTS"/*.json -o "$work/merged.json" ||
  fail "the merged report is not complete"
check "$work/merged.json" "$archive" "$OUTPUT" "$REPORTS" <<'PY'
import json, os, sys
merged_path, archive, output, reports = sys.argv[1:]
merged = json.load(open(merged_path))
images = sorted(os.path.join(d, f) for d, _, fs in os.walk(archive) for f in fs)
assert merged["complete"], merged
assert merged["restored_twice"] == 0 and merged["duplicates"] == [], merged["duplicates"]
assert merged["shards"] == {"count": 4, "missing": []}, merged["shards"]
assert sorted(r["input"] for r in merged["records"]) == images, "not every image, once"
assert all(r["status"] == "restored" for r in merged["records"])
assert merged["totals"]["restored"] == len(images) == 24, merged["totals"]
# Each shard's own report: its share, nothing of another's.
seen = []
for name in sorted(os.listdir(reports)):
    report = json.load(open(os.path.join(reports, name)))
    assert report["shard"]["count"] == 4 and not report["interrupted"], name
    seen += [r["input"] for r in report["records"]]
    print(f"   shard {report['shard']['index']}/4: {len(report['records'])} images, "
          f"{report['totals']['faces']} faces, {report['seconds']:.1f} s")
assert sorted(seen) == images, "an image in two shards, or in none"
for image in images:
    out = os.path.join(output, os.path.relpath(image, archive))
    assert os.path.getsize(out) > 0 and not os.path.exists(out + ".part"), out
PY
echo "1. every image restored exactly once, in $((SECONDS - start)) s"

# --- 2. Cancel a task midway, re-submit it.
start=$SECONDS
# The largest shard, so that it has images left to do when it is cancelled.
read -r K shard_size < <(check "$REPORTS" <<'PY'
import json, os, sys
sizes = {}
for name in os.listdir(sys.argv[1]):
    r = json.load(open(os.path.join(sys.argv[1], name)))
    sizes[r["shard"]["index"]] = len(r["records"])
k = max(sizes, key=sizes.get)
print(k, sizes[k])
PY
)
[ "$shard_size" -ge 4 ] || fail "shard $K has only $shard_size images"
shard_outputs() {  # how many of shard $K's outputs are there now
  check "$work/reports/" "$K" "$archive" "$OUTPUT" <<'PY'
import json, os, sys
reports, k, archive, output = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for name in os.listdir(reports):
    r = json.load(open(os.path.join(reports, name)))
    if r["shard"]["index"] == k:
        print(sum(os.path.exists(os.path.join(output, os.path.relpath(x["input"], archive)))
                  for x in r["records"]))
PY
}
export OUTPUT=$work/restored-again REPORTS=$work/reports-again
job=$(GPEN_ENHANCE_TEST_DELAY_MS=1500 submit --array=0-3)
echo "2. submitted array job $job, slowed down; shard $K ($shard_size images) will be cancelled"
deadline=$((SECONDS + 120))
until [ "$(shard_outputs)" -ge 2 ]; do
  [ $SECONDS -lt $deadline ] || fail "shard $K's task did not get going"
  sleep 0.2
done
scancel "${job}_$K"
wait_for "$job"
states=$(task_states "$job")
echo "$states"
grep -q "^$K CANCELLED$" <<< "$states" || fail "task $K was not cancelled: $states"
[ "$(grep -c ' COMPLETED$' <<< "$states")" = 3 ] || fail "the other tasks did not complete"
done_before=$(shard_outputs)
echo "   cancelled with $done_before of $shard_size images written"
[ "$done_before" -lt "$shard_size" ] || fail "task $K finished before it was cancelled"
# What was written before the re-run, with its times: the re-run must leave it alone.
find "$OUTPUT" -type f -not -name '*.part' -printf '%p %T@\n' | sort > "$work/before.txt"

job2=$(SHARDS=4 submit --array="$K")
echo "   re-submitted shard $K as job $job2"
wait_for "$job2"
grep -q "^$K COMPLETED$" <<< "$(task_states "$job2")" || fail "the re-run did not complete"
find "$OUTPUT" -type f -not -name '*.part' -printf '%p %T@\n' | sort > "$work/after.txt"
[ -z "$(comm -23 "$work/before.txt" "$work/after.txt")" ] ||
  fail "the re-run rewrote outputs that were there: $(comm -23 "$work/before.txt" "$work/after.txt")"
"$gpen_enhance" --merge-reports "$REPORTS"/*.json -o "$work/merged-again.json" ||
  fail "the merged report after the re-run is not complete"
check "$work/merged-again.json" "$REPORTS" "$K" "$job2" "$done_before" "$archive" <<'PY'
import json, os, sys
merged_path, reports, k, job2, done_before, archive = sys.argv[1:]
k, done_before = int(k), int(done_before)
merged = json.load(open(merged_path))
images = sorted(os.path.join(d, f) for d, _, fs in os.walk(archive) for f in fs)
assert merged["complete"] and merged["restored_twice"] == 0, merged
assert sorted(r["input"] for r in merged["records"]) == images
assert all(r["status"] == "restored" for r in merged["records"])
mine = [json.load(open(os.path.join(reports, n))) for n in os.listdir(reports)
        if n.startswith(f"shard-{k}-of-4.")]
assert len(mine) == 2, [r["shard"] for r in mine]
first = next(r for r in mine if r["interrupted"])     # written on scancel's SIGTERM
rerun = next(r for r in mine if not r["interrupted"])
done = {r["input"] for r in first["records"] if r["status"] == "restored"}
left = {r["input"] for r in first["records"] if r["status"] != "restored"}
assert len(done) >= done_before, (done, done_before)  # what it wrote, it reported
assert left, "the cancelled attempt reported nothing left to do"
assert {r["status"] for r in first["records"]} <= {"restored", "not_run"}, first["records"]
skipped = {r["input"] for r in rerun["records"] if r["status"] == "skipped"}
redone = {r["input"] for r in rerun["records"] if r["status"] == "restored"}
assert skipped == done and redone == left, (skipped, done, redone, left)
assert rerun["totals"]["failed"] == 0 and rerun["totals"]["not_run"] == 0
print(f"   the re-run skipped {len(skipped)} and restored {len(redone)}; merged: "
      f"{merged['totals']['restored']} restored, {len(merged['duplicates'])} duplicates "
      "(the cancelled attempt's and the re-run's)")
PY
echo "2. cancelled, re-submitted, completed in $((SECONDS - start)) s"

# --- 3. A part of an array re-submitted without SHARDS: the script refuses
# to take the part's size for N (it would split differently).
job3=$(submit --array=2)
wait_for "$job3"
grep -q "^2 FAILED$" <<< "$(task_states "$job3")" || fail "a partial array without SHARDS ran"
grep -q "set SHARDS=N" "$work/logs/gpen-restore-${job3}_2.log" || fail "it did not say why"
echo "3. a re-submission without SHARDS is refused"
