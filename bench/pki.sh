#!/usr/bin/env bash
# bench/pki.sh — the PKI's performance figures (issue 3), each measured back to
# back with its OpenSSL anchor in ONE run on this machine, ending with a Markdown
# table of ratios against the targets. docs/PERFORMANCE.md holds a run and explains
# every figure; ../shared/anchors/ (README.md, RESULTS.md) is where the anchors'
# methods come from.
#
#   sudo bash bench/pki.sh          (or as root: bash bench/pki.sh; ~15 min plus build)
#
# What it measures (medians of RUNS runs; runs of the two sides are interleaved so
# both see the same load on this shared machine):
#   1. OCSP responses/s over 100,000 certificates (10% revoked), the same kind of
#      request for each (83 bytes: SHA-1 CertID of a real issued certificate, no
#      nonce), wrk -t1 -c4 -d10s with the anchors' wrk/ocsp.lua, POST keep-alive and
#      POST "Connection: close":
#        `mynacard ocsp serve` (release) over a CA made by `mynacard ca init` and
#          filled by crates/cli/examples/bench_ca.rs (1 real + 99,999 records);
#        `openssl ocsp -index` over the anchors' setup.sh PKI (index.txt of 100,000),
#          plain and -multi 2;
#        the anchors' http-floor (axum, fixed body of our response's size): the
#          HTTP ceiling.
#      Every response is checked with `openssl ocsp -respin … -resp_text` first.
#   2. CRL of 1,000,000 revoked entries: `mynacard ca crl` over a repository loaded
#      with bulk_insert_revoked vs `openssl ca -gencrl` over the anchors' index.txt
#      (crl-openssl.sh): wall seconds, peak RSS (/usr/bin/time -v), DER bytes; both
#      CRLs verified by openssl and counted. Also the encoder alone
#      (crates/pki/examples/crl_bench.rs) and the fixed cost of the command (an
#      empty CRL).
#   3. Issuance: CertificateAuthority::issue in a loop (software key, SQLite
#      repository; bench_ca issue) on disk, on tmpfs, and on the 100k-record CA, vs
#      `openssl speed -seconds 3 rsa2048` sign/s; with the repository's per-call cost.
#   4. RSA-2048 key generation: SoftwareKey::generate (aws-lc-rs; keygen_bench.rs)
#      vs OpenSSL 4 (pip `cryptography` in a venv) and the system OpenSSL 3.0
#      (ctypes), the anchors' keygen.sh loops, 10 s each.
#
# Network: traffic is loopback only. The three HTTP servers and wrk run inside a
# private network namespace (`unshare --net`, only `lo`, up), because `openssl ocsp`
# binds the wildcard address; the others run there too so conditions are equal.
# Outside it, only apt-get (wrk, time), pip (cryptography) and cargo (crates) may
# fetch packages, before anything is measured.
#
# Time: everything runs under `timeout` (TOTAL_TIMEOUT, default 3600 s, build
# included); each wrk run is bounded (60 s), each server start (10 s), each CRL or
# loop command (600 s). Servers started here are stopped on exit, by PID.
#
# Outputs (RESULTS_DIR, default /tmp/mynacard-bench; wiped at start if it holds a
# previous run): SUMMARY.md (the table, also printed at the end), results.tsv
# (figure, run, value, unit: every run), machine.txt, raw/ (wrk, time -v, command
# outputs, openssl -resp_text), the CAs and CRLs it made.
#
# Env: RUNS (3), OCSP_CERTS (100000), REVOKE_EVERY (10), CRL_ENTRIES (1000000),
#      WRK_DURATION (10s), WRK_CONNS (4), WRK_THREADS (1), ISSUE_SECONDS (10),
#      SPEED_SECONDS (3), KEYGEN_SECONDS (10), ONLY ("ocsp crl issue keygen": a
#      subset), RESULTS_DIR, SHM_DIR (/dev/shm/mynacard-bench: the tmpfs),
#      VENV (/tmp/mynacard-bench-venv), ANCHORS (../shared/anchors), SKIP_BUILD=1,
#      TOTAL_TIMEOUT (3600).
# Benchmarks are not tests: nothing here fails on a slow figure; "met?" says.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SELF")/.." && pwd)"

export RUNS="${RUNS:-3}"
export OCSP_CERTS="${OCSP_CERTS:-100000}"
export REVOKE_EVERY="${REVOKE_EVERY:-10}"
export CRL_ENTRIES="${CRL_ENTRIES:-1000000}"
export WRK_DURATION="${WRK_DURATION:-10s}" WRK_CONNS="${WRK_CONNS:-4}" WRK_THREADS="${WRK_THREADS:-1}"
export ISSUE_SECONDS="${ISSUE_SECONDS:-10}"
export SPEED_SECONDS="${SPEED_SECONDS:-3}"
export KEYGEN_SECONDS="${KEYGEN_SECONDS:-10}"
export ONLY="${ONLY:-ocsp crl issue keygen}"
export BENCH_DIR="${RESULTS_DIR:-/tmp/mynacard-bench}"
export SHM_DIR="${SHM_DIR:-/dev/shm/mynacard-bench}"
export VENV="${VENV:-/tmp/mynacard-bench-venv}"
export ANCHORS="${ANCHORS:-$REPO/../shared/anchors}"
export TOTAL_TIMEOUT="${TOTAL_TIMEOUT:-3600}"

MY_PORT=8081 FLOOR_PORT=8090 OS_PORT=8888
TARGET="$REPO/target/release"
FLOOR_BUILD=/tmp/http-floor
MYNACARD="$TARGET/mynacard"
BENCH_CA="$TARGET/examples/bench_ca"
CRL_BENCH="$TARGET/examples/crl_bench"
KEYGEN_BENCH="$TARGET/examples/keygen_bench"
FLOOR_BIN="$FLOOR_BUILD/target/release/http-floor"
use_frozen() {  # the copies measured (a rebuild in the tree during the run cannot change them)
    MYNACARD="$BENCH_DIR/bin/mynacard" BENCH_CA="$BENCH_DIR/bin/bench_ca" CRL_BENCH="$BENCH_DIR/bin/crl_bench"
    KEYGEN_BENCH="$BENCH_DIR/bin/keygen_bench" FLOOR_BIN="$BENCH_DIR/bin/http-floor"
}

wants() { [[ " $ONLY " == *" $1 "* ]]; }
die() { echo "bench/pki.sh: $*" >&2; exit 1; }

# --- guards: root, one time bound for the whole run --------------------------------
[ "$(id -u)" = 0 ] || die "run as root (apt-get, unshare): sudo bash bench/pki.sh"
if [ -z "${BENCH_UNDER_TIMEOUT:-}" ]; then
    # timeout signals its whole process group when the bound is hit (servers included).
    exec env BENCH_UNDER_TIMEOUT=1 timeout --kill-after=30 "$TOTAL_TIMEOUT" bash "$SELF" "$@"
fi

# The anchors' helpers (gen_index_lines, write_ca_config, wait_port, stop_pid,
# wrk_run, log) from a writable copy; RESULTS_DIR/RAW_DIR point into ours.
if [ -z "${BENCH_PHASE:-}" ]; then
    [ -f "$ANCHORS/common.sh" ] || die "no anchors at $ANCHORS"
    if [ -e "$BENCH_DIR" ]; then
        [ -f "$BENCH_DIR/.mynacard-bench" ] || die "$BENCH_DIR exists and is not a previous run of this script: move it away or set RESULTS_DIR"
        rm -rf "$BENCH_DIR"
    fi
    mkdir -p "$BENCH_DIR/raw"
    touch "$BENCH_DIR/.mynacard-bench"
    cp -r "$ANCHORS" "$BENCH_DIR/anchors"
    chmod -R u+w "$BENCH_DIR/anchors"
    rm -rf "$BENCH_DIR/anchors/results"
fi
export RESULTS_DIR="$BENCH_DIR" PKI_DIR="$BENCH_DIR/anchor-pki"
# shellcheck source=/dev/null
. "$BENCH_DIR/anchors/common.sh"
RESULTS_FILE="$BENCH_DIR/results.tsv"
RAW="$BENCH_DIR/raw"
LUA="$BENCH_DIR/anchors/wrk/ocsp.lua"
PY="$VENV/bin/python3"

num() {  # python arithmetic -> printed value
    python3 -c "print($1)"
}

# timed LABEL RUN CMD...: runs CMD under /usr/bin/time -v (bounded), records wall
# seconds, peak RSS (MiB) and CPU seconds; CMD's output goes to raw/.
timed() {
    local label="$1" run="$2"; shift 2
    local tv="$RAW/time-$label-$run.txt" out="$RAW/out-$label-$run.txt" t0 t1
    sync
    t0=$(date +%s.%N)
    timeout 600 /usr/bin/time -v -o "$tv" "$@" > "$out" 2>&1 || { cat "$out" "$tv" >&2; die "$label failed"; }
    t1=$(date +%s.%N)
    local secs rss cpu
    secs=$(num "'%.3f' % ($t1 - $t0)")
    rss=$(awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$tv")
    cpu=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$tv")
    record "$label.seconds" "$run" "$secs" s
    record "$label.max_rss" "$run" "$rss" MiB
    record "$label.cpu_seconds" "$run" "$cpu" s
    log "$label run $run: ${secs} s wall, ${cpu} s CPU, peak RSS ${rss} MiB"
}

# kv FILE KEY: the value of a "key value" line written by the examples
kv() { awk -v k="$2" '$1 == k {print $2; exit}' "$1"; }

# ==================================================================================
# 1. OCSP (runs inside the private network namespace: BENCH_PHASE=ocsp)
# ==================================================================================
SRV_PID=""
stop_server() { if [ -n "$SRV_PID" ]; then stop_pid "$SRV_PID"; SRV_PID=""; fi; }
trap stop_server EXIT

start_server() {  # kind [extra args]; sets SRV_PID and PORT
    local kind="$1"; shift
    local logf="$RAW/server-$kind.log"
    case "$kind" in
        mynacard)
            PORT=$MY_PORT
            "$MYNACARD" ocsp serve --dir "$BENCH_DIR/ca-ocsp" --listen "127.0.0.1:$PORT" > "$logf" 2>&1 & ;;
        floor)
            PORT=$FLOOR_PORT
            FLOOR_ADDR="127.0.0.1:$PORT" FLOOR_BODY_BYTES="$(cat "$BENCH_DIR/ocsp/resp-mynacard.bytes")" \
                "$FLOOR_BIN" > "$logf" 2>&1 & ;;
        openssl|openssl-multi2)
            PORT=$OS_PORT
            openssl ocsp -index "$PKI_DIR/ica/index.txt" -CA "$PKI_DIR/ica/ica.pem" \
                -rsigner "$PKI_DIR/ocsp/ocsp.pem" -rkey "$PKI_DIR/ocsp/ocsp.key" -rmd sha256 -ndays 1 \
                -ignore_err -port "$PORT" "$@" > "$logf" 2>&1 & ;;
    esac
    SRV_PID=$!
    wait_port "$PORT" 200 || { cat "$logf" >&2; die "$kind did not start"; }
}

request_of() {  # kind -> the DER request it is asked
    case "$1" in
        openssl*) echo "$PKI_DIR/bench/req-good.der" ;;
        *) echo "$BENCH_DIR/ocsp/req-mynacard.der" ;;
    esac
}

post() {  # port req-file -> response on stdout
    curl -s -m 5 -X POST -H 'Content-Type: application/ocsp-request' --data-binary @"$2" "http://127.0.0.1:$1/"
}

check_response() {  # label resp CAfile issuer cert
    local label="$1" resp="$2" text="$RAW/resp-$1.txt"
    openssl ocsp -respin "$resp" -resp_text -CAfile "$3" -issuer "$4" -cert "$5" > "$text" 2>&1 || true
    grep -q "Response verify OK" "$text" || { cat "$text" >&2; die "$label: the response does not verify"; }
    grep -q "$(basename "$5"): good" "$text" || { cat "$text" >&2; die "$label: the status is not good"; }
    log "$label: response $(stat -c %s "$resp") bytes, verify OK, status good ($text)"
}

ocsp_phase() {
    local d="$BENCH_DIR/ocsp"
    log "OCSP, in a private network namespace: $(ip -brief addr | tr '\n' ' ')"

    # One verified answer from each server before any load.
    start_server mynacard
    post "$PORT" "$d/req-mynacard.der" > "$d/resp-mynacard.der"
    # A connection closed without a request (what wedges openssl ocsp) must not hurt.
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && exec 3>&-) 2>/dev/null || true
    sleep 0.2
    post "$PORT" "$d/req-mynacard.der" > "$d/resp-mynacard-2.der"
    record ocsp.mynacard.survives_idle_close 1 "$([ -s "$d/resp-mynacard-2.der" ] && echo 1 || echo 0)" bool
    stop_server
    check_response mynacard "$d/resp-mynacard.der" "$d/roots/sign-root.pem" "$d/roots/sign-root.pem" "$d/real.pem"
    stat -c %s "$d/resp-mynacard.der" > "$d/resp-mynacard.bytes"
    record ocsp.mynacard.response_bytes 1 "$(cat "$d/resp-mynacard.bytes")" bytes
    record ocsp.mynacard.request_bytes 1 "$(stat -c %s "$d/req-mynacard.der")" bytes

    start_server openssl
    post "$PORT" "$PKI_DIR/bench/req-good.der" > "$d/resp-openssl.der"
    stop_server
    check_response openssl "$d/resp-openssl.der" "$PKI_DIR/chain.pem" "$PKI_DIR/ica/ica.pem" "$PKI_DIR/ee/certs/1.pem"
    record ocsp.openssl.response_bytes 1 "$(stat -c %s "$d/resp-openssl.der")" bytes
    record ocsp.openssl.request_bytes 1 "$(stat -c %s "$PKI_DIR/bench/req-good.der")" bytes

    start_server floor
    local got; got=$(post "$PORT" "$d/req-mynacard.der" | wc -c)
    stop_server
    [ "$got" = "$(cat "$d/resp-mynacard.bytes")" ] || die "floor: body of $got bytes"
    log "floor: fixed body of $got bytes (our response's size)"

    local r kind mode res rps p50 p99 err alive req
    for r in $(seq 1 "$RUNS"); do
        for kind in mynacard floor openssl openssl-multi2; do
            for mode in keepalive close; do
                local extra=(); [ "$kind" = openssl-multi2 ] && extra=(-multi 2)
                if [ "$kind" = openssl-multi2 ]; then start_server openssl "${extra[@]}"; else start_server "$kind"; fi
                req=$(request_of "$kind")
                post "$PORT" "$req" > /dev/null || true      # warm: first answer (signs and caches for us)
                res=$(WRK_CONN_CLOSE=$([ "$mode" = close ] && echo 1 || echo 0) WRK_BODY_FILE="$req" \
                      wrk_run "ocsp-$kind-$mode" "http://127.0.0.1:$PORT/" "$LUA") || true
                alive=$( (post "$PORT" "$req" || true) | wc -c)
                stop_server
                read -r rps p50 p99 err <<< "$res"
                record "ocsp.$kind.$mode.rps" "$r" "$rps" req/s
                record "ocsp.$kind.$mode.p50" "$r" "$p50" ms
                record "ocsp.$kind.$mode.p99" "$r" "$p99" ms
                record "ocsp.$kind.$mode.errors" "$r" "$err" count
                record "ocsp.$kind.$mode.alive_after" "$r" "$([ "$alive" -gt 0 ] && echo 1 || echo 0)" bool
                log "ocsp $kind $mode run $r: $rps req/s, p50 ${p50} ms, p99 ${p99} ms, errors $err, answers after: $([ "$alive" -gt 0 ] && echo yes || echo NO)"
            done
        done
    done
}

if [ "${BENCH_PHASE:-}" = ocsp ]; then
    use_frozen
    ocsp_phase
    exit 0
fi

# ==================================================================================
# Set-up (outside the namespace): packages, builds, fixtures
# ==================================================================================
log "results in $BENCH_DIR; runs: $RUNS; phases: $ONLY"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; }
command -v cargo >/dev/null || die "cargo (Rust) is needed"
for tool in openssl curl ss unshare ip python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done
if [ ! -x "$PY" ] || ! "$PY" -c 'import cryptography' 2>/dev/null; then
    log "venv with cryptography in $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --disable-pip-version-check cryptography
fi

steal() { awk '/^cpu /{print $9}' /proc/stat; }
{
    echo "date: $(date -u +%FT%TZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') MHz)"
    echo "hypervisor: $(lscpu | awk -F: '/Hypervisor vendor/{gsub(/^ +/,"",$2); print $2}')"
    echo "memory: $(free -g | awk '/Mem:/{print $2}') GiB"
    echo "kernel: $(uname -r)"
    echo "os: Debian $(cat /etc/debian_version)"
    echo "openssl: $(openssl version)"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    echo "rustc: $(rustc --version)"
    echo "aws-lc-rs: $(awk '/^name = "aws-lc-rs"/{getline; print $3}' "$REPO/Cargo.lock" | tr -d '"')"
    echo "python venv: $("$PY" --version 2>&1), $("$PY" -c 'import cryptography; from cryptography.hazmat.backends.openssl import backend as b; print("cryptography", cryptography.__version__, "bundling", b.openssl_version_text())')"
    echo "git: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); uncommitted: $(git -C "$REPO" status --short 2>/dev/null | tr '\n' ' ')"
    echo "loadavg before: $(cat /proc/loadavg)"
} > "$BENCH_DIR/machine.txt"
S0=$(steal); T0=$(date +%s)

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release (mynacard, examples bench_ca crl_bench keygen_bench)"
    (cd "$REPO" && cargo build --release --locked --quiet -p mynacard --bin mynacard --example bench_ca \
        && cargo build --release --locked --quiet -p mynacard-pki --example crl_bench --example keygen_bench)
    if wants ocsp; then
        log "cargo build --release of the anchors' http-floor in $FLOOR_BUILD"
        mkdir -p "$FLOOR_BUILD"; rm -rf "$FLOOR_BUILD/src"
        cp -r "$BENCH_DIR/anchors/http-floor/Cargo.toml" "$BENCH_DIR/anchors/http-floor/Cargo.lock" \
              "$BENCH_DIR/anchors/http-floor/src" "$FLOOR_BUILD/"
        (cd "$FLOOR_BUILD" && cargo build --release --quiet)
    fi
fi
for b in "$MYNACARD" "$BENCH_CA" "$CRL_BENCH" "$KEYGEN_BENCH"; do [ -x "$b" ] || die "missing $b (build)"; done
! wants ocsp || [ -x "$FLOOR_BIN" ] || die "missing $FLOOR_BIN (build)"
mkdir -p "$BENCH_DIR/bin"
cp "$MYNACARD" "$BENCH_CA" "$CRL_BENCH" "$KEYGEN_BENCH" "$BENCH_DIR/bin/"
if [ -x "$FLOOR_BIN" ]; then cp "$FLOOR_BIN" "$BENCH_DIR/bin/"; fi
use_frozen
: > "$RESULTS_FILE"
echo "setup_seconds_before_measuring $(( $(date +%s) - T0 ))" >> "$BENCH_DIR/machine.txt"

# The anchors' openssl PKI (index.txt of OCSP_CERTS entries, every REVOKE_EVERY-th revoked).
if wants ocsp || wants crl; then
    log "anchors' setup.sh: openssl PKI with $OCSP_CERTS index entries in $PKI_DIR"
    N="$OCSP_CERTS" REVOKE_EVERY="$REVOKE_EVERY" bash "$BENCH_DIR/anchors/setup.sh" > "$RAW/anchor-setup.log" 2>&1 \
        || { tail -20 "$RAW/anchor-setup.log" >&2; die "anchors' setup.sh failed"; }
    mkdir -p "$PKI_DIR/bench"
    openssl ocsp -issuer "$PKI_DIR/ica/ica.pem" -cert "$PKI_DIR/ee/certs/1.pem" -no_nonce \
        -reqout "$PKI_DIR/bench/req-good.der" > /dev/null
fi

# Our CA for OCSP: init and fill on tmpfs (each repository call is a transaction
# with an fsync; ~3 ms each on this disk), then copy to disk.
if wants ocsp; then
    d="$BENCH_DIR/ocsp"; mkdir -p "$d"
    rm -rf "$SHM_DIR"; mkdir -p "$SHM_DIR"
    "$MYNACARD" ca init --dir "$SHM_DIR/ca-ocsp" > "$RAW/ca-init-ocsp.txt"
    log "bench_ca populate: 1 real certificate (CertificateAuthority::issue) + $((OCSP_CERTS - 1)) records, every ${REVOKE_EVERY}th revoked"
    "$BENCH_CA" populate --dir "$SHM_DIR/ca-ocsp" --count "$OCSP_CERTS" --revoke-every "$REVOKE_EVERY" \
        --cert-out "$d/real.pem" > "$RAW/populate.txt"
    cat "$RAW/populate.txt" >&2
    cp -a "$SHM_DIR/ca-ocsp" "$BENCH_DIR/ca-ocsp"
    rm -rf "$SHM_DIR/ca-ocsp"
    "$MYNACARD" ca roots --dir "$BENCH_DIR/ca-ocsp" --out-dir "$d/roots" > /dev/null
    openssl ocsp -issuer "$d/roots/sign-root.pem" -cert "$d/real.pem" -no_nonce -reqout "$d/req-mynacard.der" > /dev/null
    record setup.mynacard_records 1 "$(kv "$RAW/populate.txt" records)" count
    record setup.mynacard_revoked 1 "$(kv "$RAW/populate.txt" revoked)" count
    record setup.openssl_index_entries 1 "$(wc -l < "$PKI_DIR/ica/index.txt")" count
    record setup.openssl_index_revoked 1 "$(grep -c '^R' "$PKI_DIR/ica/index.txt")" count
fi

# ==================================================================================
# 1. OCSP: re-run this script inside a private network namespace
# ==================================================================================
if wants ocsp; then
    echo "loadavg before ocsp: $(cat /proc/loadavg)" >> "$BENCH_DIR/machine.txt"
    # shellcheck disable=SC2016  # $0 expands in the inner bash
    if ! unshare --net -- env BENCH_PHASE=ocsp bash -c 'ip link set lo up && exec bash "$0"' "$SELF" \
        2>&1 | tee "$RAW/ocsp.log" >&2; then
        die "the OCSP phase failed (see $RAW/ocsp.log)"
    fi
fi

# ==================================================================================
# 2. CRL of CRL_ENTRIES revoked entries
# ==================================================================================
if wants crl; then
    echo "loadavg before crl: $(cat /proc/loadavg)" >> "$BENCH_DIR/machine.txt"
    d="$BENCH_DIR/crl"; od="$d/openssl"; mkdir -p "$od"
    # openssl: the anchors' crl-openssl.sh case "rev$CRL_ENTRIES" (every line revoked).
    write_ca_config "$od" "$PKI_DIR/ica/ica.key" "$PKI_DIR/ica/ica.pem"
    gen_index_lines 1 "$CRL_ENTRIES" 1 > "$od/index.txt"
    log "openssl index.txt: $(wc -l < "$od/index.txt") lines, $(grep -c '^R' "$od/index.txt") revoked"
    # ours: a CA whose repository holds CRL_ENTRIES revoked entries of the signature root
    "$MYNACARD" ca init --dir "$BENCH_DIR/ca-crl" > "$RAW/ca-init-crl.txt"
    "$BENCH_CA" revoked --dir "$BENCH_DIR/ca-crl" --count "$CRL_ENTRIES" > "$RAW/revoked.txt"
    log "bulk_insert_revoked: $(kv "$RAW/revoked.txt" inserted) entries in $(kv "$RAW/revoked.txt" insert_seconds) s"
    "$MYNACARD" ca roots --dir "$BENCH_DIR/ca-crl" --out-dir "$d/roots" > /dev/null
    # the encoder alone signs with the anchors' issuing CA, so openssl can check it too
    openssl x509 -in "$PKI_DIR/ica/ica.pem" -outform DER -out "$d/ica.der"
    openssl pkcs8 -topk8 -nocrypt -in "$PKI_DIR/ica/ica.key" -outform DER -out "$d/ica.pk8"

    for r in $(seq 1 "$RUNS"); do
        timed crl.openssl "$r" openssl ca -gencrl -config "$od/ca.cnf" -out "$od/crl.pem"
        timed crl.mynacard "$r" "$MYNACARD" ca crl --dir "$BENCH_DIR/ca-crl" --ca sign --out "$d/mynacard.der"
        timed crl.mynacard_empty "$r" "$MYNACARD" ca crl --dir "$BENCH_DIR/ca-crl" --ca auth --out "$d/mynacard-empty.der"
        verify=(); [ "$r" = 1 ] && verify=(--verify)
        "$CRL_BENCH" "$CRL_ENTRIES" --out "$d/encoder.der" --ca-cert "$d/ica.der" --ca-key "$d/ica.pk8" "${verify[@]}" \
            > "$RAW/crl_bench-$r.txt"
        record crl.encoder.seconds "$r" "$(awk '/^seconds/{print $2}' "$RAW/crl_bench-$r.txt")" s
        record crl.encoder.max_rss "$r" "$(awk '/^peak RSS/{print $3}' "$RAW/crl_bench-$r.txt")" MiB
        log "crl_bench run $r: $(awk '/^seconds/{print $2}' "$RAW/crl_bench-$r.txt") s, peak $(awk '/^peak RSS/{print $3}' "$RAW/crl_bench-$r.txt") MiB"
    done
    # Both CRLs: signature verified by openssl, entries counted.
    openssl crl -in "$od/crl.pem" -outform DER -out "$od/crl.der"
    count_crl() { "$PY" -c 'import sys; from cryptography import x509; c=x509.load_der_x509_crl(open(sys.argv[1],"rb").read()); print(sum(1 for _ in c))' "$1"; }
    for pair in "openssl:$od/crl.der:$PKI_DIR/chain.pem" "mynacard:$d/mynacard.der:$d/roots/sign-root.pem" \
                "encoder:$d/encoder.der:$PKI_DIR/chain.pem"; do
        IFS=: read -r who file cafile <<< "$pair"
        openssl crl -in "$file" -inform DER -CAfile "$cafile" -noout > "$RAW/crl-verify-$who.txt" 2>&1 || true
        grep -q 'verify OK' "$RAW/crl-verify-$who.txt" || { cat "$RAW/crl-verify-$who.txt" >&2; die "$who CRL does not verify"; }
        n=$(count_crl "$file")
        [ "$n" = "$CRL_ENTRIES" ] || die "$who CRL has $n entries, expected $CRL_ENTRIES"
        record "crl.$who.entries" 1 "$n" count
        record "crl.$who.der_bytes" 1 "$(stat -c %s "$file")" bytes
        log "$who CRL: verify OK, $n entries, $(stat -c %s "$file") bytes DER"
    done
    record crl.openssl.pem_bytes 1 "$(stat -c %s "$od/crl.pem")" bytes
    rm -f "$od/crl.pem" "$od/index.txt" "$d/encoder.der"
fi

# ==================================================================================
# 3. Issuance
# ==================================================================================
if wants issue; then
    echo "loadavg before issue: $(cat /proc/loadavg)" >> "$BENCH_DIR/machine.txt"
    mkdir -p "$SHM_DIR"
    # disk and tmpfs: a fresh CA for every run (issue() counts the hierarchy's
    # certificates each time, so the rate depends on how many there are already);
    # disk100k: the OCSP phase's CA, 100,000 records and growing with each run.
    variants=("disk:$BENCH_DIR/ca-issue" "tmpfs:$SHM_DIR/ca-issue")
    [ -d "$BENCH_DIR/ca-ocsp" ] && variants+=("disk100k:$BENCH_DIR/ca-ocsp")
    for r in $(seq 1 "$RUNS"); do
        rm -rf "$BENCH_DIR/ca-issue" "$SHM_DIR/ca-issue"
        "$MYNACARD" ca init --dir "$BENCH_DIR/ca-issue" > /dev/null
        "$MYNACARD" ca init --dir "$SHM_DIR/ca-issue" > /dev/null
        out=$(openssl speed -seconds "$SPEED_SECONDS" rsa2048 2>/dev/null)
        echo "$out" > "$RAW/speed-$r.txt"
        record issue.openssl_speed.sign_per_s "$r" "$(echo "$out" | awk '/^rsa 2048 bits/{print $6}')" sign/s
        log "openssl speed rsa2048 run $r: $(echo "$out" | awk '/^rsa 2048 bits/{print $6}') sign/s"
        read -r rate _ <<< "$(timeout 600 "$KEYGEN_BENCH" --sign --seconds "$SPEED_SECONDS")"
        record issue.awslc_sign.sign_per_s "$r" "$rate" sign/s
        log "aws-lc-rs RSA-2048 sign (keygen_bench --sign) run $r: $rate sign/s"
        for v in "${variants[@]}"; do
            name="${v%%:*}" dir="${v#*:}"
            f="$RAW/issue-$name-$r.txt"
            timeout 600 "$BENCH_CA" issue --dir "$dir" --seconds "$ISSUE_SECONDS" > "$f"
            for k in issue_per_s issue_first200_per_s sign_per_s issue_ms issued_count_ms record_pending_ms record_issued_ms records_at_start; do
                record "issue.$name.$k" "$r" "$(kv "$f" "$k")" "$k"
            done
            log "issue $name run $r: $(kv "$f" issue_per_s)/s (first 200: $(kv "$f" issue_first200_per_s)/s; $(kv "$f" issue_ms) ms: issued_count $(kv "$f" issued_count_ms), record_pending $(kv "$f" record_pending_ms), record_issued $(kv "$f" record_issued_ms) ms; sign alone $(kv "$f" sign_per_s)/s; $(kv "$f" records_at_start) records before)"
        done
    done
    rm -rf "$SHM_DIR/ca-issue"
fi

# ==================================================================================
# 4. RSA-2048 key generation
# ==================================================================================
if wants keygen; then
    echo "loadavg before keygen: $(cat /proc/loadavg)" >> "$BENCH_DIR/machine.txt"
    # The anchors' loops (keygen.sh: keygen_py rsa, keygen_syslib), verbatim.
    cat > "$BENCH_DIR/keygen_py.py" <<'EOF'
import sys, time
from cryptography.hazmat.primitives.asymmetric import rsa
budget = float(sys.argv[1])
n, t0 = 0, time.perf_counter()
while True:
    rsa.generate_private_key(public_exponent=65537, key_size=2048); n += 1
    el = time.perf_counter() - t0
    if el >= budget and n >= 20:
        break
print("%.2f %d" % (n / el, n))
EOF
    cat > "$BENCH_DIR/keygen_syslib.py" <<'EOF'
import ctypes, ctypes.util, sys, time
lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
lib.EVP_PKEY_CTX_new_from_name.restype = ctypes.c_void_p
lib.EVP_PKEY_CTX_new_from_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
lib.EVP_PKEY_keygen_init.argtypes = [ctypes.c_void_p]
lib.EVP_PKEY_CTX_set_rsa_keygen_bits.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.EVP_PKEY_generate.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.EVP_PKEY_free.argtypes = [ctypes.c_void_p]
ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"RSA", None)
assert lib.EVP_PKEY_keygen_init(ctx) == 1 and lib.EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1
budget, n, t0 = float(sys.argv[1]), 0, time.perf_counter()
while True:
    k = ctypes.c_void_p()
    assert lib.EVP_PKEY_generate(ctx, ctypes.byref(k)) == 1
    lib.EVP_PKEY_free(k); n += 1
    el = time.perf_counter() - t0
    if el >= budget and n >= 20:
        break
print("%.2f %d" % (n / el, n))
EOF
    "$PY" -c 'from cryptography.hazmat.backends.openssl import backend as b; print(b.openssl_version_text())' > "$RAW/openssl4-version.txt"
    python3 -c 'import ctypes,ctypes.util; l=ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3"); l.OpenSSL_version.restype=ctypes.c_char_p; print(l.OpenSSL_version(0).decode())' > "$RAW/syslib-version.txt"
    for r in $(seq 1 "$RUNS"); do
        read -r rate n _ <<< "$(timeout 600 "$KEYGEN_BENCH" --seconds "$KEYGEN_SECONDS")"
        record keygen.mynacard.keys_per_s "$r" "$rate" keys/s
        log "keygen aws-lc-rs run $r: $rate keys/s ($n keys)"
        read -r rate n <<< "$(timeout 600 "$PY" "$BENCH_DIR/keygen_py.py" "$KEYGEN_SECONDS")"
        record keygen.openssl4.keys_per_s "$r" "$rate" keys/s
        log "keygen $(cat "$RAW/openssl4-version.txt") (cryptography) run $r: $rate keys/s ($n keys)"
        read -r rate n <<< "$(timeout 600 python3 "$BENCH_DIR/keygen_syslib.py" "$KEYGEN_SECONDS")"
        record keygen.syslib.keys_per_s "$r" "$rate" keys/s
        log "keygen $(cat "$RAW/syslib-version.txt") (system libcrypto) run $r: $rate keys/s ($n keys)"
    done
fi

# ==================================================================================
# Summary
# ==================================================================================
S1=$(steal); T1=$(date +%s)
{
    echo "loadavg after: $(cat /proc/loadavg)"
    echo "wall seconds (measuring, after builds): $((T1 - T0))"
    echo "cpu steal during run: $((S1 - S0)) ticks of $(getconf CLK_TCK)/s over $((T1 - T0)) s x $(nproc) cpus"
} >> "$BENCH_DIR/machine.txt"

cat > "$BENCH_DIR/summarize.py" <<'EOF'
"""SUMMARY.md from results.tsv: medians of the runs, ratios against the anchors."""
import collections, statistics, sys

rows = collections.defaultdict(dict)
units = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) != 4 or f[2] in ("", "NA"):
        continue
    rows[f[0]][int(f[1])] = float(f[2])
    units[f[0]] = f[3]

def med(k):
    v = list(rows.get(k, {}).values())
    return statistics.median(v) if v else None

def rng(k):
    v = list(rows.get(k, {}).values())
    return (min(v), max(v)) if len(v) > 1 else None

def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:,.1f}"
    else:
        s = f"{x:,.2f}"
    return f"{s} {unit}".strip()

def with_range(k, unit):
    m, r = med(k), rng(k)
    if m is None:
        return "n/a"
    return fmt(m, unit) + (f" ({fmt(r[0])}–{fmt(r[1])})" if r else "")

def per_run_ratio(a, b, invert=False):
    """Ratio a/b run by run (runs of the two sides are interleaved)."""
    ra, rb = rows.get(a, {}), rows.get(b, {})
    out = [(rb[i] / ra[i]) if invert else (ra[i] / rb[i]) for i in ra if i in rb and ra[i] and rb[i]]
    return (min(out), max(out)) if len(out) > 1 else None

table = []
def row(figure, ours, anchor, unit, kind, target, note=""):
    """kind: 'x' ours/anchor as a factor; 'pct' ours/anchor in %;
    'faster' anchor/ours (time); 'frac' ours/anchor (memory)."""
    mo, ma = med(ours), med(anchor)
    if mo is None or ma is None:
        table.append((figure, with_range(ours, unit), with_range(anchor, unit), "n/a", target[0], "n/a"))
        return
    if kind == "faster":
        ratio, rr = ma / mo, per_run_ratio(ours, anchor, invert=True)
    else:
        ratio, rr = mo / ma, per_run_ratio(ours, anchor)
    if kind == "pct":
        rs = f"{ratio*100:.0f} %" + (f" ({rr[0]*100:.0f}–{rr[1]*100:.0f})" if rr else "")
    elif kind == "frac":
        rs = f"{ratio:.2f}" + (f" ({rr[0]:.2f}–{rr[1]:.2f})" if rr else "")
    else:
        rs = f"{ratio:.1f}×" + (f" ({rr[0]:.1f}–{rr[1]:.1f})" if rr else "")
    label, test = target
    met = "—" if test is None else ("yes" if test(ratio) else "**no**")
    table.append((figure, with_range(ours, unit), with_range(anchor, unit), rs, label, met))

KA, CL = "keepalive", "close"
row("OCSP resp/s, keep-alive: mynacard vs `openssl ocsp`", f"ocsp.mynacard.{KA}.rps", f"ocsp.openssl.{KA}.rps", "", "x", ("≥ 20×", lambda r: r >= 20))
row("OCSP resp/s, keep-alive: mynacard vs `openssl ocsp -multi 2`", f"ocsp.mynacard.{KA}.rps", f"ocsp.openssl-multi2.{KA}.rps", "", "x", ("(info)", None))
row("OCSP resp/s, keep-alive: mynacard vs HTTP floor", f"ocsp.mynacard.{KA}.rps", f"ocsp.floor.{KA}.rps", "", "pct", ("≥ 70 %", lambda r: r >= 0.70))
row("OCSP resp/s, `Connection: close`: mynacard vs `openssl ocsp`", f"ocsp.mynacard.{CL}.rps", f"ocsp.openssl.{CL}.rps", "", "x", ("(info)", None))
row("OCSP resp/s, `Connection: close`: mynacard vs HTTP floor", f"ocsp.mynacard.{CL}.rps", f"ocsp.floor.{CL}.rps", "", "pct", ("(info)", None))
row("CRL 1M entries, wall s: `mynacard ca crl` vs `openssl ca -gencrl`", "crl.mynacard.seconds", "crl.openssl.seconds", "s", "faster", ("≥ 4× faster", lambda r: r >= 4))
row("CRL 1M entries, peak RSS: `mynacard ca crl` vs `openssl ca -gencrl`", "crl.mynacard.max_rss", "crl.openssl.max_rss", "MiB", "frac", ("≤ 0.20", lambda r: r <= 0.20))
row("CRL 1M entries, DER bytes", "crl.mynacard.der_bytes", "crl.openssl.der_bytes", "", "frac", ("(info)", None))
row("CRL 1M, encoder alone (crl_bench) vs `openssl ca -gencrl`, wall s", "crl.encoder.seconds", "crl.openssl.seconds", "s", "faster", ("(info)", None))
row("CRL 1M, encoder alone (crl_bench) vs `openssl ca -gencrl`, peak RSS", "crl.encoder.max_rss", "crl.openssl.max_rss", "MiB", "frac", ("(info)", None))
row("Issuance/s, repository on disk vs `openssl speed` sign/s", "issue.disk.issue_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("≥ 80 %", lambda r: r >= 0.80))
row("Issuance/s, repository on tmpfs vs `openssl speed` sign/s", "issue.tmpfs.issue_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("≥ 80 %", lambda r: r >= 0.80))
row("Issuance/s, 100k-record CA on disk vs `openssl speed` sign/s", "issue.disk100k.issue_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("(info)", None))
row("Issuance/s, first 200 certificates, tmpfs, vs `openssl speed` sign/s", "issue.tmpfs.issue_first200_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("(info)", None))
row("Issuance/s, first 200 certificates, disk, vs `openssl speed` sign/s", "issue.disk.issue_first200_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("(info)", None))
row("RSA-2048 sign/s alone: aws-lc-rs vs `openssl speed`", "issue.awslc_sign.sign_per_s", "issue.openssl_speed.sign_per_s", "", "pct", ("(info)", None))
row("RSA-2048 keygen/s: aws-lc-rs vs OpenSSL 4 (cryptography)", "keygen.mynacard.keys_per_s", "keygen.openssl4.keys_per_s", "", "x", ("≥ 1×", lambda r: r >= 1))
row("RSA-2048 keygen/s: aws-lc-rs vs system OpenSSL 3.0", "keygen.mynacard.keys_per_s", "keygen.syslib.keys_per_s", "", "x", ("(info)", None))

out = []
out.append("| figure | ours | anchor | ratio (per-run range) | target | met? |")
out.append("|---|---:|---:|---:|---|---|")
for t in table:
    out.append("| " + " | ".join(t) + " |")
out.append("")
out.append("Medians of the runs, (min–max) below them; ratios are of the medians, the range in")
out.append("brackets is the ratio run by run (runs of the two sides alternate).")
out.append("")
out.append("### OCSP detail (median req/s, p50 / p99 ms, errors, answers after the run)")
out.append("")
out.append("| server | mode | req/s | p50 ms | p99 ms | errors | alive after |")
out.append("|---|---|---:|---:|---:|---:|---:|")
for kind in ("mynacard", "floor", "openssl", "openssl-multi2"):
    for mode in (KA, CL):
        k = f"ocsp.{kind}.{mode}"
        if med(k + ".rps") is None:
            continue
        alive = rows.get(k + ".alive_after", {})
        out.append(f"| {kind} | {mode} | {with_range(k + '.rps', '')} | {fmt(med(k + '.p50'))} | {fmt(med(k + '.p99'))} | "
                   f"{int(sum(rows.get(k + '.errors', {}).values()))} | {int(sum(alive.values()))}/{len(alive)} |")
out.append("")
out.append("### Decomposition (medians)")
out.append("")
out.append("| figure | value |")
out.append("|---|---:|")
for k, label in [
    ("ocsp.mynacard.response_bytes", "mynacard OCSP response, bytes"),
    ("ocsp.openssl.response_bytes", "openssl OCSP response, bytes"),
    ("ocsp.mynacard.request_bytes", "request, bytes (mynacard)"),
    ("ocsp.openssl.request_bytes", "request, bytes (openssl)"),
    ("ocsp.mynacard.survives_idle_close", "mynacard answers after a connection closed without a request (1 = yes)"),
    ("crl.mynacard.cpu_seconds", "`mynacard ca crl` 1M: CPU s (user+sys)"),
    ("crl.openssl.cpu_seconds", "`openssl ca -gencrl` 1M: CPU s (user+sys)"),
    ("crl.mynacard_empty.seconds", "`mynacard ca crl` of an empty CRL (fixed cost): wall s"),
    ("crl.mynacard_empty.cpu_seconds", "`mynacard ca crl` of an empty CRL: CPU s"),
    ("crl.mynacard_empty.max_rss", "`mynacard ca crl` of an empty CRL: peak RSS MiB"),
    ("issue.disk.issue_ms", "issue(), disk: ms per certificate"),
    ("issue.disk.record_pending_ms", "  record_pending, disk: ms"),
    ("issue.disk.record_issued_ms", "  record_issued, disk: ms"),
    ("issue.disk.issued_count_ms", "  issued_count, disk: ms"),
    ("issue.tmpfs.issue_ms", "issue(), tmpfs: ms per certificate"),
    ("issue.tmpfs.record_pending_ms", "  record_pending, tmpfs: ms"),
    ("issue.tmpfs.record_issued_ms", "  record_issued, tmpfs: ms"),
    ("issue.tmpfs.issued_count_ms", "  issued_count, tmpfs: ms"),
    ("issue.disk100k.issue_ms", "issue(), 100k-record CA on disk: ms per certificate"),
    ("issue.disk100k.issued_count_ms", "  issued_count, 100k records: ms"),
    ("issue.disk100k.records_at_start", "  records in that CA before the run"),
]:
    if med(k) is not None:
        out.append(f"| {label} | {fmt(med(k))} |")
print("\n".join(out))
EOF
python3 "$BENCH_DIR/summarize.py" "$RESULTS_FILE" > "$BENCH_DIR/SUMMARY.md"
{
    echo
    echo "## mynacard PKI benchmark ($(date -u +%FT%TZ), $(nproc) CPUs, RUNS=$RUNS; details in $BENCH_DIR)"
    echo
    cat "$BENCH_DIR/SUMMARY.md"
}
