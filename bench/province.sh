#!/usr/bin/env bash
# The province run: on a fresh PostgreSQL cluster, synthesize N enterprises x M months, ingest every
# file (one process per provider, PARALLEL providers at a time, the registration base first), evaluate
# everyone, then serve and answer a few requests. Per stage: wall time, throughput, peak RSS of our
# processes (/usr/bin/time -v) and the database size (pg_database_size). See docs/scaling.md.
#
#   bench/province.sh [--enterprises N] [--months M] [--dir DIR] [--port PORT] [--parallel P]
#                     [--report docs/benchmarks.md] [--keep]
#
# DIR (default /tmp/fincredit-province) holds the cluster (DIR/pg), the data directory (DIR/data), the
# synthetic files (DIR/synth), logs and DIR/results.md. The disk is checked first: the run refuses to
# start when the free space is less than the estimate (synthetic files + database + headroom).
# --report appends the results table to the given file (the "## Province run" section is edited by hand).
# --keep leaves the cluster running at the end (stop it with scripts/pg-stop DIR/pg).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"
# The run starts one process per file: let Python keep its bytecode cache, or every process compiles
# every module again (about 3 CPU-seconds a process on this machine, where the variable is set).
unset PYTHONDONTWRITEBYTECODE

enterprises=100000 months=12 dir=/tmp/fincredit-province port=54371 parallel=$(nproc) report="" keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --enterprises) enterprises=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install -y time)" >&2; exit 1; }

# --- disk: synthetic files ~ (2.3 KB + 0.42 KB x months) per enterprise (measured at 1.5 M x 12:
# 10.8 GB); the database ~ 6 x the files (measured at 100 000 x 12: 702 MB of files, 4.05 GB of
# database — ~885 bytes a record: JSON with the field names in every row, SM4 ciphertexts, hex hashes
# in the indexes); files + database + 20 % headroom.
mkdir -p "$dir"
synth_bytes=$(( enterprises * (2300 + 420 * months) ))
need=$(( synth_bytes * 7 * 12 / 10 ))
avail=$(( $(df --output=avail -B1 "$dir" | tail -n1) ))
df -h "$dir"
printf 'estimate: synthetic files %.1f GB, files + database + headroom %.1f GB; free %.1f GB\n' \
  "$(echo "$synth_bytes/10^9" | bc -l)" "$(echo "$need/10^9" | bc -l)" "$(echo "$avail/10^9" | bc -l)"
if [ "$avail" -lt "$need" ]; then
  echo "refusing: not enough free disk for $enterprises enterprises x $months months" >&2
  exit 3
fi

# --- a fresh cluster and data directory
scripts/pg-stop "$dir/pg" 2>/dev/null || true
rm -rf "$dir/pg" "$dir/data" "$dir/synth" "$dir/logs"
mkdir -p "$dir/data" "$dir/logs"
export FINCREDIT_DATABASE_URL=$(scripts/pg-start "$dir/pg" "$port")
export FINCREDIT_DATA_DIR=$dir/data
[ -n "$keep" ] || trap 'scripts/pg-stop "$dir/pg"' EXIT
psql_url=${FINCREDIT_DATABASE_URL/postgresql+psycopg/postgresql}
run_psql() { psql "$psql_url" -tAc "$1"; }
dbsize() { run_psql "SELECT pg_database_size(current_database())"; }
fincredit=$(uv run python -c 'import sys, pathlib; print(pathlib.Path(sys.executable).parent / "fincredit")')
"$fincredit" init >"$dir/logs/init.log" 2>&1

results=$dir/results.md
: >"$results"
now() { date +%s.%N; }
peak_kb() { grep -h "Maximum resident set size" "$@" | awk '{print $NF}' | sort -n | tail -n1; }
row() {  # stage, wall s, work count, unit, peak RSS KB
  local rate
  rate=$(echo "$3 / $2" | bc -l)
  printf '| %s | %.1f | %s %s | %s %s/s | %s MiB | %s MiB |\n' "$1" "$2" "$(printf "%'d" "$3")" "$4" \
    "$(printf "%'.0f" "$rate")" "$4" "$(( $5 / 1024 ))" "$(( $(dbsize) / 1048576 ))" | tee -a "$results"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
echo "| stage | wall s | work | throughput | peak RSS | database size after |" | tee -a "$results"
echo "|---|---:|---:|---:|---:|---:|" | tee -a "$results"

# --- 1. synth
t0=$(now)
/usr/bin/time -v -o "$dir/logs/synth.time" "$fincredit" synth --enterprises "$enterprises" --months "$months" \
  --seed 2022 --out "$dir/synth" >"$dir/logs/synth.log" 2>&1
t1=$(now)
rows=$(uv run python -c "import json,sys; m=json.load(open(sys.argv[1])); print(sum(f['rows'] for f in m['files']))" \
  "$dir/synth/manifest.json")
row "synth ($enterprises × $months months, $(du -sh "$dir/synth" | cut -f1))" "$(echo "$t1 - $t0" | bc)" "$rows" rows \
  "$(peak_kb "$dir/logs/synth.time")"

# --- 2. ingest: the base first (the registry), then one job per provider, $parallel at a time
uv run python - "$dir/synth/manifest.json" "$dir/logs/jobs" <<'PY'
import json, sys, pathlib
m = json.load(open(sys.argv[1]))
out = pathlib.Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
by_provider: dict[str, list[str]] = {}
for f in m["files"]:
    key = "0-base" if f["category"] == "base" else f["provider"]
    by_provider.setdefault(key, []).append(f"{f['provider']}\t{f['category']}\t{f['path']}\t{f['rows']}")
# biggest providers first so that the tail of the run is short
order = sorted(by_provider, key=lambda p: (p != "0-base", -sum(int(x.split("\t")[3]) for x in by_provider[p])))
for i, p in enumerate(order):
    (out / f"{i:03d}-{p}.tsv").write_text("\n".join(by_provider[p]) + "\n", encoding="utf-8")
PY
ingest_job() {  # one provider's files, sequentially
  local job=$1 provider category path rows
  while IFS=$'\t' read -r provider category path rows; do
    /usr/bin/time -v -o "$dir/logs/ingest-$category.time" "$fincredit" ingest --provider "$provider" \
      --category "$category" --json "$dir/synth/$path" >"$dir/logs/ingest-$category.json" 2>"$dir/logs/ingest-$category.err" \
      || echo "batch $category ($path) rejected or failed: see $dir/logs/ingest-$category.err" >&2
  done <"$job"
}
export -f ingest_job
export dir fincredit
t0=$(now)
ingest_job "$(ls "$dir"/logs/jobs/*-0-base.tsv)"
ls "$dir"/logs/jobs/*.tsv | grep -v -- '-0-base.tsv' | xargs -P "$parallel" -I{} bash -c 'ingest_job {}'
t1=$(now)
accepted=$(uv run python -c "
import json, glob
n = 0
for p in glob.glob('$dir/logs/ingest-*.json'):
    try: n += json.load(open(p)).get('accepted', 0)
    except ValueError: pass
print(n)")
row "ingest (${parallel} providers in parallel)" "$(echo "$t1 - $t0" | bc)" "$accepted" records \
  "$(peak_kb "$dir"/logs/ingest-*.time)"

# --- 3. evaluate
t0=$(now)
/usr/bin/time -v -o "$dir/logs/evaluate.time" "$fincredit" evaluate --json >"$dir/logs/evaluate.json" 2>"$dir/logs/evaluate.err"
t1=$(now)
evaluated=$(uv run python -c "import json; print(json.load(open('$dir/logs/evaluate.json'))['enterprises'])")
row "evaluate" "$(echo "$t1 - $t0" | bc)" "$evaluated" enterprises "$(peak_kb "$dir/logs/evaluate.time")"

# --- 4. serve: start two API processes, time until /healthz answers, then a few operator requests
admin=$("$fincredit" token create --role admin --name province-run)
sport=$((port + 1000))
t0=$(now)
/usr/bin/time -v -o "$dir/logs/serve.time" "$fincredit" serve --port "$sport" --workers 2 >"$dir/logs/serve.log" 2>&1 &
server=$!
until curl -fs "http://127.0.0.1:$sport/healthz" >/dev/null; do sleep 0.2; done
t1=$(now)
requests=0
for path in /api/v1/catalog /api/v1/statistics/overview /api/v1/ledger/checkpoint; do
  for _ in 1 2 3; do
    curl -fs -o /dev/null -w "$path %{http_code} %{time_total}s\n" -H "Authorization: Bearer $admin" \
      "http://127.0.0.1:$sport$path" | tee -a "$dir/logs/serve-requests.log"
    requests=$((requests + 1))
  done
done
t2=$(now)
pkill -INT -P "$server" || true  # the server is the child of /usr/bin/time, which ignores SIGINT
wait "$server" || true
row "serve (2 API processes: start $(printf %.1f "$(echo "$t1 - $t0" | bc)") s, then requests)" \
  "$(echo "$t2 - $t0" | bc)" "$requests" requests "$(peak_kb "$dir/logs/serve.time")"
sed 's/^/    /' "$dir/logs/serve-requests.log" >>"$results"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
run_psql "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables
          ORDER BY pg_total_relation_size(relid) DESC LIMIT 6" | tee -a "$results"
if [ -n "$report" ]; then
  { echo; echo "Command: \`bench/province.sh --enterprises $enterprises --months $months --parallel $parallel\`"; echo
    cat "$results"; } >>"$report"
fi
echo "results: $results"
