#!/usr/bin/env python3
"""End-to-end tests of the Exports page (issue #14), in a real headless Chromium.

Drives `inbox-warehouse serve` on a loopback port, on a database of the test's own, the way an
inbox administrator would: log in, generate an on-demand export, see the notification pushed by
the server, download the file with the download icon and compare its bytes with the command
line's export of the same parameters; create a schedule, run it, download its file, pause,
resume and delete; and the refusals: a viewer cannot create, a form without its CSRF token is
refused, a job id of another shape or a path in the URL gets 404, a wrong password is refused
and rate-limited. The page contract is /work/coord/web-contract.md (ids and routes), the
behaviour is docs/web.md.

Environment:
  INBOX_WAREHOUSE_E2E_BINARY        the inbox-warehouse executable (required)
  INBOX_WAREHOUSE_E2E_DATABASE_URL  a fresh, migrated database the tests may fill (required)
  INBOX_WAREHOUSE_E2E_SCREENSHOTS   a directory for the screenshots (docs/web to refresh the
                                    docs); each is written only when its test passes
  INBOX_WAREHOUSE_E2E_CHROMIUM      the browser (default: chromium on PATH)
  INBOX_WAREHOUSE_E2E_CHROMEDRIVER  its driver (default: chromedriver on PATH)
  INBOX_WAREHOUSE_E2E_TIMEOUT       seconds to wait for anything (default: 90)

Exit status 0 when every test passed, 1 otherwise (each failure is printed with its reason and
the end of the server's log). The server and the browsers are stopped in every case.
"""

import base64
import datetime
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                            TimeoutException, WebDriverException)
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:  # a clear message instead of a traceback: .ci/run installs it
    sys.exit(f"error: {sys.executable} cannot import selenium ({error}); "
             "install Debian's python3-selenium or `python3 -m pip install selenium` (.ci/run does)")

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
FIXTURE = REPOSITORY / "Tests/InboxWarehouseTests/Fixtures/golden/events.ndjson"

EXPORT_TYPES = ["resolved-conversations", "open-conversations", "messages", "teams", "contacts", "topics",
                "tags", "agent-availability", "agent-metrics", "responses", "virtual-agents",
                "contact-attributes"]
BROWSER_ZONE = "Europe/Paris"  # the browsers' TZ: the form must preselect it
ADMIN, ADMIN_PASSWORD = "e2e-admin", "correct horse battery staple"
VIEWER, VIEWER_PASSWORD = "e2e-viewer", "viewer pass phrase 42"

# The on-demand export the admin generates: the golden log's Paris case on its two channels.
ON_DEMAND = {"type": "messages", "zone": "Europe/Paris", "from": "2026-03-28", "to": "2026-03-30",
             "channels": ["ch-tw", "ch-wa"]}


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# The command line and the server


class Tool:
    """Runs the inbox-warehouse command line on the test database."""

    def __init__(self, binary, database_url, home):
        self.binary = binary
        self.database_url = database_url
        self.environment = dict(os.environ)
        self.environment.pop("DATABASE_URL", None)
        # Anything the tool keeps by default (files of on-demand jobs, ...) goes to the test's
        # own folder, never into the checkout.
        self.environment["INBOX_WAREHOUSE_HOME"] = str(home)
        self.home = home

    def run(self, arguments, stdin=None, check_status=True, database=True):
        command = [self.binary] + arguments + (["--database-url", self.database_url] if database else [])
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=self.environment,
                                cwd=self.home, timeout=300)
        if check_status and result.returncode != 0:
            raise TestFailure(f"`{' '.join(command[:3])} ...` exited with {result.returncode}:\n"
                              f"{result.stdout}{result.stderr}")
        return result

    def job(self, job_id):
        return json.loads(self.run(["jobs", "show", str(job_id), "--json"]).stdout)

    def jobs(self):
        return json.loads(self.run(["jobs", "list", "--json", "--limit", "100000"]).stdout)

    def export_like(self, job, output):
        """`inbox-warehouse export` with the parameters a job ran with; returns the bytes."""
        parameters = dict(job["parameters"])
        if not parameters.get("as_of"):
            # An on-demand job's row keeps the request as given; the moment it ran (as_of) is in
            # the manifest beside its file.
            manifest = json.loads(Path(job["file"] + ".manifest.json").read_text())
            parameters["as_of"] = manifest["parameters"]["as_of"]
        arguments = ["export", job["type"], "--tz", parameters["time_zone"],
                     "--as-of", rfc3339(parameters["as_of"]), "--header-locale", parameters["header_locale"],
                     "--content-policy", parameters["content_policy"], "--output", str(output), "--quiet"]
        for bound in ("from", "to"):
            if parameters.get(bound):
                arguments += [f"--{bound}", rfc3339(parameters[bound])]
        for channel in parameters.get("channel_ids") or []:
            arguments += ["--channel", channel]
        if parameters.get("bom"):
            arguments.append("--bom")
        if parameters.get("spreadsheet_safe"):
            arguments.append("--safe-spreadsheet")
        self.run(arguments)
        return Path(output).read_bytes()


def rfc3339(value):
    """A job parameter as the command line takes it: dates stay dates; PostgreSQL's
    `2026-12-04 17:00:10.462281+00` becomes `2026-12-04T17:00:10.462281+00:00`."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    value = value.replace(" ", "T", 1)
    match = re.search(r"([+-]\d{2})(:?(\d{2}))?$", value)
    if match and not match.group(2):
        value = value[:match.start()] + match.group(1) + ":00"
    return value


class Server:
    """`inbox-warehouse serve --listen 127.0.0.1:0` on the test database."""

    def __init__(self, tool, log_path):
        self.tool = tool
        self.log_path = log_path
        self.process = None
        self.base_url = None
        self.exit_status = None

    def start(self, timeout):
        command = [self.tool.binary, "serve", "--listen", "127.0.0.1:0", "--database-url", self.tool.database_url]
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log_file, stdin=subprocess.DEVNULL,
                                        env=self.tool.environment, cwd=self.tool.home)
        first_line = b""
        deadline = time.monotonic() + timeout
        while not first_line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                break
            ready, _, _ = select.select([self.process.stdout], [], [], min(remaining, 1))
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    break
                first_line += chunk
        line = first_line.decode("utf-8", "replace").rstrip("\n")
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        if not match or match.group(2) == "0":
            raise TestFailure(f"serve's first line should be `listening on http://127.0.0.1:PORT`, got {line!r}"
                              f" (exit status {self.process.poll()})\n{self.log_tail()}")
        self.base_url = match.group(1)
        # Keep reading standard output so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):
            self.log_file.write(chunk)
            self.log_file.flush()

    def stop(self):
        if self.process is None or self.exit_status is not None:
            return self.exit_status
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.exit_status = "killed after 20 s without stopping on SIGTERM"
                return self.exit_status
        self.exit_status = self.process.returncode
        return self.exit_status

    def log_tail(self, lines=40):
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        tail = text.splitlines()[-lines:]
        return "--- end of serve's log ---\n" + "\n".join(tail) if tail else "(serve's log is empty)"


# ---------------------------------------------------------------------------------------------
# The browser


class Browser:
    """A headless Chromium with a profile and a download folder of its own."""

    def __init__(self, root, name, accept_language, timeout):
        self.name = name
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix=f"profile-{name}-", dir=root))
        self.downloads = Path(tempfile.mkdtemp(prefix=f"downloads-{name}-", dir=root))
        chromium = os.environ.get("INBOX_WAREHOUSE_E2E_CHROMIUM") or shutil.which("chromium")
        chromedriver = os.environ.get("INBOX_WAREHOUSE_E2E_CHROMEDRIVER") or shutil.which("chromedriver")
        if not chromium or not chromedriver:
            raise TestFailure("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver; "
                              ".ci/run installs them)")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--user-data-dir={self.profile}", "--window-size=1280,1000", "--no-first-run",
                         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--password-store=basic",
                         f"--lang={accept_language.split(',')[0]}"):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(self.downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
            "intl.accept_languages": accept_language,
            "credentials_enable_service": False,
            "profile.password_manager_enabled": False,
        })
        environment = dict(os.environ)
        environment["TZ"] = BROWSER_ZONE
        service = Service(executable_path=chromedriver, env=environment)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        # Headless Chromium saves downloads only where DevTools says so.
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)})

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # the browser may already be gone; the profile is removed with the run's folder
            pass

    # navigation and waiting

    def get(self, url):
        self.driver.get(url)

    def wait(self, condition, what, timeout=None):
        try:
            # A page being replaced (after a click that navigates) is not a failure: look again.
            return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                                 ).until(lambda d: condition())
        except TimeoutException:
            raise TestFailure(f"[{self.name}] timed out waiting for {what} (at {self.driver.current_url})")

    def at(self, path):
        """Whether the page shown is `path` (whatever its query, e.g. ?created=1)."""
        return urllib.parse.urlsplit(self.driver.current_url).path == path

    def find(self, css):
        elements = self.driver.find_elements(By.CSS_SELECTOR, css)
        return elements[0] if elements else None

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def require(self, css):
        element = self.find(css)
        check(element is not None, f"[{self.name}] no `{css}` on {self.driver.current_url}")
        return element

    def status(self):
        """The HTTP status of the document shown (Navigation Timing's responseStatus)."""
        return self.driver.execute_script(
            "const e = performance.getEntriesByType('navigation')[0]; return e ? e.responseStatus : null;")

    def mark(self):
        """Puts a marker in the page's window: it survives only as long as the page is not reloaded."""
        token = os.urandom(8).hex()
        self.driver.execute_script("window.__e2eMarker = arguments[0];", token)
        return token

    def still_marked(self, token):
        return self.driver.execute_script("return window.__e2eMarker === arguments[0];", token)

    def fetch(self, method, path, form=None, headers_wanted=()):
        """fetch() from the page (its cookies, same origin, no redirect following):
        {status, headers, text}."""
        return self.driver.execute_async_script("""
            const [method, path, form, wanted, done] = arguments;
            const init = {method, redirect: 'manual', credentials: 'same-origin'};
            if (form !== null) { init.body = new URLSearchParams(form); }
            fetch(path, init).then(async r => {
                const headers = {};
                for (const name of wanted) { headers[name] = r.headers.get(name); }
                let text = '';
                if (r.type !== 'opaqueredirect' && !(r.headers.get('content-type') || '').startsWith('text/csv')) {
                    text = await r.text();
                }
                done({status: r.status, type: r.type, headers, text});
            }, e => done({status: -1, error: String(e)}));
            """, method, path, form, list(headers_wanted))

    def csrf_token(self):
        element = self.find("input[name=csrf_token]")
        check(element is not None, f"[{self.name}] no csrf_token field on {self.driver.current_url}")
        return element.get_attribute("value")

    def set_value(self, css, value):
        """Sets an input's value the way typing would end (input and change events)."""
        element = self.require(css)
        self.driver.execute_script("""
            const [e, v] = arguments; e.value = v;
            e.dispatchEvent(new Event('input', {bubbles: true}));
            e.dispatchEvent(new Event('change', {bubbles: true}));""", element, value)

    def wait_for_download(self, before, what):
        def finished():
            names = [p for p in self.downloads.iterdir() if p.name not in before]
            if not names or any(p.name.endswith(".crdownload") or p.name.startswith(".") for p in names):
                return None
            return names[0]
        path = self.wait(finished, f"the download of {what}")
        # Chromium renames the file when it is complete; wait for its size to settle anyway.
        size = -1
        while size != path.stat().st_size:
            size = path.stat().st_size
            time.sleep(0.2)
        return path

    def screenshot(self):
        """The whole page (up to 2400 px high), 1280 px wide."""
        height = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);")
        self.driver.set_window_size(1280, min(max(int(height) + 220, 1000), 2400))
        try:
            time.sleep(0.3)  # let the page lay itself out again
            return self.driver.get_screenshot_as_png()
        finally:
            self.driver.set_window_size(1280, 1000)


# ---------------------------------------------------------------------------------------------
# The tests, in order (later tests use what earlier ones made)

TESTS = []


def test(name):
    def register(function):
        TESTS.append((name, function))
        return function
    return register


class Context:
    def __init__(self, tool, server, root, timeout):
        self.tool = tool
        self.server = server
        self.root = root
        self.timeout = timeout
        self.browsers = []
        self.admin = None
        self.pending_screenshots = {}
        self.on_demand_job = None
        self.schedule_forms = {}

    def url(self, path):
        return self.server.base_url + path

    def browser(self, name, accept_language="en-US,en"):
        browser = Browser(self.root, name, accept_language, self.timeout)
        self.browsers.append(browser)
        return browser

    def shoot(self, browser, name):
        self.pending_screenshots[name] = browser.screenshot()

    def log_in(self, browser, user, password):
        browser.get(self.url("/login"))
        browser.require("form#login-form")
        browser.require("input#username").send_keys(user)
        browser.require("input#password").send_keys(password)
        browser.require("button#login-submit").click()


def job_rows(browser):
    return {int(row.get_attribute("data-job-id")): row for row in browser.find_all("table#jobs tr[data-job-id]")}


def select_values(browser, css):
    return browser.driver.execute_script("return Array.from(arguments[0].options, o => o.value);", browser.require(css))


@test("without a session every page sends to the login page; the admin logs in")
def test_login(context):
    browser = context.admin = context.browser("admin")
    for path in ("/", "/exports/on-demand", "/exports/scheduled"):
        browser.get(context.url(path))
        browser.wait(lambda: browser.at("/login"), f"{path} to end on /login")
    check(browser.status() == 200, f"GET /login answered {browser.status()}")
    check(browser.find("html").get_attribute("lang") == "en", "an en-US browser should get the English page")
    browser.require("form#login-form input[name=csrf_token]")
    context.shoot(browser, "login.png")
    context.log_in(browser, ADMIN, ADMIN_PASSWORD)
    browser.wait(lambda: browser.at("/exports/on-demand"), "the on-demand page after logging in")
    browser.get(context.url("/"))
    browser.wait(lambda: browser.at("/exports/on-demand"), "/ to redirect to the on-demand page")


@test("the on-demand form offers the twelve types, the browser's zone, the channels and en/fr")
def test_form(context):
    browser = context.admin
    browser.require("form#export-form")
    check(select_values(browser, "select#export-type") == EXPORT_TYPES,
          f"export types: {select_values(browser, 'select#export-type')}")
    zones = select_values(browser, "select#time-zone")
    check("Europe/Paris" in zones and "America/New_York" in zones and "UTC" in zones, f"{len(zones)} zones offered")
    check(Select(browser.require("select#time-zone")).first_selected_option.get_attribute("value") == BROWSER_ZONE,
          "the browser's zone should be preselected")
    channels = select_values(browser, "select#channels")
    check(set(ON_DEMAND["channels"]) <= set(channels), f"channels offered: {channels}")
    check(browser.require("select#channels").get_attribute("multiple") is not None, "select#channels is not multiple")
    check(sorted(select_values(browser, "select#language")) == ["en", "fr"], "header languages")
    check(browser.require("input#date-from").get_attribute("type") == "date", "#date-from is not a date input")


def fill_on_demand_form(browser, parameters, language="en"):
    Select(browser.require("select#export-type")).select_by_value(parameters["type"])
    Select(browser.require("select#time-zone")).select_by_value(parameters["zone"])
    browser.set_value("input#date-from", parameters["from"])
    browser.set_value("input#date-to", parameters["to"])
    channels = Select(browser.require("select#channels"))
    channels.deselect_all()
    for channel in parameters["channels"]:
        channels.select_by_value(channel)
    Select(browser.require("select#language")).select_by_value(language)


@test("generate an export: the page is told when it is ready, pushed by the server, without reload")
def test_generate(context):
    browser = context.admin
    # A second tab stays on the page before the export is asked for: what it shows can only
    # have been pushed by the server.
    original = browser.driver.current_window_handle
    browser.driver.switch_to.new_window("tab")
    watcher_handle = browser.driver.current_window_handle
    browser.get(context.url("/exports/on-demand"))
    browser.require("table#jobs")
    watcher_marker = browser.mark()
    browser.driver.switch_to.window(original)

    browser.get(context.url("/exports/on-demand"))
    before = set(job_rows(browser))
    fill_on_demand_form(browser, ON_DEMAND)
    form_page = browser.mark()
    browser.require("button#generate").click()
    browser.wait(lambda: not browser.still_marked(form_page) and browser.at("/exports/on-demand") and browser.find("#flash"),
                 "the on-demand page with #flash after generating")
    marker = browser.mark()
    new = browser.wait(lambda: [job for job in job_rows(browser) if job not in before], "the new job's row")
    check(len(new) == 1, f"one job was asked for, the list shows new rows {new}")
    job_id = context.on_demand_job = new[0]
    check(max(job_rows(browser)) == job_id and list(job_rows(browser))[0] == job_id, "the list is not newest first")
    row = job_rows(browser)[job_id]
    check(ADMIN in row.find_element(By.CSS_SELECTOR, "td.requested-by").text, "td.requested-by does not name the admin")
    for cell in ("type", "range", "zone", "channels", "requested-at", "state", "rows", "size"):
        row.find_element(By.CSS_SELECTOR, f"td.{cell}")

    notification = f"#notifications .notification[data-job-id='{job_id}']"
    browser.wait(lambda: browser.find(notification), f"the notification of job {job_id} on the page the form led to")
    browser.wait(lambda: job_rows(browser)[job_id].get_attribute("data-state") == "succeeded",
                 f"job {job_id}'s row to show succeeded")
    check(browser.still_marked(marker), "the page was reloaded: the notification must be pushed, not fetched by a reload")
    check("ready" in browser.find(notification).text.lower(), f"the notification says {browser.find(notification).text!r}")
    context.shoot(browser, "notification.png")

    browser.driver.switch_to.window(watcher_handle)
    browser.wait(lambda: browser.find(notification), f"the notification of job {job_id} in the tab opened before")
    check(browser.still_marked(watcher_marker), "the other tab was reloaded")
    browser.driver.close()
    browser.driver.switch_to.window(original)

    job = context.tool.job(job_id)
    check(job["state"] == "succeeded", f"job {job_id} is {job['state']}: {job.get('error')}")
    parameters = job["parameters"]
    check(job["type"] == ON_DEMAND["type"] and parameters["time_zone"] == ON_DEMAND["zone"]
          and sorted(parameters["channel_ids"]) == sorted(ON_DEMAND["channels"])
          and parameters["from"].startswith(ON_DEMAND["from"]) and parameters["to"].startswith(ON_DEMAND["to"]),
          f"the job does not carry the form's parameters: {job['type']} {parameters}")


@test("the download icon saves the file, byte-identical to the command line's export")
def test_download(context):
    browser = context.admin
    job_id = context.on_demand_job
    check(job_id is not None, "no job from the previous test")
    browser.get(context.url("/exports/on-demand"))
    row = job_rows(browser)[job_id]
    link = row.find_element(By.CSS_SELECTOR, "a.download")
    check(link.get_dom_attribute("href") == f"/exports/jobs/{job_id}/download", f"href {link.get_dom_attribute('href')}")
    before = {p.name for p in browser.downloads.iterdir()}
    link.click()
    saved = browser.wait_for_download(before, f"job {job_id}")
    downloaded = saved.read_bytes()

    job = context.tool.job(job_id)
    expected = context.tool.export_like(job, context.root / f"cli-{job_id}.csv")
    check(downloaded == expected, f"the download ({len(downloaded)} bytes) differs from the CLI's export ({len(expected)} bytes)")
    lines = expected.count(b"\n")
    check(lines > 3, f"the export has only {lines} lines: the comparison proves little")
    check(saved.name == Path(job["file"]).name, f"saved as {saved.name}, the export's file name is {Path(job['file']).name}")

    answer = browser.fetch("GET", f"/exports/jobs/{job_id}/download",
                           headers_wanted=("content-disposition", "content-length", "etag", "digest"))
    headers = answer["headers"]
    check(answer["status"] == 200, f"download answered {answer['status']}")
    check(headers["content-disposition"] and headers["content-disposition"].startswith("attachment")
          and Path(job["file"]).name in headers["content-disposition"], f"Content-Disposition {headers['content-disposition']!r}")
    check(headers["content-length"] == str(len(expected)), f"Content-Length {headers['content-length']} for {len(expected)} bytes")
    digest = hashlib.sha256(expected)
    check(headers["etag"] == f'"sha256-{digest.hexdigest()}"', f"ETag {headers['etag']}")
    check(headers["digest"] == "sha-256=" + base64.b64encode(digest.digest()).decode(), f"Digest {headers['digest']}")
    # The picture for the docs: the list with the finished job, and the form filled as it was.
    browser.get(context.url("/exports/on-demand"))
    fill_on_demand_form(browser, ON_DEMAND)
    context.shoot(browser, "on-demand.png")


@test("an invalid range is refused with the command line's message (422), and no job is made")
def test_invalid_range(context):
    browser = context.admin
    browser.get(context.url("/exports/on-demand"))
    bad = dict(ON_DEMAND, **{"from": "2024-01-01", "to": "2026-03-30"})
    # The command line's refusal first (it records its refused job: count the page's after it).
    cli = context.tool.run(["export", bad["type"], "--from", bad["from"], "--to", bad["to"], "--tz", bad["zone"],
                            "--output", str(context.root / "refused.csv")], check_status=False)
    check(cli.returncode != 0, "the CLI accepted the range the page should refuse")
    jobs_before = len(context.tool.jobs())
    form = {"csrf_token": browser.csrf_token(), "export_type": bad["type"], "time_zone": bad["zone"],
            "from": bad["from"], "to": bad["to"], "language": "en"}
    answer = browser.fetch("POST", "/exports/on-demand", form)
    check(answer["status"] == 422, f"an invalid range answered {answer['status']}")
    shown = browser.driver.execute_script(
        "const d = new DOMParser().parseFromString(arguments[0], 'text/html');"
        "const e = d.querySelector('#form-error'); return e ? e.textContent : null;", answer["text"])
    check(shown and shown.strip(), "the 422 page has no #form-error")
    cli_message = re.sub(r"^error:\s*", "", cli.stderr.strip())
    normalize = lambda text: " ".join(text.split())
    check(normalize(cli_message) in normalize(shown) or normalize(shown) in normalize(cli_message),
          f"the page says {shown.strip()!r}, the CLI says {cli_message!r}")
    check(len(context.tool.jobs()) == jobs_before, "a refused request made a job")


@test("a form without its CSRF token, or with a wrong one, is refused (403)")
def test_csrf(context):
    browser = context.admin
    jobs_before = len(context.tool.jobs())
    browser.get(context.url("/exports/on-demand"))
    fill_on_demand_form(browser, ON_DEMAND)
    browser.driver.execute_script("document.querySelectorAll('#export-form input[name=csrf_token]').forEach(e => e.remove());")
    browser.require("button#generate").click()
    browser.wait(lambda: browser.status() == 403, "the form without its token to be answered 403")

    browser.get(context.url("/exports/on-demand"))
    fill_on_demand_form(browser, ON_DEMAND)
    browser.driver.execute_script(
        "document.querySelector('#export-form input[name=csrf_token]').value = 'forged-' + Math.random();")
    browser.require("button#generate").click()
    browser.wait(lambda: browser.status() == 403, "the form with a forged token to be answered 403")
    check(len(context.tool.jobs()) == jobs_before, "a refused form made a job")

    browser.get(context.url("/exports/scheduled"))
    form = browser.require("form#schedule-form")
    answer = browser.fetch("POST", form.get_dom_attribute("action") or "/exports/scheduled",
                           {"name": "no-token", "export_type": "teams", "frequency": "daily", "time_zone": "UTC",
                            "delivery": "keep"})
    check(answer["status"] == 403, f"the schedule form without a token answered {answer['status']}")
    answer = browser.fetch("POST", "/logout", {})
    check(answer["status"] == 403, f"logout without a token answered {answer['status']}")


def schedule_rows(browser):
    return {int(row.get_attribute("data-schedule-id")): row for row in browser.find_all("table#schedules tr[data-schedule-id]")}


def create_schedule(context, browser, name, export_type, frequency, zone):
    browser.get(context.url("/exports/scheduled"))
    before = set(schedule_rows(browser))
    browser.require("input#schedule-name").send_keys(name)
    types = Select(browser.require("select#schedule-types"))
    types.deselect_all()
    types.select_by_value(export_type)
    Select(browser.require("select#frequency")).select_by_value(frequency)
    Select(browser.require("select#schedule-time-zone")).select_by_value(zone)
    Select(browser.require("select#schedule-channels")).deselect_all()
    Select(browser.require("select#delivery")).select_by_value("keep")
    context.schedule_forms["create"] = browser.require("form#schedule-form").get_dom_attribute("action")
    browser.require("button#create-schedule").click()
    browser.wait(lambda: browser.at("/exports/scheduled")
                 and [s for s in schedule_rows(browser) if s not in before], f"the row of schedule {name}")
    new = [s for s in schedule_rows(browser) if s not in before]
    check(len(new) == 1, f"one schedule was created, new rows: {new}")
    return new[0]


@test("create a schedule on the Scheduled tab, run it, download its file; pause, resume, delete")
def test_schedule(context):
    browser = context.admin
    schedule_id = create_schedule(context, browser, "e2e daily messages", "messages", "daily", "Europe/Paris")
    row = schedule_rows(browser)[schedule_id]
    check(row.get_attribute("data-enabled") == "true", "a new schedule should be enabled")
    check(row.find_element(By.CSS_SELECTOR, "td.next-run").text.strip(), "td.next-run is empty")

    # Run what is due (yesterday in Paris, where the generated log has traffic). The server's
    # own scheduler may get there first: a (schedule, period) is exported once either way.
    context.tool.run(["schedule", "run-due"])
    def finished_job():
        jobs = [j for j in context.tool.jobs() if j.get("schedule_id") == schedule_id]
        return jobs[0] if jobs and all(j["state"] in ("succeeded", "failed") for j in jobs) else None
    job = browser.wait(finished_job, f"a finished job of schedule {schedule_id}")
    check(job["state"] == "succeeded", f"the scheduled job failed: {job.get('error')}")
    job = context.tool.job(job["job_id"])

    browser.get(context.url("/exports/scheduled"))
    row = schedule_rows(browser)[schedule_id]
    check(row.find_element(By.CSS_SELECTOR, "td.last-run").text.strip(), "td.last-run is empty after a run")
    link = row.find_element(By.CSS_SELECTOR, "a.download")
    check(link.get_dom_attribute("href") == f"/exports/jobs/{job['job_id']}/download", f"href {link.get_dom_attribute('href')}")
    before = {p.name for p in browser.downloads.iterdir()}
    link.click()
    downloaded = browser.wait_for_download(before, f"scheduled job {job['job_id']}").read_bytes()
    expected = context.tool.export_like(job, context.root / f"cli-{job['job_id']}.csv")
    check(downloaded == expected, f"the scheduled file ({len(downloaded)} bytes) differs from the CLI's export ({len(expected)} bytes)")
    check(expected.count(b"\n") > 3, "the scheduled export is (nearly) empty: the comparison proves little")

    def press(action, enabled):
        row = schedule_rows(browser)[schedule_id]
        form = row.find_element(By.CSS_SELECTOR, f"form.{action}")
        context.schedule_forms[action] = form.get_dom_attribute("action")
        form.find_element(By.CSS_SELECTOR, "button").click()
        browser.wait(lambda: schedule_id in schedule_rows(browser)
                     and schedule_rows(browser)[schedule_id].get_attribute("data-enabled") == enabled,
                     f"schedule {schedule_id} to be enabled={enabled} after {action}")

    press("pause", "false")
    press("resume", "true")
    context.shoot(browser, "scheduled.png")

    doomed = create_schedule(context, browser, "e2e to delete", "teams", "weekly", "UTC")
    row = schedule_rows(browser)[doomed]
    form = row.find_element(By.CSS_SELECTOR, "form.delete")
    context.schedule_forms["delete"] = form.get_dom_attribute("action")
    form.find_element(By.CSS_SELECTOR, "button").click()
    try:  # a confirmation dialog is allowed
        WebDriverWait(browser.driver, 2).until(expected_conditions.alert_is_present()).accept()
    except TimeoutException:
        pass
    browser.wait(lambda: doomed not in schedule_rows(browser) and schedule_id in schedule_rows(browser),
                 f"schedule {doomed} to disappear")
    names = [s["name"] for s in json.loads(context.tool.run(["schedule", "list", "--json"]).stdout)]
    check("e2e to delete" not in names and "e2e daily messages" in names, f"schedules left: {names}")


@test("a viewer (French browser) sees the lists and downloads, but has no form and gets 403 on POST")
def test_viewer(context):
    browser = context.browser("viewer", accept_language="fr-FR,fr")
    browser.get(context.url("/login"))
    check(browser.find("html").get_attribute("lang") == "fr", "a French browser should get the French login page")
    context.log_in(browser, VIEWER, VIEWER_PASSWORD)
    browser.wait(lambda: browser.at("/exports/on-demand"), "the viewer's on-demand page")
    check(browser.find("form#export-form") is None, "a viewer sees the export form")
    browser.require("#viewer-note")
    rows = job_rows(browser)
    check(context.on_demand_job in rows, "the viewer does not see the admin's job")
    link = rows[context.on_demand_job].find_element(By.CSS_SELECTOR, "a.download")
    answer = browser.fetch("GET", link.get_dom_attribute("href"))
    check(answer["status"] == 200, f"a viewer's download answered {answer['status']}")
    token = browser.csrf_token()  # the logout form's
    answer = browser.fetch("POST", "/exports/on-demand", {
        "csrf_token": token, "export_type": ON_DEMAND["type"], "time_zone": ON_DEMAND["zone"],
        "from": ON_DEMAND["from"], "to": ON_DEMAND["to"], "language": "en"})
    check(answer["status"] == 403, f"a viewer's POST /exports/on-demand answered {answer['status']}")

    browser.get(context.url("/exports/scheduled"))
    check(browser.find("form#schedule-form") is None, "a viewer sees the schedule form")
    check(browser.find("table#schedules form.pause, table#schedules form.resume, table#schedules form.delete") is None,
          "a viewer sees pause/resume/delete")
    token = browser.csrf_token()
    rows = schedule_rows(browser)
    check(rows, "the viewer does not see the schedules")
    some_schedule = next(iter(rows))
    for action, target in context.schedule_forms.items():
        if not target:
            continue
        target = re.sub(r"/\d+(/|$)", f"/{some_schedule}\\1", target) if action != "create" else target
        answer = browser.fetch("POST", target, {"csrf_token": token, "name": "viewer's", "export_type": "teams",
                                                "frequency": "daily", "time_zone": "UTC", "delivery": "keep"})
        check(answer["status"] == 403, f"a viewer's POST {target} ({action}) answered {answer['status']}")


BAD_DOWNLOAD_PATHS = [
    "/exports/jobs/01/download", "/exports/jobs/1a/download", "/exports/jobs/abc/download",
    "/exports/jobs/-1/download", "/exports/jobs/+1/download", "/exports/jobs/1.0/download",
    "/exports/jobs/%31/download", "/exports/jobs/12345678901234567890/download",
    "/exports/jobs/%2e%2e/download", "/exports/jobs/..%2F..%2F..%2Fetc%2Fpasswd/download",
    "/exports/jobs/%2Fetc%2Fpasswd/download", "/exports/jobs/1%2F..%2F..%2Fetc%2Fpasswd/download",
    "/exports/jobs/{job}/download/extra", "/exports/jobs/{job}/download/..%2F..%2Fetc%2Fpasswd",
    "/exports/jobs/{job}%00/download", "/exports/jobs/ {job}/download",
    "/exports/jobs/999999999/download",
]


@test("a job id of another shape, or a path in the URL, gets 404")
def test_not_found(context):
    browser = context.admin
    job_id = context.on_demand_job
    browser.get(context.url("/exports/on-demand"))
    wrong = []
    for template in BAD_DOWNLOAD_PATHS:
        path = template.replace("{job}", str(job_id))
        answer = browser.fetch("GET", path)
        if answer["status"] != 404:
            wrong.append(f"{path} -> {answer['status']}")
    answer = browser.fetch("GET", f"/exports/jobs/{job_id}/download")
    check(answer["status"] == 200, f"the job's own download answered {answer['status']}")
    check(not wrong, "these should be 404: " + ", ".join(wrong))
    # As a person would type it in the address bar.
    browser.get(context.url("/exports/jobs/..%2F..%2Fetc%2Fpasswd/download"))
    check(browser.status() == 404, f"the address bar got {browser.status()}")
    browser.require("#error")
    check("root:" not in browser.driver.page_source, "/etc/passwd was served")


@test("switch to French and back")
def test_french(context):
    browser = context.admin
    browser.get(context.url("/exports/on-demand"))
    english = browser.require("button#generate").text
    browser.require("a#lang-fr").click()
    browser.wait(lambda: browser.find("html").get_attribute("lang") == "fr", "the French page")
    check(browser.require("button#generate").text != english, f"the button still says {english!r} in French")
    check(Select(browser.require("select#language")).first_selected_option.get_attribute("value") == "fr",
          "the export's header language should follow the interface (fr)")
    browser.get(context.url("/exports/scheduled"))
    check(browser.find("html").get_attribute("lang") == "fr", "the language does not stick across pages")
    browser.get(context.url("/exports/on-demand"))
    context.shoot(browser, "on-demand-fr.png")
    browser.require("a#lang-en").click()
    browser.wait(lambda: browser.find("html").get_attribute("lang") == "en", "the English page again")
    check(browser.require("button#generate").text == english, "back in English, the button differs")


@test("log out; a wrong password is refused (401), and repeated attempts are rate-limited (429)")
def test_wrong_password(context):
    browser = context.admin
    browser.get(context.url("/exports/on-demand"))
    browser.require("form#logout-form button#logout").click()
    browser.wait(lambda: browser.at("/login"), "the login page after logging out")
    browser.get(context.url("/exports/on-demand"))
    browser.wait(lambda: browser.at("/login"), "a logged-out session to be sent to /login")

    answer = browser.fetch("POST", "/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
    check(answer["status"] == 403, f"a login form without its CSRF token answered {answer['status']}")

    statuses = []
    for attempt in range(30):
        context.log_in(browser, ADMIN, f"wrong password {attempt}")
        browser.wait(lambda: browser.find("#login-error"), f"#login-error after wrong password {attempt}")
        statuses.append(browser.status())
        if statuses[-1] == 429:
            break
    check(statuses[0] == 401, f"a wrong password answered {statuses[0]}")
    check(statuses[-1] == 429, f"30 wrong passwords in a row were never rate-limited: {statuses}")
    check(all(s == 401 for s in statuses[:-1]), f"statuses before the limit: {statuses}")
    check(not browser.at("/exports/on-demand"), "logged in with a wrong password")


# ---------------------------------------------------------------------------------------------


def main():
    binary = os.environ.get("INBOX_WAREHOUSE_E2E_BINARY")
    database_url = os.environ.get("INBOX_WAREHOUSE_E2E_DATABASE_URL")
    if not binary or not database_url:
        sys.exit("error: set INBOX_WAREHOUSE_E2E_BINARY and INBOX_WAREHOUSE_E2E_DATABASE_URL (see this file's docstring)")
    screenshots = os.environ.get("INBOX_WAREHOUSE_E2E_SCREENSHOTS")
    timeout = float(os.environ.get("INBOX_WAREHOUSE_E2E_TIMEOUT") or 90)
    only = set(sys.argv[1:])  # optional: names (substrings) of tests to run, with what they need

    root = Path(tempfile.mkdtemp(prefix="iw-e2e-"))
    home = root / "home"
    home.mkdir()
    tool = Tool(binary, database_url, home)
    server = Server(tool, root / "serve.log")
    context = Context(tool, server, root, timeout)
    failures = []
    passed = 0
    try:
        # The data: the golden log, and a generated one over the last three days (so that a
        # schedule's first period, yesterday, has traffic).
        tool.run(["load", str(FIXTURE), "--quiet"])
        start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).strftime("%Y-%m-%d")
        generated = root / "recent.ndjson"
        tool.run(["generate", "--conversations", "40", "--days", "3", "--start", start, "--seed", "7",
                  "--output", str(generated), "--quiet"], database=False)
        tool.run(["load", str(generated), "--quiet"])
        tool.run(["users", "add", ADMIN, "--role", "admin"], stdin=ADMIN_PASSWORD + "\n")
        tool.run(["users", "add", VIEWER, "--role", "viewer"], stdin=VIEWER_PASSWORD + "\n")
        server.start(timeout)
        log(f"serve listens on {server.base_url}")

        for name, function in TESTS:
            if only and not any(word in name for word in only):
                continue
            context.pending_screenshots = {}
            started = time.monotonic()
            try:
                function(context)
            except Exception as error:
                detail = str(error) if isinstance(error, TestFailure) else traceback.format_exc()
                failures.append((name, detail))
                log(f"FAIL {name} ({time.monotonic() - started:.1f} s)\n     {detail}")
                continue
            passed += 1
            log(f"ok   {name} ({time.monotonic() - started:.1f} s)")
            if screenshots:
                Path(screenshots).mkdir(parents=True, exist_ok=True)
                for file_name, png in context.pending_screenshots.items():
                    (Path(screenshots) / file_name).write_bytes(png)
                    log(f"     wrote {Path(screenshots) / file_name}")
    except Exception as error:
        detail = str(error) if isinstance(error, TestFailure) else traceback.format_exc()
        failures.append(("setting up", detail))
        log(f"FAIL setting up\n     {detail}")
    finally:
        for browser in context.browsers:
            browser.quit()
        status = server.stop()
        if server.process is not None and status != 0:
            failures.append(("serve stops cleanly on SIGTERM", f"exit status {status}"))
            log(f"FAIL serve stops cleanly on SIGTERM: exit status {status}")
    if failures:
        log(server.log_tail())
        log(f"{passed} passed, {len(failures)} failed: " + "; ".join(name for name, _ in failures))
        log(f"(run folder kept: {root})")
        return 1
    log(f"{passed} passed")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
