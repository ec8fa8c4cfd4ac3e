#!/usr/bin/env bash
# Benchmark of the web page (issue #14), on loopback, on a throwaway embedded cluster. Not part
# of the test suite; the method and the last results are in docs/benchmarks-web.md.
#
#   scripts/bench-web.sh [RESULTS_FILE]
#
# 1. The on-demand page's first page with JOBS (default 10000) past jobs: REQUESTS (default 500)
#    sequential GETs with a logged-in session cookie over one keep-alive connection, after 20
#    warm-up requests; p50/p95/p99/max of the time to the last byte. Target: p95 <= 50 ms.
# 2. DOWNLOADS (default 20) concurrent downloads (curl) of one SIZE_MB (default 300) export:
#    the server's RSS sampled every 100 ms before, during and after; each download's time
#    against `cat FILE > /dev/null` of the same file, alone and DOWNLOADS at once.
#    Target: memory flat, each download within 1.2x cat.
#
# BIN (default: a release build, `swift build -c release` when missing) is the binary measured.
# Results are printed and written as Markdown to RESULTS_FILE (default: /dev/stdout only).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${1:-}
export JOBS=${JOBS:-10000} REQUESTS=${REQUESTS:-500} DOWNLOADS=${DOWNLOADS:-20} SIZE_MB=${SIZE_MB:-300}
if [ -z "${BIN:-}" ]; then
  swift build -c release --product inbox-warehouse >/dev/null
  BIN=$PWD/.build/release/inbox-warehouse
fi
"$BIN" serve --help >/dev/null 2>&1 || { echo "error: $BIN has no serve command" >&2; exit 1; }
command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }
export BIN
WORK=$(mktemp -d /tmp/iw-bench-web.XXXX)
chmod 755 "$WORK"   # as root, the embedded server runs as postgres and must reach its home
export WORK INBOX_WAREHOUSE_HOME=$WORK/home INBOX_WAREHOUSE_SQL_DIR=$PWD/sql
unset DATABASE_URL
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  "$BIN" db stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" db start >/dev/null
DB=$("$BIN" db url)
export DB
"$BIN" db migrate --database-url "$DB" >/dev/null
"$BIN" load Tests/InboxWarehouseTests/Fixtures/golden/events.ndjson --database-url "$DB" --quiet
echo "bench password" | "$BIN" users add bench --role admin --database-url "$DB" >/dev/null

"$BIN" serve --listen 127.0.0.1:0 --database-url "$DB" --no-scheduler >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
export SERVE_PID
for _ in $(seq 600); do
  grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
  sleep 0.1
done
BASE=$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)
[ -n "$BASE" ] || { echo "error: serve did not say where it listens" >&2; exit 1; }
export BASE

python3 - "$RESULTS" <<'PY'
import hashlib, http.client, json, os, re, shutil, statistics, subprocess, sys, threading, time, urllib.parse

BIN, DB, BASE, WORK = os.environ["BIN"], os.environ["DB"], os.environ["BASE"], os.environ["WORK"]
JOBS, REQUESTS, DOWNLOADS, SIZE_MB = (int(os.environ[k]) for k in ("JOBS", "REQUESTS", "DOWNLOADS", "SIZE_MB"))
SERVE_PID = int(os.environ["SERVE_PID"])
results_file = sys.argv[1] if len(sys.argv) > 1 else ""
host, port = BASE.removeprefix("http://").split(":")
lines = []

def report(text=""):
    print(text, flush=True)
    lines.append(text)

def psql(sql):
    return subprocess.run(["psql", "-qtAX", "-v", "ON_ERROR_STOP=1", DB, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()

def cli(*arguments):
    return subprocess.run([BIN, *arguments, "--database-url", DB], check=True, capture_output=True, text=True).stdout

class Session:
    def __init__(self):
        self.connection = http.client.HTTPConnection(host, int(port))
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, data.decode("utf-8", "replace")

def csrf(page):
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "no csrf_token on the page"
    return match.group(1)

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

report(f"# Web benchmark run {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
report()
cpus = os.cpu_count()
load = os.getloadavg()
report(f"Machine: {cpus} cores, load average {load[0]:.1f} at the start; binary `{BIN}`; server {BASE}.")
report()

# --- a logged-in session and one real on-demand job --------------------------------------------
session = Session()
status, page = session.request("GET", "/login")
status, _ = session.request("POST", "/login", {"csrf_token": csrf(page), "username": "bench", "password": "bench password"})
assert status == 303, f"login answered {status}"
status, page = session.request("GET", "/exports/on-demand")
assert status == 200, f"the on-demand page answered {status}"
status, _ = session.request("POST", "/exports/on-demand", {
    "csrf_token": csrf(page), "export_type": "messages", "time_zone": "Europe/Paris",
    "from": "2026-03-28", "to": "2026-03-30", "language": "en"})
assert status == 303, f"generating answered {status}"
for _ in range(600):
    job = json.loads(cli("jobs", "list", "--json", "--limit", "1"))[0]
    if job["state"] in ("succeeded", "failed"):
        break
    time.sleep(0.1)
assert job["state"] == "succeeded", job
job = json.loads(cli("jobs", "show", str(job["job_id"]), "--json"))
real_id, real_file = job["job_id"], job["file"]

# --- 1. the first page with JOBS past jobs --------------------------------------------------------
columns = psql("select string_agg(quote_ident(column_name), ', ' order by ordinal_position) from information_schema.columns "
               "where table_schema = 'warehouse' and table_name = 'export_jobs' and column_name not in ('job_id', 'requested_at')")
psql(f"insert into warehouse.export_jobs ({columns}, requested_at) "
     f"select {columns}, requested_at - make_interval(mins => g) from warehouse.export_jobs, generate_series(1, {JOBS - 1}) g "
     f"where job_id = {real_id}; analyze warehouse.export_jobs")
count = int(psql("select count(*) from warehouse.export_jobs"))
report(f"## 1. The on-demand page with {count} past jobs")
report()
status, page = session.request("GET", "/exports/on-demand")
rows = len(re.findall(r"<tr[^>]*data-job-id=", page))
assert status == 200 and rows > 0, (status, rows)
for _ in range(20):
    session.request("GET", "/exports/on-demand")
times = []
for _ in range(REQUESTS):
    start = time.perf_counter()
    status, page = session.request("GET", "/exports/on-demand")
    times.append((time.perf_counter() - start) * 1000)
    assert status == 200
ms = lambda v: f"{v:.1f}"
p95 = percentile(times, 95)
report(f"{REQUESTS} sequential GET /exports/on-demand (first page: {rows} rows, {len(page.encode())} bytes), one keep-alive connection, logged in:")
report()
report("| p50 | p95 | p99 | max | mean | target p95 |")
report("|---|---|---|---|---|---|")
report(f"| {ms(percentile(times, 50))} ms | {ms(p95)} ms | {ms(percentile(times, 99))} ms | {ms(max(times))} ms | "
       f"{ms(statistics.mean(times))} ms | ≤ 50 ms: {'met' if p95 <= 50 else 'NOT met'} |")
report()
# the last page too (OFFSET at its worst)
last = re.search(r'id="next-page"', page) is not None
pages = (count + 19) // 20
status, _ = session.request("GET", f"/exports/on-demand?page={pages}")
start = time.perf_counter()
for _ in range(50):
    session.request("GET", f"/exports/on-demand?page={pages}")
report(f"For comparison, the last page (?page={pages}, status {status}): {ms((time.perf_counter() - start) * 1000 / 50)} ms mean of 50.")
report()

# --- 2. concurrent downloads of a big export -----------------------------------------------------
# A SIZE_MB export: the real job's CSV with its data rows repeated, beside it, with its manifest
# rewritten (rows, bytes, SHA-256), recorded as one more succeeded job of the same type.
directory = os.path.dirname(real_file)
big = os.path.join(directory, f"bench_{SIZE_MB}mb_" + os.path.basename(real_file))
with open(real_file, "rb") as source:
    header = source.readline()
    body = source.read()
assert body, "the real export has no rows"
digest = hashlib.sha256()
written, data_rows = 0, 0
chunk = body * max(1, (4 << 20) // len(body))
chunk_rows = chunk.count(b"\n")
with open(big, "wb") as out:
    out.write(header); digest.update(header); written += len(header)
    while written < SIZE_MB * 1_000_000:
        out.write(chunk); digest.update(chunk); written += len(chunk); data_rows += chunk_rows
manifest_path = real_file + ".manifest.json"
if os.path.exists(manifest_path):
    manifest = json.load(open(manifest_path))
    for key, value in (("rows", data_rows), ("bytes", written), ("sha256", digest.hexdigest())):
        if key in manifest:
            manifest[key] = value
    if "file" in manifest:
        manifest["file"] = os.path.basename(big) if "/" not in manifest["file"] else big
    json.dump(manifest, open(big + ".manifest.json", "w"), indent=2, sort_keys=True)
big_id = int(psql(f"insert into warehouse.export_jobs ({columns}, requested_at) select {columns}, clock_timestamp() "
                  f"from warehouse.export_jobs where job_id = {real_id} returning job_id"))
psql(f"update warehouse.export_jobs set file_path = '{big}', rows = {data_rows}, bytes = {written}, "
     f"sha256 = '{digest.hexdigest()}' where job_id = {big_id}")
cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
url = f"{BASE}/exports/jobs/{big_id}/download"
check = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", f"Cookie: {cookie}", url],
                       capture_output=True, text=True).stdout.split()
assert check == ["200", str(written)], f"downloading job {big_id}: {check}"

def timed_processes(commands):
    started = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True, shell=isinstance(c, str)) for c in commands]
    finished = [None] * len(processes)
    outputs = [None] * len(processes)
    def wait(i):
        outputs[i] = processes[i].communicate()[0]
        finished[i] = time.perf_counter() - started
    threads = [threading.Thread(target=wait, args=(i,)) for i in range(len(processes))]
    for t in threads: t.start()
    for t in threads: t.join()
    return finished, outputs, time.perf_counter() - started

subprocess.run(f"cat '{big}' > /dev/null", shell=True)  # the page cache holds the file for everyone
cat_one = min(timed_processes([f"cat '{big}' > /dev/null"])[0][0] for _ in range(3))
cat_many, _, cat_wall = timed_processes([f"cat '{big}' > /dev/null"] * DOWNLOADS)

# curl reading the file itself (no server): what curl costs on its own.
curl_file, _, curl_file_wall = timed_processes([["curl", "-s", "-o", "/dev/null", f"file://{big}"]] * DOWNLOADS)

samples = []
stop = threading.Event()
def sample():
    while not stop.is_set():
        samples.append((time.perf_counter(), rss_kib(SERVE_PID), rss_kib(SERVE_PID, "RssAnon")))
        time.sleep(0.1)
idle_before = rss_kib(SERVE_PID)
sampler = threading.Thread(target=sample); sampler.start()
time.sleep(1)
t_start = time.perf_counter()
curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", "-H", f"Cookie: {cookie}", url]
download_times, outputs, download_wall = timed_processes([curl] * DOWNLOADS)
t_end = time.perf_counter()
time.sleep(1)
stop.set(); sampler.join()
for output in outputs:
    code, size, _ = output.split()
    assert code == "200" and int(size) == written, output
during = [kib for t, kib, _ in samples if t_start <= t <= t_end]
before = [kib for t, kib, _ in samples if t < t_start]
after = [kib for t, kib, _ in samples if t > t_end]
anonymous_during = [kib for t, _, kib in samples if t_start <= t <= t_end]
mib = lambda kib: f"{kib / 1024:.1f} MiB"
worst = max(download_times)
report(f"## 2. {DOWNLOADS} concurrent downloads of a {written / 1e6:.0f} MB export")
report()
report(f"The file: job {real_id}'s CSV (messages, {len(body.splitlines())} rows) with its rows repeated to {data_rows} rows, "
       f"{written} bytes, recorded as job {big_id}. Downloaded with curl to /dev/null, all at once.")
report()
report("| | alone | each of the concurrent ones: min / median / max | all done (wall) |")
report("|---|---|---|---|")
report(f"| `cat FILE > /dev/null` | {cat_one:.2f} s | {min(cat_many):.2f} / {statistics.median(cat_many):.2f} / {max(cat_many):.2f} s | {cat_wall:.2f} s |")
report(f"| `curl file://FILE -o /dev/null` (no server) | | {min(curl_file):.2f} / {statistics.median(curl_file):.2f} / {max(curl_file):.2f} s | {curl_file_wall:.2f} s |")
report(f"| download from serve (curl) | | {min(download_times):.2f} / {statistics.median(download_times):.2f} / {worst:.2f} s | {download_wall:.2f} s |")
report()
report(f"Slowest download / slowest of {DOWNLOADS} concurrent cats: {worst / max(cat_many):.2f}x; "
       f"/ one cat alone: {worst / cat_one:.1f}x (target: within 1.2x); / the slowest concurrent `curl file://`: "
       f"{worst / max(curl_file):.2f}x. Aggregate download rate {DOWNLOADS * written / download_wall / 1e6:.0f} MB/s.")
report()
report(f"Server RSS (sampled every 100 ms, {len(during)} samples during the downloads): idle before {mib(idle_before)}, "
       f"max before {mib(max(before))}, during min {mib(min(during))} / median {mib(statistics.median(during))} / max {mib(max(during))}, "
       f"after {mib(max(after))}. Growth during the downloads: {mib(max(during) - max(before))} "
       f"({(max(during) - max(before)) / 1024 / (DOWNLOADS * written / 2**20) * 100:.2f}% of the bytes sent); "
       f"anonymous memory (RssAnon) at most {mib(max(anonymous_during))} during. Target: flat.")
report()
load = os.getloadavg()
report(f"Load average at the end: {load[0]:.1f}.")
if results_file:
    with open(results_file, "w") as out:
        out.write("\n".join(lines) + "\n")
PY
