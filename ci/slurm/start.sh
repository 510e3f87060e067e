#!/bin/bash
# Start a single-node SLURM (munged + slurmctld + slurmd) as root, without systemd,
# for pypetx's `slurm` tests. Idempotent: with everything up it only re-checks health.
# Installs Debian's slurm-wlm, munge and slurm-wlm-torque (qsub/qstat/qdel over SLURM,
# so PBSCluster can be tested too) when missing.
set -euo pipefail

log() { echo "[ci/slurm/start] $*"; }
die() { echo "[ci/slurm/start] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

NODE=$(hostname -s)
# The node declares more CPUs than the machine has (at least $SLURM_CPUS, default 18):
# the many-jobs tests (tests/test_hpc_slurm_scale.py) run 8 node-sized jobs of 2 cores
# at once, plus a driver job, on a 2-core machine. slurmd accepts a declared count above
# the detected one only with SlurmdParameters=config_overrides (below). The workers of
# those jobs mostly sleep, so oversubscribing the cores costs little; tests that need
# "at most N jobs at a time" ask for N jobs, they do not rely on the CPU count.
CPUS=$(nproc)
MIN_CPUS=${SLURM_CPUS:-18}
[ "$CPUS" -ge "$MIN_CPUS" ] || CPUS=$MIN_CPUS
# slurmd drains a node that claims more RealMemory than it detects: keep headroom
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 512 ))
LOGDIR=/var/log/slurm
CONF=/etc/slurm/slurm.conf
RUN=/run/slurm

# ---------- packages ----------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v munged >/dev/null || ! command -v qsub >/dev/null; then
  log "installing slurm-wlm munge slurm-wlm-torque"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge slurm-wlm-torque >/dev/null
fi
# Debian ships slurmctld/slurmd/munged in /usr/sbin, which a non-login PATH may lack
export PATH="$PATH:/usr/sbin:/sbin"

# slurmctld and slurmd resolve the node name
getent hosts "$NODE" >/dev/null || echo "127.0.0.1 $NODE" >> /etc/hosts

# A pid file naming a live process. Killed daemons linger as zombies when PID 1
# does not reap, and a zombie still answers kill -0.
alive() {
  [ -s "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

# ---------- munge ----------
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating munge key"
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge_ok; then
  log "starting munged"
  rm -f /run/munge/munged.pid
  runuser -u munge -- munged
  for _ in $(seq 50); do munge_ok && break; sleep 0.2; done
fi
munge_ok || die "munge does not work (see /var/log/munge/munged.log)"

# ---------- slurm.conf ----------
install -d -m 0755 /etc/slurm "$LOGDIR" "$RUN" /var/spool/slurmctld /var/spool/slurmd
NEWCONF=$(mktemp)
trap 'rm -f "$NEWCONF"' EXIT
cat > "$NEWCONF" <<CONF
# written by pypetx ci/slurm/start.sh
ClusterName=pypetx-ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (default 120 s):
# short here, so the preemption test's driver job comes back quickly
AuthInfo=cred_expire=20
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
# no cgroups without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# look at pending jobs (a requeued one whose wait ended) every few seconds, not every
# 30-60 s
SchedulerParameters=bf_interval=5,sched_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# otherwise a job that gives no --mem is allocated all of the node's memory
DefMemPerCPU=1000
ReturnToService=2
# the node's CPUs (and memory) as declared here, not as detected (see CPUS above)
SlurmdParameters=config_overrides
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=${RUN}/slurmctld.pid
SlurmdPidFile=${RUN}/slurmd.pid
SlurmctldLogFile=${LOGDIR}/slurmctld.log
SlurmdLogFile=${LOGDIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
KillWait=5
Waittime=0
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
CONF_CHANGED=0
if ! cmp -s "$NEWCONF" "$CONF"; then
  log "writing $CONF"
  install -m 0644 "$NEWCONF" "$CONF"
  CONF_CHANGED=1
fi

# ---------- daemons ----------
# A changed slurm.conf restarts both daemons: scontrol reconfigure applies neither a
# changed node definition (CPUs, memory) nor AuthInfo.
if [ "$CONF_CHANGED" = 0 ] && alive "$RUN/slurmctld.pid" && alive "$RUN/slurmd.pid"; then
  :
else
  [ "$CONF_CHANGED" = 1 ] && log "slurm.conf changed: restarting the daemons"
  # Fresh start: stop a half-running pair (ours, by pid file) and wipe saved state.
  # After an unclean stop the saved state brings dead jobs back as RUNNING, and
  # slurmd's cred_state revokes reused job ids ("Job credential revoked").
  for pf in "$RUN/slurmd.pid" "$RUN/slurmctld.pid"; do
    if alive "$pf"; then
      kill "$(cat "$pf")"
      for _ in $(seq 50); do alive "$pf" || break; sleep 0.2; done
    fi
    rm -f "$pf"
  done
  rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
  log "starting slurmctld"
  slurmctld
  for _ in $(seq 60); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
  log "starting slurmd"
  slurmd
fi
if ! scontrol ping 2>/dev/null | grep -q UP; then
  tail -n 50 "$LOGDIR/slurmctld.log" >&2 || true
  die "slurmctld did not come up"
fi

# ---------- wait until the node takes jobs ----------
state=
for _ in $(seq 120); do
  state=$(sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -1 || true)
  case "$state" in
    idle*|mix*|alloc*) break ;;
    drain*|down*|fail*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle*|mix*|alloc*) ;;
  *) scontrol show node "$NODE" >&2 || true; tail -n 50 "$LOGDIR/slurmd.log" >&2 || true
     die "node $NODE not usable (state=${state:-none})" ;;
esac
sinfo
timeout 60 srun -N1 hostname >/dev/null || die "srun hostname failed"
log "SLURM is up (node $NODE, $CPUS CPUs, ${MEM} MB)"
