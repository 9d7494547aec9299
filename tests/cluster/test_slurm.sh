#!/usr/bin/env bash
# A sharded `diffss segment` on a real Slurm scheduler on this machine:
#   tests/cluster/test_slurm.sh PATH/TO/diffss
# Installs Debian's slurm-wlm and munge when they are missing (as root, with
# apt-get), starts munged, slurmctld and slurmd with a generated single-node
# configuration (process tracking by /proc, no cgroups; every file in a
# temporary folder), submits packaging/slurm/diffss-segment.sbatch as an array
# of 4 tasks over a generated query folder, waits for it, merges the shards
# and checks that the merged masks and records equal one process's run
# (masks byte for byte; records field for field but for the time taken).
# Stops the daemons it started by their pids. Exit 77 (skipped) when Slurm
# is missing and cannot be installed (not root, no apt-get).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
diffss="$(realpath "${1:?usage: test_slurm.sh PATH/TO/diffss}")"
tasks=4
t0=$(date +%s)
say() { echo "[$(($(date +%s) - t0)) s] $*"; }

need=()
for c in munged slurmctld slurmd sbatch squeue; do command -v "$c" >/dev/null || need+=("$c"); done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "SKIP: ${need[*]} missing and this is not root with apt-get (install slurm-wlm and munge to run it)"
        exit 77
    fi
    say "installing slurm-wlm and munge (missing: ${need[*]})"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 slurm-wlm munge >/dev/null; then
        echo "SKIP: apt-get could not install slurm-wlm and munge (no package archive?)"
        exit 77
    fi
fi
if [ "$(id -u)" -ne 0 ]; then
    # slurmd must start job steps as their user; a single-user cluster needs root here.
    echo "SKIP: the daemons of this test run as root"
    exit 77
fi

work="$(mktemp -d /tmp/diffss-slurm.XXXXXX)"
pids=()
stop() {
    local code=$?
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$code" -ne 0 ] && [ "$code" -ne 77 ]; then
        for log in "$work"/*.log "$work"/out/*.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }
        done
    fi
    rm -rf "$work"
    exit "$code"
}
trap stop EXIT
trap 'exit 1' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- munge: a fresh key, its socket in the temporary folder -------------------
mkdir -p "$work/munge" "$work/state" "$work/spool"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.sock" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munge/seed" >>"$work/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$work/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.sock" ] || { echo "munged did not start"; exit 1; }
say "munged running (pid ${pids[0]})"

# --- slurm: one node, this machine as slurmd -C describes it ------------------
node="diffsstest"
hardware="$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ UpTime=.*//')"
cat > "$work/slurm.conf" <<EOF
ClusterName=diffsstest
SlurmctldHost=$(hostname -s)(127.0.0.1)
MailProg=/bin/true
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >>"$work/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$SLURM_CONF" >>"$work/slurmd.log" 2>&1 &
pids+=($!)
alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a daemon (pid $p) exited"; return 1; }; done; }
deadline=$(($(date +%s) + 120))
state=
while [ "$(date +%s)" -lt "$deadline" ]; do
    alive || exit 1
    state="$(timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)"
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || { echo "the node did not come up in 2 minutes (state '$state')"; exit 1; }
say "slurmctld (pid ${pids[1]}) and slurmd (pid ${pids[2]}) up, node idle"

# --- data: a generated folder, one support-set file -----------------------------
export DIFFSS_MODELS="$work/no-models" # the same (no ISNet) in the jobs and in the reference run
mkdir -p "$DIFFSS_MODELS" "$work/queries"
"$diffss" demo --out "$work/demo" --images 4 --size 64x48 >/dev/null
for c in "$work"/demo/*/; do for f in "$c"*.jpg; do cp "$f" "$work/queries/$(basename "$c")_$(basename "$f")"; done; done
"$diffss" segment --support "$work/demo/spotted_ball/1.jpg" --save-support-set "$work/set.dss.json" 2>/dev/null
say "$(ls "$work/queries" | wc -l) queries, support set written"

# --- the array, as the README tells a user to submit it -------------------------
mkdir -p "$work/out"
job=$(sbatch --parsable --array=0-$((tasks - 1)) --chdir="$work/out" \
    --export=ALL,SUPPORT_SET="$work/set.dss.json",QUERIES="$work/queries",OUT="$work/out",DIFFSS="$diffss" \
    "$root/packaging/slurm/diffss-segment.sbatch")
say "submitted array job $job ($tasks tasks)"
deadline=$(($(date +%s) + 600))
while timeout 10 squeue -h -j "$job" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the array did not finish in 10 minutes"; squeue; exit 1; }
    alive || exit 1
    sleep 1
done
say "array job $job finished"
for ((i = 0; i < tasks; i++)); do
    [ -f "$work/out/shard-$i/results.json" ] || { echo "task $i wrote no results.json"; exit 1; }
    grep -q "\"index\": $i" "$work/out/shard-$i/results.json" || { echo "task $i did not record shard $i/$tasks"; exit 1; }
done

"$diffss" merge --out "$work/merged" --quiet "$work"/out/shard-*
"$diffss" segment --support-set "$work/set.dss.json" --queries "$work/queries" --out "$work/single" --quiet --threads 2 >/dev/null
say "merged; single-process reference run done"

# --- the merge equals the single run -------------------------------------------
python3 - "$work/single" "$work/merged" "$tasks" <<'EOF'
import json, os, sys
single, merged, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = json.load(open(os.path.join(single, "results.json")))
b = json.load(open(os.path.join(merged, "results.json")))
assert a["run"]["fingerprint"] == b["run"]["fingerprint"], "fingerprints differ"
assert len(b["run"]["merged_from"]) == tasks, b["run"]["merged_from"]
assert b["run"]["complete"] is True
ra, rb = a["images"], b["images"]
assert len(ra) == len(rb) > 0, (len(ra), len(rb))
timing = {"seconds", "reused"}
for x, y in zip(ra, rb):
    fx = {k: v for k, v in x.items() if k not in timing}
    fy = {k: v for k, v in y.items() if k not in timing}
    assert fx == fy, (fx, fy)
    with open(os.path.join(single, x["mask"]), "rb") as f1, open(os.path.join(merged, y["mask"]), "rb") as f2:
        assert f1.read() == f2.read(), "mask %s differs" % x["mask"]
masks = lambda d: sorted(f for f in os.listdir(d) if f.endswith(".png"))
assert masks(single) == masks(merged), "the folders hold different masks"
print("merged = single run: %d records, %d masks" % (len(ra), len(masks(single))))
EOF
say "PASS"
