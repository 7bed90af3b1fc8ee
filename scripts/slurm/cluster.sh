#!/usr/bin/env bash
# A single-node Slurm on localhost for tests: munged, slurmctld and slurmd, all state in one folder.
#
#   scripts/slurm/cluster.sh start DIR    # prints "export SLURM_CONF=DIR/slurm.conf"; exit 3 when the daemons cannot start
#   scripts/slurm/cluster.sh stop DIR
#
# Needs Debian's slurm-wlm and munge (.ci/run installs them) and root (slurmd runs jobs as their user).
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?folder}")
stop() {
  for f in slurmd slurmctld munged; do
    if [ -f "$dir/$f.pid" ]; then kill "$(cat "$dir/$f.pid")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    alive=0
    for f in slurmd slurmctld munged; do [ -f "$dir/$f.pid" ] && kill -0 "$(cat "$dir/$f.pid")" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  rm -f "$dir"/*.pid
}
if [ "$cmd" = stop ]; then stop; exit 0; fi
fail() { echo "slurm: $1" >&2; stop; exit 3; }
for b in munged slurmctld slurmd sbatch; do command -v $b >/dev/null || fail "$b is not installed (apt-get install slurm-wlm munge)"; done
[ "$(id -u)" = 0 ] || fail "needs root (slurmd)"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
# Free ports, so that a cluster of another test or user does not collide.
read -r p1 p2 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" || fail "munged did not start (see $dir/munged.log)"
cpus=$(nproc)
cat > "$dir/slurm.conf" <<CONF
ClusterName=cdtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$p1
SlurmdPort=$p2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (see $dir/slurmctld.log)"
slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start (see $dir/slurmd.log)"
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  case "$state" in idle|mix|alloc) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 0.2
done
fail "the node did not come up (state '${state:-none}'; see $dir/slurmctld.log and $dir/slurmd.log)"
