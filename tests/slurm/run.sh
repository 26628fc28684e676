#!/usr/bin/env bash
# The SLURM profile on a real SLURM: as root on Debian, install and start a private single-node
# cluster (munge, MariaDB, slurmdbd accounting, slurmctld, slurmd with fake GPUs), run the tiny
# config through profiles/slurm, check it (tests/slurm/check.py), stop every daemon.
#   tests/slurm/run.sh            # ~5-10 min; skipped with a message where it cannot run
# State, logs, sockets and the database live in a temporary directory, on ports of their own;
# the config files go to /etc/slurm (jobs' nested srun ignores SLURM_CONF) and are removed after.
# Each step is bounded by a timeout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
RUN_LIMIT=${SLURM_TEST_RUN_LIMIT:-2400} # seconds for the two pipeline runs together
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)

skip() { echo "SLURM test skipped: $*"; exit 0; }
[[ $(id -u) == 0 ]] || skip "needs root (it installs and starts SLURM daemons)"
missing=()
for tool in slurmctld slurmd slurmdbd sbatch sacct munged mariadbd mariadb-install-db; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || skip "no ${missing[*]} and no apt-get to install them"
    echo "== installing ${PACKAGES[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
        "${PACKAGES[@]}" >/dev/null
fi
[[ -x $VENV_BIN/snakemake ]] || skip "no $VENV_BIN/snakemake (run make test first)"
CONF_DIR=/etc/slurm
CONF_FILES=("$CONF_DIR"/{slurm,gres,slurmdbd}.conf)
for file in "${CONF_FILES[@]}"; do
    [[ -e $file ]] && skip "$file exists: a SLURM is configured on this machine, not touching it"
done

WORK=$(mktemp -d /tmp/attrib-slurm.XXXXXX)
chmod 755 "$WORK"
DAEMONS=() # "name pidfile", in start order
SNAKEMAKE_PIDS=()

stop_pid() { # name pid: TERM, wait up to 15 s, then KILL
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { echo "stopped $name ($pid)"; return 0; }; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "killed $name ($pid)"
}

teardown() {
    local status=$?
    trap - EXIT INT TERM
    echo "== teardown"
    for pid in "${SNAKEMAKE_PIDS[@]}"; do # each run is a process group: snakemake and its jobs
        kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
        stop_pid snakemake "$pid"
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [[ -f $WORK/slurmctld.pid ]] && kill -0 "$(cat "$WORK/slurmctld.pid")" 2>/dev/null; then
        timeout 20 scancel --full --user=root 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while ((SECONDS < deadline)) && [[ -n $(timeout 5 squeue -h 2>/dev/null) ]]; do sleep 0.5; done
    fi
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        read -r name pidfile <<<"${DAEMONS[i]}"
        [[ -f $pidfile ]] && stop_pid "$name" "$(cat "$pidfile")"
    done
    for entry in "${DAEMONS[@]}"; do
        read -r name pidfile <<<"$entry"
        if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "ERROR: $name still running"; status=1
        fi
    done
    rm -f "${CONF_FILES[@]}"
    if ((status != 0)); then
        for log in "$WORK"/log/*.log "$WORK"/munge/*.log; do
            [[ -f $log ]] && { echo "--- tail $log"; tail -n 15 "$log" || true; }
        done
        echo "kept $WORK for inspection"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 143' INT TERM

wait_for() { # seconds description command...: poll until the command succeeds
    local limit=$1 deadline=$((SECONDS + $1)) what=$2; shift 2
    while ((SECONDS < deadline)); do timeout 10 "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "ERROR: $what not ready after $limit s"; return 1
}

start() { # name pidfile command...: start a daemon that writes its own pidfile
    local name=$1 pidfile=$2; shift 2
    DAEMONS+=("$name $pidfile")
    "$@"
    wait_for 30 "$name" test -s "$pidfile"
    echo "started $name ($(cat "$pidfile"))"
}

mkdir -p "$WORK"/{log,state,spool,munge,mysql,gpu} "$CONF_DIR"
touch "$WORK"/gpu/{0,1,2,3} # four fake GPU device files: several GPU jobs at once
sed "s|@WORK@|$WORK|g" "$ROOT/tests/slurm/slurm.conf" >"$CONF_DIR/slurm.conf"
echo "NodeName=localhost Name=gpu File=$WORK/gpu/[0-3]" >"$CONF_DIR/gres.conf"
DB_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$CONF_DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.sock
DbdHost=localhost
DbdPort=16819
SlurmUser=root
PidFile=$WORK/slurmdbd.pid
LogFile=$WORK/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=13306
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
chmod 600 "$CONF_DIR/slurmdbd.conf"

echo "== starting the cluster in $WORK"
chown munge:munge "$WORK/munge" && chmod 755 "$WORK/munge"
start munged "$WORK/munge/munged.pid" runuser -u munge -- munged \
    --socket="$WORK/munge/munge.sock" --pid-file="$WORK/munge/munged.pid" \
    --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed"

timeout 120 mariadb-install-db --no-defaults --user=root --datadir="$WORK/mysql/data" \
    --auth-root-authentication-method=socket >"$WORK/log/mariadb-install.log" 2>&1
DAEMONS+=("mariadbd $WORK/mysql/mariadbd.pid")
mariadbd --no-defaults --user=root --datadir="$WORK/mysql/data" --socket="$WORK/mysql/sock" \
    --port=13306 --bind-address=127.0.0.1 --pid-file="$WORK/mysql/mariadbd.pid" \
    --log-error="$WORK/log/mariadbd.log" --innodb-buffer-pool-size=64M &
wait_for 60 mariadbd mariadb --no-defaults --socket="$WORK/mysql/sock" -u root -e "select 1"
echo "started mariadbd ($(cat "$WORK/mysql/mariadbd.pid"))"
mariadb --no-defaults --socket="$WORK/mysql/sock" -u root -e "
    CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
    CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

start slurmdbd "$WORK/slurmdbd.pid" slurmdbd
wait_for 60 slurmdbd sacctmgr -n list cluster
timeout 30 sacctmgr -i add cluster attribtest >/dev/null
timeout 30 sacctmgr -i add account attrib Cluster=attribtest Description=test Organization=test >/dev/null
timeout 30 sacctmgr -i add user root Account=attrib DefaultAccount=attrib >/dev/null

start slurmctld "$WORK/slurmctld.pid" slurmctld
start slurmd "$WORK/slurmd.pid" slurmd -N localhost
wait_for 60 "an idle node" bash -c '[[ $(sinfo -h -n localhost -o %t | sort -u) == idle ]]'
sinfo

echo "== the tiny config: locally (--cores 2) and through the SLURM profile, side by side"
mkdir -p "$WORK"/{local,slurm}
cp "$ROOT/tests/tiny.yaml" "$WORK/local/"
cp "$ROOT/tests/tiny.yaml" "$WORK/slurm/"
# The retry check: prepare jobs fail, as if killed for memory, until they get 6 GB, which the
# workflow grants on the second attempt (attrib.cost.memory_mb: ~4,000 MB * attempt for the
# tiny datasets).
echo "test_min_mem_mb: {prepare: 6000}" >>"$WORK/slurm/tiny.yaml"
export PATH=$VENV_BIN:$PATH HF_HUB_OFFLINE=1
started=$(date +%s)
setsid bash -c 'cd "$1" && shift && exec "$@"' run "$WORK/local" timeout -k 20 "$RUN_LIMIT" "$VENV_BIN/snakemake" -s "$ROOT/Snakefile" \
    --cores 2 --configfile tiny.yaml >"$WORK/local/run.log" 2>&1 &
SNAKEMAKE_PIDS+=($!)
local_pid=$!
setsid bash -c 'cd "$1" && shift && exec "$@"' run "$WORK/slurm" timeout -k 20 "$RUN_LIMIT" "$VENV_BIN/snakemake" -s "$ROOT/Snakefile" \
    --workflow-profile "$ROOT/profiles/slurm" --configfile tiny.yaml \
    --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 2 \
    --latency-wait 5 --slurm-keep-successful-logs >"$WORK/slurm/run.log" 2>&1 &
SNAKEMAKE_PIDS+=($!)
slurm_pid=$!
local_status=0 slurm_status=0
wait "$slurm_pid" || slurm_status=$?
slurm_seconds=$(($(date +%s) - started))
wait "$local_pid" || local_status=$?
echo "local run: exit $local_status after $(($(date +%s) - started)) s"
echo "SLURM run: exit $slurm_status after $slurm_seconds s"
((local_status == 0)) || { tail -n 40 "$WORK/local/run.log"; exit 1; }
((slurm_status == 0)) || { tail -n 60 "$WORK/slurm/run.log"; exit 1; }

echo "== checks"
timeout 300 "$VENV_BIN/python" "$ROOT/tests/slurm/check.py" "$WORK/local" "$WORK/slurm" "$ROOT"
echo "SLURM test passed (SLURM run $slurm_seconds s)"
