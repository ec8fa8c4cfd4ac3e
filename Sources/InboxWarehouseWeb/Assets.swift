/// The page's script and style sheet, compiled into the binary and served from /assets/ (no
/// CDN, no build step).
enum Assets {
    static let javaScript = #"""
// inbox-warehouse serve: the little behaviour of the Exports page (docs/web.md).
// No framework; fed by Server-Sent Events from /events.
"use strict";
(function () {
  var body = document.body;
  function text(name) { return body.getAttribute("data-text-" + name) || name; }

  // The browser's time zone preselected, unless the form was shown again with a chosen one.
  ["time-zone", "schedule-time-zone"].forEach(function (id) {
    var select = document.getElementById(id);
    if (!select || select.getAttribute("data-chosen") === "true") return;
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === zone) { select.value = zone; break; }
      }
    } catch (e) { /* keep UTC */ }
  });

  // The 18-month span in the form too (the server checks it with the CLI's messages).
  var from = document.getElementById("date-from"), to = document.getElementById("date-to");
  if (from && to) {
    var latest = to.max;
    from.addEventListener("change", function () {
      if (!from.value) { to.min = from.min; to.max = latest; return; }
      to.min = from.value;
      // The same day 18 months on, clamped to the month's end as PostgreSQL's date + interval
      // does: the last "to" the server accepts (it refuses later ones with the CLI's message).
      var parts = from.value.split("-").map(Number);
      var lastDay = new Date(Date.UTC(parts[0], parts[1] - 1 + 19, 0)).getUTCDate();
      var end = new Date(Date.UTC(parts[0], parts[1] - 1 + 18, Math.min(parts[2], lastDay)));
      var limit = end.toISOString().slice(0, 10);
      to.max = limit < latest ? limit : latest;
    });
  }

  // Delivery fields shown for the chosen delivery.
  var delivery = document.getElementById("delivery");
  function showDelivery() {
    document.querySelectorAll(".delivery-sftp").forEach(function (e) { e.hidden = delivery.value !== "sftp"; });
    document.querySelectorAll(".delivery-webhook").forEach(function (e) { e.hidden = delivery.value !== "webhook"; });
  }
  if (delivery) { delivery.addEventListener("change", showDelivery); showDelivery(); }

  // The browser's notifications, when the user allows them.
  var button = document.getElementById("enable-notifications");
  if (button && "Notification" in window && Notification.permission === "default") {
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  }

  function formatBytes(count) {
    var fr = body.getAttribute("data-language") === "fr";
    var units = fr ? ["o", "Ko", "Mo", "Go"] : ["B", "KB", "MB", "GB"];
    var value = count, unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
    var number = unit === 0 ? String(count) : value.toFixed(1);
    return (fr ? number.replace(".", ",") : number) + " " + units[unit];
  }

  function notify(job) {
    var box = document.getElementById("notifications");
    if (!box) return;
    var ok = job.state === "succeeded";
    var old = box.querySelector('.notification[data-job-id="' + job.job_id + '"]');
    if (old) old.remove();
    var note = document.createElement("div");
    note.className = "notification " + (ok ? "ready" : "failed");
    note.setAttribute("data-job-id", String(job.job_id));
    note.setAttribute("role", "status");
    note.textContent = (ok ? text("ready") : text("failed")) + (job.file_name ? ": " + job.file_name : "") + " ";
    if (ok) {
      var link = document.createElement("a");
      link.className = "download";
      link.href = "/exports/jobs/" + job.job_id + "/download";
      link.textContent = "⬇ " + text("download");
      note.appendChild(link);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.textContent = "×";
    close.addEventListener("click", function () { note.remove(); });
    note.appendChild(close);
    box.appendChild(note);
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification(ok ? text("ready") : text("failed"), { body: job.file_name || job.export_type, tag: "job-" + job.job_id }); } catch (e) { }
    }
  }

  function updateRow(job) {
    var row = document.querySelector('tr[data-job-id="' + job.job_id + '"]');
    if (!row) return;
    row.setAttribute("data-state", job.state);
    var state = row.querySelector("td.state");
    if (state) state.textContent = text("state-" + job.state);
    if (job.state === "succeeded" || job.state === "failed") {
      var rows = row.querySelector("td.rows");
      if (rows) rows.textContent = String(job.rows);
      var size = row.querySelector("td.size");
      if (size && job.state === "succeeded") size.textContent = formatBytes(job.bytes);
    }
    var file = row.querySelector("td.file");
    if (file && job.state === "succeeded" && !file.querySelector("a.download")) {
      var link = document.createElement("a");
      link.className = "download";
      link.href = "/exports/jobs/" + job.job_id + "/download";
      link.title = text("download") + " " + (job.file_name || "");
      link.setAttribute("download", "");
      link.textContent = "⬇";
      file.appendChild(link);
    }
  }

  if (body.getAttribute("data-events") === "on" && "EventSource" in window) {
    // The stream replays what finished since the page was made, and the job just asked for.
    var query = "?since=" + encodeURIComponent(body.getAttribute("data-since") || "");
    var watched = body.getAttribute("data-watch-job");
    if (watched) query += "&job=" + encodeURIComponent(watched);
    var notified = {};
    var source = new EventSource("/events" + query);
    source.addEventListener("job", function (event) {
      var job;
      try { job = JSON.parse(event.data); } catch (e) { return; }
      updateRow(job);
      var key = job.job_id + ":" + job.state;
      if ((job.state === "succeeded" || job.state === "failed") && !notified[key]) {
        notified[key] = true;
        notify(job);
      }
    });
    source.addEventListener("progress", function (event) {
      var progress;
      try { progress = JSON.parse(event.data); } catch (e) { return; }
      var row = document.querySelector('tr[data-job-id="' + progress.job_id + '"]');
      if (!row) return;
      if (row.getAttribute("data-state") === "queued") {
        row.setAttribute("data-state", "running");
        var state = row.querySelector("td.state");
        if (state) state.textContent = text("state-running");
      }
      var rows = row.querySelector("td.rows");
      if (rows) rows.textContent = String(progress.rows);
    });
  }
})();
"""#

    static let styleSheet = #"""
:root { --ink: #1d2733; --muted: #5d6b7a; --line: #d9e0e7; --accent: #0b65c2; --ok: #127a3a; --bad: #b42318; --paper: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem 2rem; padding: 0.75rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
.tabs a { margin-right: 1rem; padding: 0.4rem 0; color: var(--muted); text-decoration: none; border-bottom: 3px solid transparent; }
.tabs a.active { color: var(--ink); border-color: var(--accent); font-weight: 600; }
.user { display: flex; align-items: center; gap: 0.5rem; margin-left: auto; color: var(--muted); }
.user form { display: inline; }
.languages a { color: var(--muted); }
.languages a.active { color: var(--ink); font-weight: 600; text-decoration: none; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h2 { font-size: 1.4rem; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; display: grid; gap: 0.35rem; max-width: 640px; }
label { font-weight: 600; margin-top: 0.5rem; }
input, select { font: inherit; padding: 0.4rem; border: 1px solid var(--line); border-radius: 4px; width: 100%; background: #fff; }
.dates { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.help { color: var(--muted); margin: 0; font-size: 0.9rem; }
button { font: inherit; padding: 0.45rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
.user button, td.actions button, #enable-notifications { background: #fff; color: var(--accent); padding: 0.2rem 0.6rem; }
#generate, #create-schedule, #login-submit { margin-top: 1rem; justify-self: start; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; background: #fbfcfd; }
td.rows, td.size { text-align: right; font-variant-numeric: tabular-nums; }
tr[data-state="succeeded"] td.state { color: var(--ok); }
tr[data-state="failed"] td.state { color: var(--bad); }
tr[data-state="running"] td.state, tr[data-state="queued"] td.state { color: var(--accent); }
a.download { color: var(--accent); font-size: 1.1rem; text-decoration: none; }
a.download .label { position: absolute; left: -9999px; }
td.actions form { display: inline; margin-right: 0.25rem; }
.pages { margin-top: 0.75rem; display: flex; gap: 1rem; }
.flash { background: #e8f3ff; border: 1px solid #b3d4f5; padding: 0.6rem 0.9rem; border-radius: 6px; }
.error { background: #fdecea; border: 1px solid #f5c2bd; color: var(--bad); padding: 0.6rem 0.9rem; border-radius: 6px; }
.note { color: var(--muted); }
.login { max-width: 360px; margin: 3rem auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem; }
.login form { display: grid; gap: 0.35rem; }
#notifications { position: fixed; right: 1rem; bottom: 1rem; display: grid; gap: 0.5rem; z-index: 10; max-width: 420px; }
.notification { background: #fff; border: 1px solid var(--line); border-left: 5px solid var(--ok); border-radius: 6px; padding: 0.75rem 2.2rem 0.75rem 0.9rem; box-shadow: 0 4px 14px rgba(0,0,0,0.12); position: relative; }
.notification.failed { border-left-color: var(--bad); }
.notification .close { position: absolute; top: 0.3rem; right: 0.3rem; background: none; border: none; color: var(--muted); padding: 0.1rem 0.4rem; }
.job-error { color: var(--bad); font-size: 0.85rem; }
[hidden] { display: none !important; }
"""#
}
