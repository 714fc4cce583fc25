# scripts/lib.sh: shared by scripts/demo, scripts/test and the integration tests.
# Sourced, not run. Everything it starts is recorded and stopped by its own pid.

KF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the project needs to build, test and run the demo.
KF_PACKAGES=(build-essential cmake ninja-build pkg-config git
    libpaho-mqtt-dev libssl-dev libuv1-dev libsqlite3-dev sqlite3 libzstd-dev zstd
    libsodium-dev zlib1g-dev libjansson-dev libinih-dev libcriterion-dev libcurl4-openssl-dev
    libmosquitto-dev mosquitto mosquitto-clients clang-format procps netcat-openbsd python3 jq
    clang libclang-rt-14-dev
    libxlsxwriter-dev libhpdf-dev poppler-utils fonts-noto-cjk faketime
    libh2o-dev python3-yaml curl nghttp2-client)

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

    # --- the console's browser test (tests/browser, docs/guides/CONSOLE.md) ---------------
    # Debian's chromium, driven by npm's playwright-core (which downloads no browser), and CJK
    # fonts so that the screenshots show Chinese. node/npm (the console's build and the test)
    # come from Debian only when the machine has none: a newer node already there is kept.
    local web=() q
    for q in chromium fonts-noto-cjk; do
        dpkg-query -W -f='${Status}' "$q" 2>/dev/null | grep -q "install ok installed" || web+=("$q")
    done
    command -v npm >/dev/null || web+=(nodejs npm)
    if ((${#web[@]})); then
        kf_log "installing for the console's browser test: ${web[*]}"
        if [ "$(id -u)" -ne 0 ]; then
            kf_log "error: not root; run: sudo apt-get install ${web[*]}"
            return 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${web[@]}" >/dev/null
    fi
    # --- end of the console's block ---------------------------------------------------------
}

# kf_build DIR [cmake args...]: configure (once) and build.
kf_build() {
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        cmake -S "$KF_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
    fi
    # KF_BUILD_TARGETS="a b": only those targets (and what they need), not the whole tree.
    # shellcheck disable=SC2086
    cmake --build "$dir" -j"$(nproc)" ${KF_BUILD_TARGETS:+--target $KF_BUILD_TARGETS}
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

# Mosquitto started as root drops to the user "mosquitto" (and re-reads its password, ACL
# and certificate files as that user on SIGHUP): true when that applies here.
kf_broker_drops_to_mosquitto() {
    [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1
}

# kf_pki DIR [NAME...]: a private CA and the broker's server certificate, with the openssl
# command line. DIR/ca.key + ca.crt (EC P-256, 10 years; reused when present: devices trust
# it), DIR/server.key + server.crt (CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1
# and each NAME, a host name or an IPv4 address the clients dial, e.g. broker.example
# 10.20.0.5; 825 days; reissued when missing, not signed by this CA, lacking a NAME, or
# expiring within 30 days). Keys are 0600; the server key belongs to the user mosquitto
# when the broker drops to it. OPERATIONS.md, "A real host".
kf_pki() {
    local dir=$1 n san="DNS:localhost,IP:127.0.0.1"
    shift
    for n in "$@"; do
        if [[ $n =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then san+=",IP:$n"; else san+=",DNS:$n"; fi
    done
    mkdir -p "$dir" && (umask 077 && cd "$dir" && KF_PKI_SAN=$san kf__pki_make) || {
        kf_log "error: kf_pki: cannot make the CA or the server certificate in $dir"
        return 1
    }
    chmod 0600 "$dir/ca.key" "$dir/server.key"
    chmod 0644 "$dir/ca.crt" "$dir/server.crt"
    if kf_broker_drops_to_mosquitto; then
        chown mosquitto "$dir/server.key"
        chmod o+x "$dir" "$(dirname "$dir")" # mktemp -d makes directories 0700
    fi
}

# Does CERT name everything in KF_PKI_SAN? ("IP Address:" in openssl's listing.)
kf__pki_names_in() {
    local have want
    have=$(openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
        tr -d ' ' | sed 's/IPAddress:/IP:/g') || return 1
    for want in ${KF_PKI_SAN//,/ }; do
        [[ ",$have," == *",$want,"* ]] || return 1
    done
}

# In the PKI directory. Every step checked: "set -e" does not apply inside "... || ...".
kf__pki_make() {
    if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key \
            2>/dev/null || return 1
        openssl req -x509 -new -key ca.key -sha256 -days 3650 \
            -subj "/O=kioskfleet/CN=kioskfleet private CA" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt || return 1
    fi
    if [ -s server.key ] && [ -s server.crt ] &&
        openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1 &&
        openssl x509 -in server.crt -noout -checkend 2592000 >/dev/null &&
        kf__pki_names_in server.crt; then
        return 0
    fi
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key.new \
        2>/dev/null || return 1
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=$KF_PKI_SAN" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >server.ext || return 1
    openssl req -new -key server.key.new -subj "/O=kioskfleet/CN=localhost" -out server.csr &&
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
            -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 -extfile server.ext \
            -out server.crt.new 2>/dev/null || return 1
    rm -f server.csr server.ext
    mv server.key.new server.key && mv server.crt.new server.crt
}

# kf_broker_conf PORT DATADIR PKIDIR AUTHDIR OUT: a broker of our own from the project's
# conf/mosquitto.conf (TLS, passwords, ACLs; a drop-in for Debian's conf.d), listening on
# 127.0.0.1:PORT, with the settings Debian's main mosquitto.conf would give it (persistence
# in DATADIR, logs on stderr) and its installed paths (/etc/kioskfleet/pki,
# /etc/kioskfleet/broker) replaced by PKIDIR and AUTHDIR. DATADIR (persistence) is given to
# the user mosquitto when the broker drops to it; AUTHDIR (passwd and acl, written by
# kiosk-provision broker-sync) is made group-readable by it.
kf_broker_conf() {
    local port=$1 data=$2 pki=$3 auth=$4 out=$5
    mkdir -p "$data" "$auth"
    {
        printf '%s\n' "# generated by kf_broker_conf from conf/mosquitto.conf" \
            "persistence true" "persistence_location $data/" "log_dest stderr"
        sed -e "s|^listener 8883\$|listener $port 127.0.0.1|" \
            -e "s|/etc/kioskfleet/pki/|$pki/|g" -e "s|/etc/kioskfleet/broker/|$auth/|g" \
            "$KF_ROOT/conf/mosquitto.conf"
    } >"$out"
    if ! grep -q "^listener $port 127.0.0.1\$" "$out" || grep -v '^#' "$out" | grep -q /etc/kioskfleet; then
        kf_log "error: kf_broker_conf: conf/mosquitto.conf no longer has 'listener 8883' and" \
            "/etc/kioskfleet/{pki,broker}/ paths to rewrite"
        return 1
    fi
    chmod 0750 "$auth"
    if kf_broker_drops_to_mosquitto; then
        chown mosquitto "$data"
        chgrp mosquitto "$auth"
        chmod o+x "$(dirname "$data")" "$(dirname "$auth")" # mktemp -d makes it 0700
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

# kf_csv_cols NAME...: the named columns of a kioskctl CSV on stdin (its header row names
# them; the byte order mark is skipped), one data row a line, the fields separated by
# spaces. For columns without commas or quotes in them (codes, counts, days).
kf_csv_cols() {
    LC_ALL=C awk -F, -v names="$*" '
        NR == 1 {
            sub(/^\357\273\277/, "")
            n = split(names, want, " ")
            for (i = 1; i <= NF; i++) idx[$i] = i
            for (k = 1; k <= n; k++)
                if (!(want[k] in idx)) { print "kf_csv_cols: no column " want[k] > "/dev/stderr"; exit 2 }
            next
        }
        { line = $(idx[want[1]]); for (k = 2; k <= n; k++) line = line " " $(idx[want[k]]); print line }'
}

# kf_csv_sum COLUMN [KEY_COLUMN VALUE]: the sum of a kioskctl CSV's numeric column on stdin
# (over the rows whose KEY_COLUMN is VALUE), 0 for none.
kf_csv_sum() {
    if [ $# -ge 3 ]; then
        kf_csv_cols "$2" "$1" | awk -v v="$3" '$1 == v {s += $2} END {print s + 0}'
    else
        kf_csv_cols "$1" | awk '{s += $1} END {print s + 0}'
    fi
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
