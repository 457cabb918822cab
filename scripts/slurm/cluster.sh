#!/bin/sh
# cluster.sh -- a one-node Slurm cluster on localhost, for `make
# slurm-test` and the benchmark: run as root, without systemd, every
# path (config, state, spool, logs, PID files, the munge key and socket)
# under one directory, and every daemon stopped by its PID.
#
#   sh scripts/slurm/cluster.sh start DIR   # then SLURM_CONF=DIR/slurm.conf
#   sh scripts/slurm/cluster.sh stop DIR    # cancels the jobs, stops it all
#
# Settings: TOME_SLURM_PORT (slurmctld's port, default 16817; slurmd uses
# the next one).  Facts this relies on: shared/notes/slurm.md and the
# README's "Beyond one machine".
set -eu

usage() { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(cd "$2" 2>/dev/null && pwd) || { echo "cluster.sh: no directory $2" >&2; exit 2; }
conf=$dir/slurm.conf
port=${TOME_SLURM_PORT:-16817}

say() { echo "cluster.sh: $*" >&2; }

# wait_gone PID: up to 10 s for the process to end, then SIGKILL
wait_gone() {
  i=0
  while kill -0 "$1" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -eq 100 ]; then kill -KILL "$1" 2>/dev/null || true; fi
    [ $i -lt 150 ] || { say "process $1 does not end"; return 1; }
    sleep 0.1
  done
}

# stop_pidfile FILE: TERM the process named there and wait for it
stop_pidfile() {
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  case $pid in *[!0-9]*|'') return 0;; esac
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid"
  rm -f "$1"
}

# The processes of this cluster that outlived their daemons (job steps,
# slurmstepd): those whose environment names this cluster, except this
# shell and its ancestors.
leftovers() {
  anc=" $$ " p=$$
  while [ "$p" -gt 1 ] 2>/dev/null; do
    p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null || echo 1)
    anc="$anc$p "
  done
  grep -lzx -e "TOME_SLURM_CLUSTER=$dir" -e "SLURM_CONF=$conf" \
      /proc/[0-9]*/environ 2>/dev/null |
    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' |
    while read -r pid; do
      case $anc in *" $pid "*) ;; *) echo "$pid";; esac
    done
}

write_conf() {
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat > "$conf" <<CONF
# a one-node test cluster (scripts/slurm/cluster.sh); every path under $dir
ClusterName=tometest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  for t in munged slurmctld slurmd sinfo; do
    command -v "$t" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$t" >/dev/null || { say "$t is missing (apt-get install slurm-wlm munge)"; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { say "run as root"; exit 1; }
  chmod 755 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  # munge: our own key, socket, PID, log and seed files, owned by munge
  [ -s "$dir/munge/munge.key" ] ||
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chown -R munge:munge "$dir/munge"
  chmod 755 "$dir/munge"      # munged wants its socket's directory searchable
  chmod 400 "$dir/munge/munge.key"
  TOME_SLURM_CLUSTER=$dir runuser -u munge -- munged \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    --socket="$dir/munge/munge.socket" ||
    { say "munged did not start:"; tail -5 "$dir/munge/munged.log" >&2; exit 1; }
  write_conf
  export SLURM_CONF="$conf" TOME_SLURM_CLUSTER="$dir"
  slurmctld -f "$conf" || { tail -20 "$dir/log/slurmctld.log" >&2; exit 1; }
  slurmd -f "$conf" -N localhost || { tail -20 "$dir/log/slurmd.log" >&2; exit 1; }
  # ready when the node is idle (1.3-1.6 s from a fresh state here)
  i=0
  until [ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ]; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
      say "the node did not come up; logs:"
      tail -15 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

stop() {
  if [ -s "$dir/slurmctld.pid" ] && [ -f "$conf" ]; then
    SLURM_CONF=$conf timeout 5 scancel --user="$(id -un)" 2>/dev/null || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  for pid in $(leftovers); do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $(leftovers); do wait_gone "$pid" || true; done
  stop_pidfile "$dir/munge/munged.pid"
}

case $cmd in
  start) start;;
  stop) stop;;
  *) usage;;
esac
