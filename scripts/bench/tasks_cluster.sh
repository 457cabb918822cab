# tasks_cluster.sh -- sourced by scripts/bench.sh: the overhead of running
# a tome.job through Slurm.  The same job (the sum of the bytes field) as
# 2 Slurm shards of one CPU each on a one-node cluster started for the
# benchmark (scripts/slurm/cluster.sh, stopped on exit), against
# tome.parallel with 2 workers in one process: the ratio is what the
# engine costs (scheduling waves, the reduce's dependency, the parts).
# Skipped when slurm-wlm and munge are not installed (make slurm-test
# installs them) or when not root.
MORE_TASKS="$MORE_TASKS slurm_n2"

SLURM_DIR=$DIR/slurm-cluster
slurm_up() {
  [ -f "$SLURM_DIR/slurmctld.pid" ] && return 0
  command -v sbatch > /dev/null && command -v munged > /dev/null || return 1
  [ "$(id -u)" = 0 ] || return 1
  rm -rf "$SLURM_DIR"
  mkdir -p "$SLURM_DIR"
  trap 'sh "$HERE/slurm/cluster.sh" stop "$SLURM_DIR"; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT TERM
  sh "$HERE/slurm/cluster.sh" start "$SLURM_DIR"
}

task_slurm_n2() {
  input log "tome.job: 2 Slurm shards (1 CPU each) vs tome.parallel, 2 workers"
  tome "$TOME $B/sum_bytes_parallel.lua $IN 2"
  if slurm_up; then
    peer "slurm N=2" "env SLURM_CONF=$SLURM_DIR/slurm.conf sh $HERE/slurm/tome-sbatch -N 2 -c 1 --poll 0.1 --tome $TOME -d $SLURM_DIR/job $B/job_sum_bytes.lua $IN"
  else
    echo "bench: slurm_n2: no Slurm here (make slurm-test installs it); skipped" >&2
  fi
  peer "tome.job plain" "$TOME $B/job_sum_bytes.lua $IN"
}
