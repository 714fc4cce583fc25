# scripts/lib.sh: shared by scripts/demo, scripts/test and the integration tests.
# Sourced, not run. Everything it starts is recorded and stopped by its own pid.

KF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the project needs to build, test and run the demo.
KF_PACKAGES=(build-essential cmake ninja-build pkg-config git
    libpaho-mqtt-dev libssl-dev libuv1-dev libsqlite3-dev sqlite3 libzstd-dev zstd
    libsodium-dev libjansson-dev libinih-dev libcriterion-dev
    mosquitto mosquitto-clients clang-format procps netcat-openbsd)

kf_log() { printf '%s\n' "$*" >&2; }

# Install what is missing (root on Debian 12; apt-get update first).
kf_install_deps() {
    local missing=() p
    for p in "${KF_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if ((${#missing[@]})); then
        kf_log "installing: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
            kf_log "error: missing packages and not root; run: sudo apt-get install ${missing[*]}"
            return 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# kf_build DIR [cmake args...]: configure (once) and build.
kf_build() {
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        cmake -S "$KF_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
    fi
    cmake --build "$dir" -j"$(nproc)"
}

# A free TCP port on loopback (bind to port 0 and read what the kernel gave).
kf_free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# kf_wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
kf_wait_port() {
    local port=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    kf_log "error: nothing listening on 127.0.0.1:$port after ${limit}s"
    return 1
}

# kf_broker_conf PORT DATADIR OUT: the project's broker config with port and paths filled in.
# Mosquitto started as root drops to the user "mosquitto": give it the data directory.
kf_broker_conf() {
    sed -e "s|@PORT@|$1|g" -e "s|@DATADIR@|$2|g" "$KF_ROOT/conf/mosquitto.conf" >"$3"
    if [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1; then
        chown mosquitto "$2"
        chmod o+x "$(dirname "$2")" # mktemp -d makes it 0700
    fi
}

KF_PIDS=()
# kf_spawn LOGFILE cmd...: start in the background, remember the pid in KF_LAST_PID.
kf_spawn() {
    local log=$1
    shift
    "$@" >>"$log" 2>&1 &
    KF_LAST_PID=$!
    KF_PIDS+=("$KF_LAST_PID")
}

# kf_stop PID [SIGNAL]: stop one process we started and wait for it.
kf_stop() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kf_log "warning: pid $pid ignored SIG$sig for 10s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

kf_stop_all() {
    local pid
    for pid in "${KF_PIDS[@]}"; do
        kf_stop "$pid"
    done
    KF_PIDS=()
}
