#!/bin/bash
# Stop the daemons that ci/slurm/start.sh started, by their pid files only
# (never by name: other SLURM or munge instances on the machine are not ours).
set -uo pipefail

alive() {
  [ -s "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

for pf in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid; do
  if alive "$pf"; then
    pid=$(cat "$pf")
    echo "[ci/slurm/stop] stopping $(basename "$pf" .pid) ($pid)"
    kill "$pid"
    for _ in $(seq 50); do alive "$pf" || break; sleep 0.2; done
    alive "$pf" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pf"
done
exit 0
