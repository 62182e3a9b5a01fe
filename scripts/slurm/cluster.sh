#!/usr/bin/env bash
# A private single-node Slurm cluster in a scratch folder, for tests of the cluster recipes
# (scripts/slurm/*.sbatch) on one machine. Runs as root, without systemd or cgroups.
#
#   scripts/slurm/cluster.sh start  DIR   # prints: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm/cluster.sh status DIR
#   scripts/slurm/cluster.sh stop   DIR
#
# start: a munged of its own (socket, key, pid, log under DIR/munge; the system one under
# /run/munge only when the private one cannot start), DIR/slurm.conf, slurmctld and slurmd
# (state, spool, pids, logs under DIR), then waits (SER_CLUSTER_WAIT seconds, 30 by default)
# until sinfo shows the node idle. The ports are a non-default pair chosen per DIR (override
# with SER_SLURMCTLD_PORT; slurmd gets the next one), so it does not clash with another cluster.
# stop: cancels this cluster's jobs, then stops exactly the daemons it started (by their pid
# files) and waits for them to exit. Both are safe to re-run; start on a running cluster only
# prints the export line.
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

[[ $# -eq 2 ]] || die "usage: cluster.sh start|stop|status DIR"
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
CONF=$DIR/slurm.conf
WAIT=${SER_CLUSTER_WAIT:-30}

proc_alive() {  # proc_alive PID NAME -> 0 when PID runs (not a zombie) and is a NAME
  local pid=$1 name=$2 state
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
  [[ -n $state && $state != Z && $state != X ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

pid_alive() {  # pid_alive PIDFILE -> 0 when the daemon named by the file's name runs
  local f=$1 pid
  [[ -s $f ]] || return 1
  pid=$(tr -dc 0-9 <"$f")
  proc_alive "$pid" "$(basename "$f" .pid)"
}

stop_pidfile() {  # stop_pidfile PIDFILE NAME: SIGTERM, wait up to 15 s, then SIGKILL
  local f=$1 name=$2 pid i
  [[ -s $f ]] || return 0
  pid=$(tr -dc 0-9 <"$f")
  # Only the daemon the file names (a stale file's pid may belong to something else by now).
  if proc_alive "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      proc_alive "$pid" "$name" || break
      sleep 0.1
    done
    if proc_alive "$pid" "$name"; then
      log "$name ($pid) ignored SIGTERM; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        proc_alive "$pid" "$name" || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$f"
}

port_in_use() {  # port_in_use PORT
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'toupper(substr($2, length($2) - 4)) == p && $4 == "0A" {f = 1} END {exit !f}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_ports() {  # sets CTLD_PORT, SLURMD_PORT
  if [[ -n ${SER_SLURMCTLD_PORT:-} ]]; then
    CTLD_PORT=$SER_SLURMCTLD_PORT
  else
    # A per-folder pair in 20000-29998, moved on while either port is taken.
    local h
    h=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    CTLD_PORT=$((20000 + (h % 5000) * 2))
    local tries=0
    while port_in_use "$CTLD_PORT" || port_in_use $((CTLD_PORT + 1)); do
      CTLD_PORT=$((CTLD_PORT + 2))
      ((CTLD_PORT < 30000)) || CTLD_PORT=20000
      ((++tries < 5000)) || die "no free port pair in 20000-29999"
    done
  fi
  SLURMD_PORT=$((CTLD_PORT + 1))
}

start_munge() {  # sets MUNGE_SOCKET
  local md=$DIR/munge
  mkdir -p "$md"
  # munged wants every folder above its socket searchable by all (mktemp -d makes DIR 0700):
  # add the x bit (not r or w) to DIR itself.
  chmod 0755 "$md"
  chmod a+x "$DIR" 2>/dev/null || true
  MUNGE_SOCKET=$md/munge.socket
  if pid_alive "$md/munged.pid" && munge -S "$MUNGE_SOCKET" -n 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
    return 0
  fi
  rm -f "$md/munged.pid" "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  if [[ ! -s $md/munge.key ]]; then  # a key of its own: nothing else can talk to this cluster
    (umask 077 && head -c 1024 /dev/urandom >"$md/munge.key")
  fi
  chmod 0400 "$md/munge.key"
  if munged --socket="$MUNGE_SOCKET" --key-file="$md/munge.key" --pid-file="$md/munged.pid" \
    --log-file="$md/munged.log" --seed-file="$md/munged.seed" >"$md/munged.out" 2>&1; then
    local i
    for ((i = 0; i < 50; i++)); do
      if munge -S "$MUNGE_SOCKET" -n 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
        echo private >"$md/mode"
        return 0
      fi
      sleep 0.1
    done
  fi
  log "private munged did not start ($(tail -n 3 "$md/munged.out" "$md/munged.log" 2>/dev/null | tr '\n' ' ')); using the system one"
  stop_pidfile "$md/munged.pid" munged
  MUNGE_SOCKET=/run/munge/munge.socket.2
  echo system >"$md/mode"
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  mkdir -p /run/munge
  chown munge:munge /run/munge 2>/dev/null || true
  chmod 0755 /run/munge
  if [[ $(id -u) -eq 0 ]] && id munge >/dev/null 2>&1; then
    # Ours to stop: record its pid under DIR.
    (cd / && runuser -u munge -- /usr/sbin/munged) >"$md/munged.out" 2>&1 || /usr/sbin/munged >>"$md/munged.out" 2>&1 ||
      die "munged did not start: $(cat "$md/munged.out")"
  else
    /usr/sbin/munged >"$md/munged.out" 2>&1 || die "munged did not start: $(cat "$md/munged.out")"
  fi
  sleep 0.5
  [[ -s /run/munge/munged.pid ]] && cp /run/munge/munged.pid "$md/munged.pid"
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || die "munge -n | unmunge fails with the system munged"
}

write_conf() {
  local host cpus mem_kb mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_mb=$((mem_kb / 1024 * 9 / 10))  # below the machine's, so slurmd never drains the node
  ((mem_mb > 0)) || mem_mb=1
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  cat >"$CONF.tmp" <<EOF
# Generated by scripts/slurm/cluster.sh for a private single-node test cluster in $DIR.
ClusterName=sertest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups here.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# No accounting.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# Short timeouts: a test cluster that dies should say so quickly.
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=10
InactiveLimit=0
KillWait=5
Waittime=0
MinJobAge=120
SchedulerParameters=sched_interval=2
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

node_state() {
  SLURM_CONF=$CONF timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n1
}

daemons_up() { pid_alive "$DIR/run/slurmctld.pid" && pid_alive "$DIR/run/slurmd.pid"; }

do_start() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ||
    die "slurmctld, slurmd and munged are needed (apt-get install slurm-wlm munge)"
  [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser/SlurmdUser root)"
  if [[ -f $CONF ]] && daemons_up; then
    local st
    st=$(node_state)
    if [[ $st == idle* || $st == mixed* || $st == alloc* ]]; then
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
  fi
  do_stop quiet  # half-started leftovers
  local t0=$SECONDS
  start_munge
  pick_ports
  write_conf
  # -i: ignore state from an earlier run in DIR (its jobs are gone).
  slurmctld -i -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 || die "slurmctld did not start: $(tail -n 5 "$DIR/log/slurmctld.out" "$DIR/log/slurmctld.log" 2>/dev/null)"
  local i
  for ((i = 0; i < 50; i++)); do
    SLURM_CONF=$CONF timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.2
  done
  slurmd -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 || die "slurmd did not start: $(tail -n 5 "$DIR/log/slurmd.out" "$DIR/log/slurmd.log" 2>/dev/null)"
  local st=""
  while ((SECONDS - t0 < WAIT)); do
    st=$(node_state)
    [[ $st == idle* ]] && break
    daemons_up || break
    sleep 0.5
  done
  if [[ $st != idle* ]]; then
    log "node not idle after $((SECONDS - t0)) s (state '${st:-none}'); last log lines:"
    tail -n 15 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
    do_stop quiet
    exit 1
  fi
  log "cluster up in $((SECONDS - t0)) s (ports $CTLD_PORT/$SLURMD_PORT, munge $(cat "$DIR/munge/mode"))"
  echo "export SLURM_CONF=$CONF"
}

do_stop() {
  if [[ -f $CONF ]] && pid_alive "$DIR/run/slurmctld.pid"; then
    # This cluster's jobs only (SLURM_CONF names it); give their steps a moment to end.
    SLURM_CONF=$CONF timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
      [[ -z $(SLURM_CONF=$CONF timeout 5 squeue -h -t running,completing -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  stop_pidfile "$DIR/run/slurmd.pid" slurmd
  stop_pidfile "$DIR/run/slurmctld.pid" slurmctld
  stop_pidfile "$DIR/munge/munged.pid" munged
  [[ ${1:-} == quiet ]] || log "stopped (daemons of $DIR)"
}

do_status() {
  local rc=0 name f
  for name in slurmctld slurmd munged; do
    case $name in
      munged) f=$DIR/munge/munged.pid ;;
      *) f=$DIR/run/$name.pid ;;
    esac
    if pid_alive "$f"; then
      echo "$name: running (pid $(tr -dc 0-9 <"$f"))"
    else
      echo "$name: stopped"
      rc=1
    fi
  done
  if [[ -f $CONF ]] && ((rc == 0)); then
    SLURM_CONF=$CONF timeout 10 sinfo -N -o '%N %T %c %m' || rc=1
    echo "export SLURM_CONF=$CONF"
  fi
  return $rc
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) die "usage: cluster.sh start|stop|status DIR" ;;
esac
