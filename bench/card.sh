#!/usr/bin/env bash
# bench/card.sh — the virtual card's figures (issue 4), each measured in ONE run
# with its anchor, runs interleaved so both sides see the same load on this
# shared machine; ends with a Markdown table of ratios. docs/PERFORMANCE.md
# holds a run and explains it.
#
#   bash bench/card.sh          (as root: it may start pcscd; ~5 min plus build)
#
# Figures (medians of RUNS runs, SECONDS each; crates/reader/examples/card_bench.rs):
#   1. APDU round trips in process: SELECT EF + READ BINARY of 256 bytes, and
#      an empty VERIFY (tries left), on a card made by `mynacard card new`.
#   2. APDU round trips through pcscd: the same pair through the pcsc crate,
#      pcscd, vsmartcard's vpcd driver and `mynacard card insert` (loopback TCP).
#      Anchor: the in-process figure (the ratio is the transport's share).
#   3. A right VERIFY on the card's file storage: the try counter decremented
#      and committed durably (fsync, rename) before the compare, restored after:
#      two durable writes per VERIFY. Anchor: none; the fsync rate of the disk
#      under the card file is what bounds it.
#   4. Signatures on the card, in process: COMPUTE DIGITAL SIGNATURE with a
#      SHA-256 DigestInfo (the aws-lc-rs path) and a SHA-1 DigestInfo (the RSA
#      crate path, what jpki-rs sends); through pcscd, VERIFY + SELECT + SIGN
#      per signature. Anchor: `openssl speed -seconds SPEED_SECONDS rsa2048` sign/s.
#   5. On-card key generation: GENERATE KEY PAIR through a management session.
#      Anchor: RSA-2048 keys/s of OpenSSL through Python `cryptography` (which
#      bundles OpenSSL 3.x/4; version recorded), as ../shared/anchors/keygen.sh does.
#
# Outputs (RESULTS_DIR, default /tmp/mynacard-card-bench, wiped at start):
# SUMMARY.md (the table, printed at the end), results.tsv (every run).
# Env: RUNS (3), SECONDS_EACH (5), SPEED_SECONDS (3), RESULTS_DIR, SKIP_BUILD=1,
#      VENV (/tmp/mynacard-bench-venv), VPCD_PORT (35963).
# Benchmarks are not tests: nothing here fails on a slow figure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
SECONDS_EACH="${SECONDS_EACH:-5}"
SPEED_SECONDS="${SPEED_SECONDS:-3}"
OUT="${RESULTS_DIR:-/tmp/mynacard-card-bench}"
VENV="${VENV:-/tmp/mynacard-bench-venv}"
VPCD_PORT="${VPCD_PORT:-35963}"

log() { printf '==> %s\n' "$*" >&2; }
rm -rf "$OUT" && mkdir -p "$OUT"
: >"$OUT/results.tsv"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/results.tsv"; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  log "building (release)"
  (cd "$REPO" && cargo build --release --locked --bin mynacard --example card_bench -p mynacard -p mynacard-reader)
fi
cp "$REPO/target/release/mynacard" "$REPO/target/release/examples/card_bench" "$OUT/"
M="$OUT/mynacard" B="$OUT/card_bench"

if ! "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
  log "installing cryptography into $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q cryptography
fi
KEYGEN_PY=$("$VENV/bin/python" -c 'import cryptography; from cryptography.hazmat.backends.openssl import backend as b; print("cryptography", cryptography.__version__, "/", b.openssl_version_text())')

log "a CA and a card"
cat >"$OUT/holder.json" <<'EOF'
{"name":"番号　花子","address":"東京都千代田区霞が関２－１－２","birth_date":"1985-04-01","sex":"female","municipality":"Chiyoda-ku"}
EOF
"$M" ca init --dir "$OUT/ca" --test >/dev/null
"$M" card new --out "$OUT/card" --ca-dir "$OUT/ca" --holder "$OUT/holder.json" --my-number 123456789018 \
  --auth-pin 1234 --sign-pin ABC123 --input-pin 5678 >/dev/null

bench() { # figure run args… → records the rate
  local figure=$1 run=$2; shift 2
  local rate unit
  read -r rate unit _ < <("$B" "$@" --seconds "$SECONDS_EACH")
  record "$figure" "$run" "$rate" "$unit"
  log "$figure run $run: $rate $unit"
}

keygen_anchor() {
  "$VENV/bin/python" - "$SECONDS_EACH" <<'PY'
import sys, time
from cryptography.hazmat.primitives.asymmetric import rsa
budget, n, t0 = float(sys.argv[1]), 0, time.perf_counter()
while True:
    rsa.generate_private_key(public_exponent=65537, key_size=2048); n += 1
    el = time.perf_counter() - t0
    if el >= budget and n >= 20:
        break
print("%.2f" % (n / el))
PY
}

# pcscd and the card in vpcd, for the transport figures.
if ! pgrep -x pcscd >/dev/null; then
  log "starting pcscd"
  pcscd --foreground >"$OUT/pcscd.log" 2>&1 &
  pids+=($!)
  sleep 1
fi
"$M" card insert "$OUT/card" --vpcd "127.0.0.1:$VPCD_PORT" 2>"$OUT/insert.log" &
pids+=($!)
for _ in $(seq 50); do
  opensc-tool -a -n >/dev/null 2>&1 && break
  sleep 0.2
done

for r in $(seq 1 "$RUNS"); do
  bench apdu.in_process "$r" apdu --card "$OUT/card"
  bench status.in_process "$r" status --card "$OUT/card"
  bench apdu.pcscd "$r" pcsc
  bench verify.file "$r" verify --card "$OUT/card" --pin 1234
  bench sign.sha256.in_process "$r" sign --card "$OUT/card" --pin 1234 --digest sha256
  bench sign.sha1.in_process "$r" sign --card "$OUT/card" --pin 1234 --digest sha1
  speed=$(openssl speed -seconds "$SPEED_SECONDS" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1)}')
  record sign.openssl_speed "$r" "$speed" signatures/s
  log "openssl speed rsa2048 run $r: $speed sign/s"
  bench sign.pcscd "$r" pcsc-sign --pin 1234
  bench keygen.card "$r" keygen
  anchor=$(keygen_anchor)
  record keygen.openssl "$r" "$anchor" keys/s
  log "OpenSSL keygen run $r: $anchor keys/s"
done

median() { awk -F'\t' -v f="$1" '$1 == f {print $3}' "$OUT/results.tsv" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

{
  echo "# Card benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, RUNS=$RUNS, ${SECONDS_EACH}s each"
  echo
  echo "OpenSSL CLI: $(openssl version); keygen anchor: $KEYGEN_PY; git $(cd "$REPO" && git rev-parse --short HEAD)"
  echo
  echo "| figure | ours (median) | anchor (median) | ratio |"
  echo "|---|---|---|---|"
  ip=$(median apdu.in_process) pc=$(median apdu.pcscd)
  echo "| APDU round trips, in process (SELECT EF + READ BINARY 256) | $ip APDUs/s | — | — |"
  echo "| APDU round trips, empty VERIFY in process | $(median status.in_process) APDUs/s | — | — |"
  echo "| APDU round trips through pcscd + vpcd | $pc APDUs/s | in process $ip | $(ratio "$pc" "$ip") |"
  echo "| right VERIFY on file storage (2 durable commits) | $(median verify.file) /s | — | — |"
  os=$(median sign.openssl_speed)
  for f in sign.sha256.in_process sign.sha1.in_process sign.pcscd; do
    v=$(median "$f")
    echo "| $f | $v signatures/s | openssl speed rsa2048 $os | $(ratio "$v" "$os") |"
  done
  kc=$(median keygen.card) ko=$(median keygen.openssl)
  echo "| on-card key generation (RSA-2048) | $kc keys/s | OpenSSL $ko keys/s | $(ratio "$kc" "$ko") |"
} | tee "$OUT/SUMMARY.md"
