#!/usr/bin/env bash
# Benchmarks of inbox-warehouse, each measured side by side with a psql-only equivalent in the
# same run, on the same machine and the same PostgreSQL cluster. Not part of the test suite.
#
#   scripts/bench.sh [CONVERSATIONS] [RESULTS_FILE]
#
# CONVERSATIONS (default 170000, about 1M messages) sizes the main month of data;
# HISTORY_PER_MONTH (default 20000 conversations a month, about 2.1M messages in 18 months) sizes
# the 18-month warehouse. Results are printed as a Markdown report (default:
# docs/benchmarks-last-run.md). The method is described in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CONVERSATIONS=${1:-170000}
RESULTS=${2:-docs/benchmarks-last-run.md}
SMALL=$((CONVERSATIONS / 10))
HISTORY_PER_MONTH=${HISTORY_PER_MONTH:-20000}
AGGREGATES=" teams agent-metrics topics tags virtual-agents "

swift build -c release --product inbox-warehouse >/dev/null
BIN=$PWD/.build/release/inbox-warehouse
WORK=$(mktemp -d /tmp/iwb.XXXX)
chmod 755 "$WORK"   # as root, the embedded server runs as postgres and must reach its home
export INBOX_WAREHOUSE_HOME=$WORK/h
export INBOX_WAREHOUSE_SQL_DIR=$PWD/sql
unset DATABASE_URL
trap '"$BIN" db stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
peak_kib() { grep "Maximum resident set size" "$1" | awk '{print $6}'; }

"$BIN" db start >/dev/null
BASE_URL=$("$BIN" db url)
admin_url() { echo "${BASE_URL/\/inbox_warehouse\?//$1?}"; }
fresh_db() {
  psql -q "$(admin_url postgres)" -c "drop database if exists $1" -c "create database $1" >/dev/null
  DATABASE_URL=$(admin_url "$1") "$BIN" db migrate >/dev/null 2>&1
}

report() { echo "$*" | tee -a "$RESULTS.tmp"; }
: > "$RESULTS.tmp"
report "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
report ""
report "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); $(psql --version | head -1); PostgreSQL server $(psql -tA "$(admin_url postgres)" -c 'show server_version')."
report "Command: \`scripts/bench.sh $CONVERSATIONS\` at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- sql Sources scripts || echo " (with uncommitted changes)"); load average at the start: $(cut -d" " -f1-3 /proc/loadavg)."
report ""

# --- data ------------------------------------------------------------------------------------
t0=$(now)
"$BIN" generate --conversations "$CONVERSATIONS" --days 30 --start 2026-03-01 --seed 1 --output "$WORK/month.ndjson"
t1=$(now)
RECORDS=$(wc -l < "$WORK/month.ndjson")
MESSAGES=$(grep -c '"type":"message"' "$WORK/month.ndjson" || true)
"$BIN" generate --conversations "$SMALL" --days 30 --start 2026-03-01 --seed 2 --output "$WORK/small.ndjson"
SMALL_MESSAGES=$(grep -c '"type":"message"' "$WORK/small.ndjson" || true)
report "Data: \`generate --conversations $CONVERSATIONS --days 30\`: $RECORDS records, $MESSAGES messages, $(du -h "$WORK/month.ndjson" | cut -f1) (generated in $(printf %.1f "$(elapsed "$t0" "$t1")") s)."
report ""

# --- 1. loader throughput vs a psql-only pipeline ----------------------------------------------
fresh_db bench_tool
t0=$(now)
/usr/bin/time -v -o "$WORK/load.time" env DATABASE_URL="$(admin_url bench_tool)" "$BIN" load --quiet "$WORK/month.ndjson"
t1=$(now)
TOOL_LOAD=$(elapsed "$t0" "$t1")

fresh_db bench_psql
PSQL_URL=$(admin_url bench_psql)
t0=$(now)
psql -q -v ON_ERROR_STOP=1 "$PSQL_URL" >/dev/null <<SQL
create temporary table raw (doc jsonb);
\copy raw from '$WORK/month.ndjson' with (format csv, quote e'\x01', delimiter e'\x02')
insert into inbox.channels select distinct on (doc->>'id') doc->>'id', doc->>'medium', doc->>'name', doc->>'display_name', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'channel' order by doc->>'id' on conflict do nothing;
insert into inbox.agents select distinct on (doc->>'id') doc->>'id', doc->>'name', doc->>'kind', doc->>'email', doc->>'reference', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'agent' order by doc->>'id' on conflict do nothing;
insert into inbox.teams select distinct on (doc->>'id') doc->>'id', doc->>'name', (doc->>'created_at')::timestamptz, (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'team' order by doc->>'id' on conflict do nothing;
insert into inbox.contacts select distinct on (doc->>'id') doc->>'id', doc->>'medium', (doc->>'created_at')::timestamptz, doc->>'primary_identifier', doc->>'secondary_identifier', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'contact' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.contact_attributes select distinct on (doc->>'contact_id', doc->>'attribute_id') doc->>'contact_id', doc->>'attribute_id', doc->>'name', doc->>'attribute_type', doc->>'value', doc->>'source', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'contact_attribute' order by doc->>'contact_id', doc->>'attribute_id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.topics select distinct on (doc->>'id') doc->>'id', doc->>'name', coalesce((doc->>'active')::boolean, true), (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'topic' order by doc->>'id' on conflict do nothing;
insert into inbox.tags select distinct on (doc->>'id') doc->>'id', doc->>'name', coalesce((doc->>'active')::boolean, true), (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'tag' order by doc->>'id' on conflict do nothing;
insert into inbox.conversations select distinct on (doc->>'id') doc->>'id', doc->>'channel_id', doc->>'contact_id', (doc->>'created_at')::timestamptz, doc->>'url', doc->>'language', doc->>'sentiment', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'conversation' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.messages select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', (doc->>'created_at')::timestamptz, doc->>'direction', doc->>'message_type', doc->>'origin', doc->>'outbound_type', doc->>'agent_id', doc->>'team_id', doc->>'system_user_type', doc->>'content', doc->>'post_url', doc->>'sentiment', (doc->>'updated_at')::timestamptz, (doc->>'deleted_at')::timestamptz, null from raw where doc->>'type' = 'message' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.status_changes select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', (doc->>'at')::timestamptz, doc->>'status', doc->>'agent_id', doc->>'team_id', doc->>'resolved_by', doc->>'resolve_trigger', doc->>'resolution_reason', doc->>'resolution_comment', null from raw where doc->>'type' = 'status_change' order by doc->>'id' on conflict do nothing;
insert into inbox.queue_entries select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', (doc->>'at')::timestamptz, doc->>'started_by', doc->>'handover_reason', doc->>'inbound_message_id', null from raw where doc->>'type' = 'queue_entry' order by doc->>'id' on conflict do nothing;
insert into inbox.locks select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', doc->>'agent_id', (doc->>'started_at')::timestamptz, (doc->>'ended_at')::timestamptz, doc->>'team_id', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'lock' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.topic_applications select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', doc->>'topic_id', (doc->>'at')::timestamptz, doc->>'agent_id', doc->>'team_id', (doc->>'removed_at')::timestamptz, (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'topic_applied' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.tag_applications select distinct on (doc->>'id') doc->>'id', doc->>'message_id', doc->>'tag_id', (doc->>'at')::timestamptz, doc->>'agent_id', doc->>'team_id', (doc->>'removed_at')::timestamptz, (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'tag_applied' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.csat_surveys select distinct on (doc->>'id') doc->>'id', doc->>'conversation_id', (doc->>'sent_at')::timestamptz, doc->>'status', doc->>'agent_id', doc->>'team_id', (doc->>'responded_at')::timestamptz, (doc->>'score')::smallint, doc->>'follow_up_question', doc->>'follow_up_answer', (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'csat' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
insert into inbox.presences select distinct on (doc->>'id') doc->>'id', doc->>'agent_id', doc->>'presence', (doc->>'started_at')::timestamptz, doc->>'away_state', (doc->>'ended_at')::timestamptz, (doc->>'updated_at')::timestamptz, null from raw where doc->>'type' = 'presence' order by doc->>'id', (doc->>'updated_at')::timestamptz desc nulls last on conflict do nothing;
SQL
t1=$(now)
PSQL_LOAD=$(elapsed "$t0" "$t1")
TOOL_ROWS=$(psql -tA "$(admin_url bench_tool)" -c "select count(*) from inbox.messages")
PSQL_ROWS=$(psql -tA "$PSQL_URL" -c "select count(*) from inbox.messages")

report "## 1. Loader throughput"
report ""
report "| pipeline | seconds | records/s | messages stored |"
report "|---|---|---|---|"
report "| \`inbox-warehouse load\` (validates every record, upserts with the updated_at rule) | $(printf %.2f "$TOOL_LOAD") | $(printf %.0f "$(echo "$RECORDS / $TOOL_LOAD" | bc -l)") | $TOOL_ROWS |"
report "| psql: \`\\copy\` into a jsonb staging table, then INSERT ... SELECT per kind (no validation) | $(printf %.2f "$PSQL_LOAD") | $(printf %.0f "$(echo "$RECORDS / $PSQL_LOAD" | bc -l)") | $PSQL_ROWS |"
report ""
report "Loader / psql throughput ratio: **$(ratio "$PSQL_LOAD" "$TOOL_LOAD")x** (target ≥ 0.8x, and ≥ 100k records/s). The loader's figure includes keeping the facts (schema \`facts\`) current in every batch's transaction; psql's pipeline keeps none."
report ""
t0=$(now)
if DATABASE_URL="$(admin_url bench_tool)" "$BIN" db check-facts > "$WORK/check.out" 2>/dev/null; then CHECK="no difference"; else CHECK="$(wc -l < "$WORK/check.out") rows differ"; fi
t1=$(now)
report "\`db check-facts\` after the load (kept facts against a recomputation): $CHECK, in $(printf %.1f "$(elapsed "$t0" "$t1")") s."
report ""

# --- 2 and 3. exports vs psql COPY of the view, and vs a raw COPY of the month's messages ------
TOOL_URL=$(admin_url bench_tool)
psql -q "$TOOL_URL" -c "vacuum analyze" >/dev/null
FROM=2026-03-01; TO=2026-03-31; TZ=Europe/Paris; ASOF=2026-04-02T00:00:00Z
t0=$(now)
psql -q "$TOOL_URL" -c "copy (select * from inbox.messages where created_at >= timestamptz '2026-03-01 00:00 Europe/Paris' and created_at < timestamptz '2026-04-01 00:00 Europe/Paris') to stdout (format csv)" > "$WORK/raw.csv"
t1=$(now)
RAW=$(elapsed "$t0" "$t1")
report "## 2-3. Exports (one month, $TZ, all channels)"
report ""
report "Raw \`COPY\` of the month's message rows: $(printf %.2f "$RAW") s ($(wc -l < "$WORK/raw.csv") rows)."
report ""
report "| export | rows | inbox-warehouse s | psql COPY of the view s | ratio (target ≤ 1.05) | vs raw messages COPY | target |"
report "|---|---|---|---|---|---|---|"
for slug in resolved-conversations open-conversations messages teams contacts topics tags agent-availability agent-metrics responses virtual-agents contact-attributes; do
  view=${slug//-/_}
  # warm both paths once, then measure each once, alternating
  for pass in warm measure; do
    t0=$(now)
    DATABASE_URL=$TOOL_URL "$BIN" export "$slug" --from $FROM --to $TO --tz $TZ --as-of $ASOF --output "$WORK/$slug.csv" --quiet
    t1=$(now)
    psql -q "$TOOL_URL" -o "$WORK/$slug.psql.csv" <<SQL
set jit = off;
begin isolation level repeatable read, read only;
select export.set_parameters(range_start => timestamptz '2026-03-01 00:00 Europe/Paris', range_end => timestamptz '2026-04-01 00:00 Europe/Paris', time_zone => 'Europe/Paris', channel_ids => null, as_of => '$ASOF', content_policy => 'twitter', is_scheduled => false) \\g /dev/null
copy (select * from export.$view) to stdout (format csv);
commit;
SQL
    t2=$(now)
  done
  TOOL=$(elapsed "$t0" "$t1"); PSQL=$(elapsed "$t1" "$t2")
  ROWS=$(($(wc -l < "$WORK/$slug.csv") - 1))
  if ! diff -q <(tail -n +2 "$WORK/$slug.csv") "$WORK/$slug.psql.csv" >/dev/null; then echo "warning: $slug differs from psql" >&2; fi
  case "$AGGREGATES" in *" $slug "*) TARGET="≤ 1";; *) TARGET="≤ 2";; esac
  report "| $slug | $ROWS | $(printf %.2f "$TOOL") | $(printf %.2f "$PSQL") | $(ratio "$TOOL" "$PSQL") | $(ratio "$TOOL" "$RAW") | $TARGET |"
done
report ""
report "The inbox-warehouse figure is the whole command: process start, connection, schema check, validation, the export and its manifest; psql's is its whole process too."
report ""

# --- 4. peak memory at two sizes --------------------------------------------------------------
fresh_db bench_small
/usr/bin/time -v -o "$WORK/load-small.time" env DATABASE_URL="$(admin_url bench_small)" "$BIN" load --quiet "$WORK/small.ndjson"
/usr/bin/time -v -o "$WORK/export-small.time" env DATABASE_URL="$(admin_url bench_small)" "$BIN" export messages --from $FROM --to $TO --tz $TZ --as-of $ASOF --output "$WORK/small-messages.csv" --quiet
/usr/bin/time -v -o "$WORK/export-big.time" env DATABASE_URL="$TOOL_URL" "$BIN" export messages --from $FROM --to $TO --tz $TZ --as-of $ASOF --output "$WORK/big-messages.csv" --quiet
report "## 4. Peak memory (maximum resident set size)"
report ""
report "| command | $SMALL_MESSAGES messages | $MESSAGES messages |"
report "|---|---|---|"
report "| load | $(peak_kib "$WORK/load-small.time") KiB | $(peak_kib "$WORK/load.time") KiB |"
report "| export messages | $(peak_kib "$WORK/export-small.time") KiB | $(peak_kib "$WORK/export-big.time") KiB |"
report ""

# --- 5. the 18-month warehouse: load, its exports, and one more day --------------------------
# History: 2024-09-01 .. 2026-03-02 (548 days). The extra days are 2026-03-03, generated apart
# and given their own conversation-bound ids (a separate generator run numbers its conversations
# from 1 again), so they add data instead of re-delivering the history's. They carry no
# business_hours records: the generator dates a run's schedules about 200 days before its start,
# so a day's own schedules (valid from 2025-08-15) would be new schedule versions for half a year
# of the history, and loading them rightly recomputes every conversation they govern (74k of
# them). That is a change to the history, not one more day.
"$BIN" generate --conversations $((HISTORY_PER_MONTH * 18)) --days 548 --start 2024-09-01 --seed 3 --output "$WORK/history.ndjson"
fresh_ids() { sed -E 's/"(cs|cv|lk|m|q|sc|tga|tpa)-([0-9])/"\1-'"$1"'\2/g'; }
without_schedules() { grep -v '"type":"business_hours"'; }
"$BIN" generate --conversations $((HISTORY_PER_MONTH / 30 + 1)) --days 1 --start 2026-03-03 --seed 4 --output - | fresh_ids d | without_schedules > "$WORK/day.ndjson"
"$BIN" generate --conversations 3400 --days 1 --start 2026-03-03 --seed 5 --output - | fresh_ids e | without_schedules > "$WORK/bigday.ndjson"
fresh_db bench_full
HISTORY_RECORDS=$(wc -l < "$WORK/history.ndjson")
t0=$(now); DATABASE_URL=$(admin_url bench_full) "$BIN" load --quiet "$WORK/history.ndjson"; t1=$(now)
HISTORY_LOAD=$(elapsed "$t0" "$t1")
FULL_URL=$(admin_url bench_full)
psql -q "$FULL_URL" -c "vacuum analyze" >/dev/null
HISTORY_MESSAGES=$(psql -tA "$FULL_URL" -c "select count(*) from inbox.messages")
report "## 5. The 18-month warehouse"
report ""
report "History: \`generate --conversations $((HISTORY_PER_MONTH * 18)) --days 548\`: $HISTORY_RECORDS records, $HISTORY_MESSAGES messages, loaded in $(printf %.1f "$HISTORY_LOAD") s ($(printf %.0f "$(echo "$HISTORY_RECORDS / $HISTORY_LOAD" | bc -l)") records/s, facts included)."
report ""
HFROM=2024-09-02; HTO=2026-02-28; HASOF=2026-03-01T12:00:00Z
t0=$(now)
psql -q "$FULL_URL" -c "copy (select * from inbox.messages where created_at >= timestamptz '$HFROM 00:00 Europe/Paris' and created_at < timestamptz '2026-03-01 00:00 Europe/Paris') to stdout (format csv)" > "$WORK/hraw.csv"
t1=$(now)
HRAW=$(elapsed "$t0" "$t1")
report "Exports over the whole window ($HFROM to $HTO, $TZ, T = $HASOF). Raw \`COPY\` of the window's message rows: $(printf %.2f "$HRAW") s ($(wc -l < "$WORK/hraw.csv") rows)."
report ""
report "| export | rows | inbox-warehouse s | vs raw messages COPY | target |"
report "|---|---|---|---|---|"
for slug in resolved-conversations open-conversations messages teams contacts topics tags agent-availability agent-metrics responses virtual-agents contact-attributes; do
  t0=$(now)
  DATABASE_URL=$FULL_URL "$BIN" export "$slug" --from $HFROM --to $HTO --tz $TZ --as-of $HASOF --output "$WORK/h-$slug.csv" --quiet
  t1=$(now)
  case "$AGGREGATES" in *" $slug "*) TARGET="≤ 1";; *) TARGET="≤ 2";; esac
  report "| $slug | $(($(wc -l < "$WORK/h-$slug.csv") - 1)) | $(printf %.2f "$(elapsed "$t0" "$t1")") | $(ratio "$(elapsed "$t0" "$t1")" "$HRAW") | $TARGET |"
done
report ""

report "One more day (2026-03-03) into the 18-month warehouse against the same day into an empty one:"
report ""
report "| day | records | into empty s | into 18 months s | full / empty (target ≤ 1.2) |"
report "|---|---|---|---|---|"
for day in day bigday; do
  fresh_db bench_empty
  t0=$(now); DATABASE_URL=$(admin_url bench_empty) "$BIN" load --quiet "$WORK/$day.ndjson"; t1=$(now)
  DATABASE_URL=$FULL_URL "$BIN" load --quiet "$WORK/$day.ndjson"; t2=$(now)
  EMPTY=$(elapsed "$t0" "$t1"); FULL=$(elapsed "$t1" "$t2")
  report "| $day | $(wc -l < "$WORK/$day.ndjson") | $(printf %.2f "$EMPTY") | $(printf %.2f "$FULL") | $(ratio "$FULL" "$EMPTY") |"
done
report ""
t0=$(now)
if DATABASE_URL="$FULL_URL" "$BIN" db check-facts > "$WORK/check-full.out" 2>/dev/null; then CHECK="no difference"; else CHECK="$(wc -l < "$WORK/check-full.out") rows differ"; fi
t1=$(now)
report "\`db check-facts\` on the 18-month warehouse after the extra days: $CHECK, in $(printf %.1f "$(elapsed "$t0" "$t1")") s."
report ""

mv "$RESULTS.tmp" "$RESULTS"
echo "results written to $RESULTS"
