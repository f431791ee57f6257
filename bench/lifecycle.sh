#!/usr/bin/env bash
# bench/lifecycle.sh — the lifecycle authority's figures (issue 5), each measured
# with its floor in ONE run, the runs of both sides interleaved so that both see
# the same load on this shared 2-core machine; ends with a Markdown table of
# ratios against the targets. docs/PERFORMANCE.md holds a run and explains it.
#
#   bash bench/lifecycle.sh                       (~8 min plus the release build)
#   CARDS=100000 RUNS=1 bash bench/lifecycle.sh   (a quick check, ~2 min)
#
# What it measures (crates/authority/examples/lifecycle_bench.rs; medians of RUNS):
#   1. The nightly batch over CARDS cards (CARDS residents, CARDS cards in use,
#      2×CARDS certificates, bulk-loaded; expiries spread evenly over
#      1/EXPIRING_FRACTION days from FIRST_EXPIRY), on SQLite (a file in
#      RESULTS_DIR) and on PostgreSQL (a fresh schema, dropped at the end):
#      Authority::run_daily_batch_with, every step, timed step by step.
#      Floor: the same tables read once, row by row (COUNT(*) with a predicate
#      that no index answers over cards and certificates, one read transaction,
#      PostgreSQL without parallel workers). Target: batch ≤ 3× the floor.
#      The batch of a date runs once (a rerun of a done date does nothing), and
#      its effects cannot be undone (an expired card or certificate never comes
#      back: triggers), so every run takes the NEXT date: each night expires the
#      cards and certificates that expired the day before (a fraction
#      EXPIRING_FRACTION of them) and queues the notices whose date has come,
#      the same amount of work every night. Before the measured runs, one
#      untimed-for-the-ratio night on FIRST_EXPIRY (the "first night": it
#      queues the notices of the whole 3-month window at once) brings the
#      registry to its steady state.
#   2. Issuance: register → apply → produce (two RSA-2048 keys generated on the
#      virtual card, two certificates from the CA) → deliver (four PINs set), one
#      after the other for ISSUE_SECONDS, on a fresh system (SQLite registry and
#      CA on disk). Floor: RSA-2048 keys/s of the card's own generator
#      (AwsLcKeyGenerator) for KEYGEN_SECONDS; a card needs two keys, so the
#      floor in cards/s is keys/s ÷ 2. No target is set; the ratio is reported.
#
# On PostgreSQL the bulk-loaded tables get VACUUM (ANALYZE) once after the load
# (what autovacuum does after a bulk insert, done here so it does not land in a
# measured run).
#
# Outputs (RESULTS_DIR, default /tmp/mynacard-lifecycle-bench, wiped at start):
# SUMMARY.md (the tables, printed at the end), results.tsv (figure, run, value,
# unit: every run; run 0 is the warm-up/first night), machine.txt, raw/ (each
# command's JSON and stderr, with the query plans of the floor).
# Env: CARDS (1000000), RUNS (3), EXPIRING_FRACTION (0.0027397 = 1/365),
#      FIRST_EXPIRY (2031-07-01), PAGE_SIZE (500), ISSUE_SECONDS (20),
#      KEYGEN_SECONDS (ISSUE_SECONDS), BACKENDS ("sqlite postgres"),
#      POSTGRES (postgresql://postgres@127.0.0.1:5432/test), SKIP_BUILD=1,
#      PARTS ("batch issue": which parts run),
#      KEEP_DATA=1 (keep the SQLite registry and the PostgreSQL schema),
#      TOTAL_TIMEOUT (3600 s, build included), STEP_TIMEOUT (1800 s per command).
# Benchmarks are not tests: nothing here fails on a slow figure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$REPO/bench/lifecycle.sh"
export CARDS="${CARDS:-1000000}"
export RUNS="${RUNS:-3}"
export EXPIRING_FRACTION="${EXPIRING_FRACTION:-0.0027397}"
export FIRST_EXPIRY="${FIRST_EXPIRY:-2031-07-01}"
export PAGE_SIZE="${PAGE_SIZE:-500}"
export ISSUE_SECONDS="${ISSUE_SECONDS:-20}"
export KEYGEN_SECONDS="${KEYGEN_SECONDS:-$ISSUE_SECONDS}"
export BACKENDS="${BACKENDS:-sqlite postgres}"
export POSTGRES="${POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}"
export TOTAL_TIMEOUT="${TOTAL_TIMEOUT:-3600}"
export STEP_TIMEOUT="${STEP_TIMEOUT:-1800}"
export PARTS="${PARTS:-batch issue}"
OUT="${RESULTS_DIR:-/tmp/mynacard-lifecycle-bench}"

log() { printf '==> %s\n' "$*" >&2; }
die() { echo "bench/lifecycle.sh: $*" >&2; exit 1; }

# One time bound for the whole run.
if [ -z "${BENCH_UNDER_TIMEOUT:-}" ]; then
    exec env BENCH_UNDER_TIMEOUT=1 timeout --kill-after=30 "$TOTAL_TIMEOUT" bash "$SELF" "$@"
fi

for tool in jq python3; do command -v "$tool" >/dev/null || die "needs $tool"; done
if [[ " $BACKENDS " == *" postgres "* ]]; then
    command -v psql >/dev/null || die "needs psql"
    psql "$POSTGRES" -qAtc 'SELECT 1' >/dev/null 2>&1 ||
        die "PostgreSQL does not answer at $POSTGRES (pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)"
fi

if [ -e "$OUT" ]; then
    [ -f "$OUT/.mynacard-lifecycle-bench" ] || die "$OUT exists and is not a previous run of this script: move it away or set RESULTS_DIR"
    rm -rf "$OUT"
fi
mkdir -p "$OUT/raw" "$OUT/bin" "$OUT/data"
touch "$OUT/.mynacard-lifecycle-bench"
: >"$OUT/results.tsv"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/results.tsv"; }

# --- what this run starts, and how it is stopped ----------------------------------
SCHEMA="lifecycle_bench_$$"
SCHEMA_MADE=""
CHILD=""
cleanup() {
    if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
    if [ -n "$SCHEMA_MADE" ] && [ "${KEEP_DATA:-}" != 1 ]; then
        timeout 120 psql "$POSTGRES" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    if [ "${KEEP_DATA:-}" != 1 ]; then rm -rf "$OUT/data"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# bounded LIMIT CMD…: CMD under timeout, in the background so that a signal to
# this script reaches it (cleanup stops it by PID).
bounded() {
    local limit=$1 rc=0
    shift
    timeout --kill-after=10 "$limit" "$@" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# --- build, and the copy measured ---------------------------------------------------
if [[ "${SKIP_BUILD:-}" != 1 ]]; then
    log "building (release)"
    (cd "$REPO" && bounded 1800 cargo build --release --locked -p mynacard-authority --example lifecycle_bench)
fi
cp "$REPO/target/release/examples/lifecycle_bench" "$OUT/bin/"
B="$OUT/bin/lifecycle_bench"

steal() { awk '/^cpu /{print $9}' /proc/stat; }
S0=$(steal) T0=$(date +%s)
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
    echo "memory: $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "git: $(cd "$REPO" && git rev-parse --short HEAD) $(cd "$REPO" && git status --porcelain | tr '\n' ' ')"
    echo "rustc: $(rustc --version 2>/dev/null || echo '?')"
    echo "sqlite (bundled, libsqlite3-sys): $(awk '/^name = "libsqlite3-sys"/{getline; print $3}' "$REPO/Cargo.lock" | tr -d '"')"
    echo "aws-lc-rs: $(awk '/^name = "aws-lc-rs"/{getline; print $3}' "$REPO/Cargo.lock" | tr -d '"')"
    if [[ " $BACKENDS " == *" postgres "* ]]; then
        echo "postgresql: $(psql "$POSTGRES" -qAtc 'SHOW server_version') shared_buffers=$(psql "$POSTGRES" -qAtc 'SHOW shared_buffers') synchronous_commit=$(psql "$POSTGRES" -qAtc 'SHOW synchronous_commit')"
    fi
    echo "settings: CARDS=$CARDS RUNS=$RUNS EXPIRING_FRACTION=$EXPIRING_FRACTION FIRST_EXPIRY=$FIRST_EXPIRY PAGE_SIZE=$PAGE_SIZE ISSUE_SECONDS=$ISSUE_SECONDS KEYGEN_SECONDS=$KEYGEN_SECONDS"
    echo "loadavg before: $(cat /proc/loadavg)"
} >"$OUT/machine.txt"

# run LABEL RUN ARGS…: the example with ARGS, bounded; its JSON to raw/LABEL-RUN.json.
run() {
    local label=$1 r=$2
    shift 2
    local json="$OUT/raw/$label-$r.json" err="$OUT/raw/$label-$r.log"
    bounded "$STEP_TIMEOUT" "$B" "$@" >"$json" 2>"$err" || { cat "$err" >&2; die "$label run $r failed"; }
    jq -e . "$json" >/dev/null || die "$label run $r: no JSON"
}
field() { jq -r "$2" "$1"; }

day_after() { date -u -d "$FIRST_EXPIRY + $1 day" +%F; }

# --- 1. the nightly batch against the full scan, per backend ------------------------
[[ " $PARTS " == *" batch "* ]] || BACKENDS=""
for backend in $BACKENDS; do
    case "$backend" in
        sqlite) url="sqlite:$OUT/data/registry.db" ;;
        postgres)
            # POSTGRES may carry driver options (?options=-c…): the schema joins them.
            if [[ "$POSTGRES" == *\?* ]]; then url="$POSTGRES&schema=$SCHEMA"; else url="$POSTGRES?schema=$SCHEMA"; fi
            SCHEMA_MADE=1
            ;;
        *) die "unknown backend $backend" ;;
    esac
    echo "loadavg before $backend: $(cat /proc/loadavg)" >>"$OUT/machine.txt"
    log "$backend: loading $CARDS cards"
    run "load-$backend" 0 load --database "$url" --cards "$CARDS" --expiring-fraction "$EXPIRING_FRACTION" \
        --first-expiry "$FIRST_EXPIRY"
    f="$OUT/raw/load-$backend-0.json"
    record "load.$backend.seconds" 0 "$(field "$f" .seconds)" s
    record "load.$backend.rows_per_second" 0 "$(field "$f" .rows_per_second)" rows/s
    log "$backend: loaded $(field "$f" .rows) rows in $(field "$f" .seconds) s"
    if [ "$backend" = postgres ]; then
        log "postgres: VACUUM (ANALYZE) of the loaded tables"
        for table in residents cards certificates; do
            bounded "$STEP_TIMEOUT" psql "$POSTGRES" -qc "VACUUM (ANALYZE) $SCHEMA.$table" >/dev/null
        done
    fi
    if [ "$backend" = sqlite ]; then
        du -sh "$OUT/data/" | sed 's/^/sqlite registry size: /' >>"$OUT/machine.txt"
    else
        echo "postgres schema size: $(psql "$POSTGRES" -qAtc "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$SCHEMA' AND c.relkind = 'r'")" >>"$OUT/machine.txt"
    fi

    # Run 0: the warm-up scan and the first night; runs 1…RUNS: the measured pairs.
    for r in $(seq 0 "$RUNS"); do
        run "floor-$backend" "$r" floor --database "$url"
        f="$OUT/raw/floor-$backend-$r.json"
        floor_s=$(field "$f" .seconds)
        record "floor.$backend.seconds" "$r" "$floor_s" s
        record "floor.$backend.residents_seconds" "$r" "$(field "$f" .residents_seconds)" s
        [ "$(field "$f" .parallel_seconds)" = null ] ||
            record "floor.$backend.parallel_seconds" "$r" "$(field "$f" .parallel_seconds)" s
        day=$(day_after "$r")
        run "batch-$backend" "$r" batch --database "$url" --data "$OUT/data/authority-$backend" --date "$day" \
            --page-size "$PAGE_SIZE"
        f="$OUT/raw/batch-$backend-$r.json"
        [ "$(field "$f" .already_done)" = false ] || die "the batch of $day had run already"
        batch_s=$(field "$f" .seconds)
        record "batch.$backend.seconds" "$r" "$batch_s" s
        record "batch.$backend.changed" "$r" "$(field "$f" .changed)" rows
        record "batch.$backend.scanned" "$r" "$(field "$f" .scanned)" rows
        for k in client_cpu_seconds client_runqueue_seconds server_cpu_seconds server_runqueue_seconds; do
            v=$(field "$f" ".$k")
            [ "$v" = null ] || record "batch.$backend.$k" "$r" "$v" s
        done
        while IFS=$'\t' read -r step secs scanned changed; do
            record "batch.$backend.step.$step.seconds" "$r" "$secs" s
            record "batch.$backend.step.$step.scanned" "$r" "$scanned" rows
            record "batch.$backend.step.$step.changed" "$r" "$changed" rows
        done < <(jq -r '.steps[] | [.step, .seconds, .scanned, .changed] | @tsv' "$f")
        ratio=$(python3 -c "print('%.2f' % ($batch_s / $floor_s))")
        [ "$r" = 0 ] || record "batch.$backend.ratio" "$r" "$ratio" x
        log "$backend run $r ($day): batch $(printf %.2f "$batch_s") s, floor $(printf %.2f "$floor_s") s, ${ratio}x; changed $(field "$f" .changed), scanned $(field "$f" .scanned)"
    done
    if [ "$backend" = postgres ] && [ "${KEEP_DATA:-}" != 1 ]; then
        bounded 300 psql "$POSTGRES" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
        SCHEMA_MADE=""
    fi
done

# --- 2. issuance against the key-generation floor -----------------------------------
echo "loadavg before issuance: $(cat /proc/loadavg)" >>"$OUT/machine.txt"
[[ " $PARTS " == *" issue "* ]] || ISSUE_RUNS=0
for r in $(seq 1 "${ISSUE_RUNS:-$RUNS}"); do
    run issue "$r" issue --data "$OUT/data/issue-$r" --seconds "$ISSUE_SECONDS"
    f="$OUT/raw/issue-$r.json"
    issue_rate=$(field "$f" .cards_per_second)
    record issue.cards_per_second "$r" "$issue_rate" cards/s
    for phase in register apply produce deliver; do
        record "issue.ms.$phase" "$r" "$(field "$f" ".ms_per_card.$phase")" ms
    done
    rm -rf "$OUT/data/issue-$r"
    run keygen "$r" keygen --seconds "$KEYGEN_SECONDS"
    f="$OUT/raw/keygen-$r.json"
    record keygen.keys_per_second "$r" "$(field "$f" .keys_per_second)" keys/s
    floor_rate=$(field "$f" .cards_per_second_floor)
    record keygen.cards_per_second "$r" "$floor_rate" cards/s
    ratio=$(python3 -c "print('%.2f' % ($issue_rate / $floor_rate))")
    record issue.ratio "$r" "$ratio" x
    log "issuance run $r: $(printf %.2f "$issue_rate") cards/s; key generation floor $(printf %.2f "$floor_rate") cards/s; ${ratio}x"
done

S1=$(steal) T1=$(date +%s)
{
    echo "loadavg after: $(cat /proc/loadavg)"
    echo "cpu steal during run: $((S1 - S0)) ticks of $(getconf CLK_TCK)/s over $((T1 - T0)) s x $(nproc) cpus"
} >>"$OUT/machine.txt"

# --- the summary ---------------------------------------------------------------------
python3 - "$OUT" >"$OUT/SUMMARY.md" <<'PY'
import csv, os, statistics, sys
out = sys.argv[1]
rows = list(csv.reader(open(os.path.join(out, "results.tsv")), delimiter="\t"))
def values(figure, measured=True):
    return [float(v) for f, r, v, _ in rows if f == figure and (not measured or r != "0")]
def med(figure, measured=True):
    v = values(figure, measured)
    return statistics.median(v) if v else None
def run0(figure):
    v = [float(v) for f, r, v, _ in rows if f == figure and r == "0"]
    return v[0] if v else None
def fmt(x, digits=2):
    return "—" if x is None else f"{x:,.{digits}f}"
env = os.environ
cards = int(env["CARDS"])
print(f"# Lifecycle benchmark — {open(os.path.join(out, 'machine.txt')).readline().split(': ', 1)[1].strip()}, "
      f"{os.cpu_count()} cores, CARDS={cards:,}, RUNS={env['RUNS']}")
print()
if "?" in env.get("POSTGRES", "") and "postgres" in env["BACKENDS"].split():
    print(f"PostgreSQL address: `{env['POSTGRES']}` (connection options in force).")
    print()
print(f"Expiries spread over 1/{env['EXPIRING_FRACTION']} days from {env['FIRST_EXPIRY']}; page size {env['PAGE_SIZE']}; "
      f"issuance {env['ISSUE_SECONDS']} s, key generation {env['KEYGEN_SECONDS']} s per run. Medians of the runs; "
      "ratios are medians of each run's own ratio.")
print()
print("| figure | ours | floor | ratio | target | met? |")
print("|---|---|---|---|---|---|")
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
for b in env["BACKENDS"].split():
    batch, floor, ratio = med(f"batch.{b}.seconds"), med(f"floor.{b}.seconds"), med(f"batch.{b}.ratio")
    met = "—" if ratio is None else ("yes" if ratio <= 3 else "no")
    print(f"| nightly batch, {names[b]}, {cards:,} cards | {fmt(batch)} s | full scan {fmt(floor)} s | "
          f"{fmt(ratio)}× | ≤ 3× | {met} |")
ic, kc, ir = med("issue.cards_per_second", False), med("keygen.cards_per_second", False), med("issue.ratio", False)
if ic is not None:
    print(f"| issuance (application → delivered card), SQLite | {fmt(ic)} cards/s | key generation "
          f"{fmt(med('keygen.keys_per_second', False))} keys/s = {fmt(kc)} cards/s | {fmt(ir)}× | none set | — |")
print()
for b in env["BACKENDS"].split():
    print(f"## {names[b]}: the batch step by step (medians of the measured nights)")
    print()
    print(f"Load: {fmt(med(f'load.{b}.seconds', False), 1)} s, {fmt(med(f'load.{b}.rows_per_second', False), 0)} rows/s. "
          f"First night (run 0, queues the whole notice window): {fmt(run0(f'batch.{b}.seconds'))} s, "
          f"{fmt(run0(f'batch.{b}.changed'), 0)} rows changed. "
          f"Floor detail: residents scan {fmt(med(f'floor.{b}.residents_seconds'))} s (not in the floor)"
          + (f"; default parallel plan {fmt(med(f'floor.{b}.parallel_seconds'))} s" if values(f"floor.{b}.parallel_seconds") else "")
          + ".")
    print()
    print("| step | seconds | share | rows looked at | rows changed |")
    print("|---|---:|---:|---:|---:|")
    total = med(f"batch.{b}.seconds") or 0
    steps = []
    for f, r, v, u in rows:
        if f.startswith(f"batch.{b}.step.") and f.endswith(".seconds"):
            s = f[len(f"batch.{b}.step."):-len(".seconds")]
            if s not in steps:
                steps.append(s)
    for s in steps:
        secs = med(f"batch.{b}.step.{s}.seconds")
        share = f"{100 * secs / total:.0f} %" if secs is not None and total else "—"
        print(f"| {s} | {fmt(secs)} | {share} | {fmt(med(f'batch.{b}.step.{s}.scanned'), 0)} | "
              f"{fmt(med(f'batch.{b}.step.{s}.changed'), 0)} |")
    print(f"| **whole batch** | **{fmt(total)}** | | {fmt(med(f'batch.{b}.scanned'), 0)} | {fmt(med(f'batch.{b}.changed'), 0)} |")
    print()
    parts = [("the batch process on a CPU", "client_cpu_seconds"), ("the batch process waiting for a CPU", "client_runqueue_seconds"),
             ("the PostgreSQL server process on a CPU", "server_cpu_seconds"),
             ("the PostgreSQL server process waiting for a CPU", "server_runqueue_seconds")]
    known = [(name, med(f"batch.{b}.{k}")) for name, k in parts if med(f"batch.{b}.{k}") is not None]
    if known and total:
        rest = total - sum(v for _, v in known)
        print("Where the time goes (medians, from /proc/PID/schedstat): "
              + "; ".join(f"{name} {fmt(v)} s" for name, v in known)
              + (f"; the rest (waiting on fsync, and on the other side of the connection) {fmt(rest)} s." if rest >= 0
                 else " (client and server overlap a little on the 2 cores, so these add up to more than the wall time)."))
        print()
if ic is not None:
    print("## Issuance, milliseconds per card (medians)")
    print()
    print("| register | apply | produce | deliver |")
    print("|---:|---:|---:|---:|")
    print("| " + " | ".join(fmt(med(f"issue.ms.{p}", False), 1) for p in ["register", "apply", "produce", "deliver"]) + " |")
PY
cat "$OUT/SUMMARY.md"
