import Foundation
import InboxWarehouse

/// The pages, as HTML strings. Every value from data or a request is escaped; there is no
/// inline script or style (the Content-Security-Policy forbids them): behaviour is in
/// /assets/app.js, looks in /assets/app.css.
enum Pages {
    /// The frame of every page: language switch, tabs, the user and the logout form.
    static func layout(title: String, language: Language, state: RequestState?, tab: String?, content: String,
                       watchJob: Int64? = nil) -> String {
        let t = language.t
        let back = HTML.escape(state?.path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=?#+"))) ?? "/")
        var header = ""
        if let session = state?.session {
            header += """
                <nav class="tabs">
                <a id="tab-on-demand" href="/exports/on-demand"\(tab == "on-demand" ? " class=\"active\" aria-current=\"page\"" : "")>\(HTML.escape(t(.onDemand)))</a>
                <a id="tab-scheduled" href="/exports/scheduled"\(tab == "scheduled" ? " class=\"active\" aria-current=\"page\"" : "")>\(HTML.escape(t(.scheduled)))</a>
                </nav>
                <div class="user"><span id="current-user" data-role="\(session.user.role.rawValue)">\(HTML.escape(session.user.name)) (\(session.user.role.rawValue))</span>
                <form id="logout-form" method="post" action="/logout">\(HTML.csrfField(session.csrfToken))<button id="logout" type="submit">\(HTML.escape(t(.logout)))</button></form></div>
                """
        }
        let i18n = [
            ("ready", t(.ready)), ("failed", t(.failedNotice)), ("state-queued", t(.queued)), ("state-running", t(.running)),
            ("state-succeeded", t(.succeeded)), ("state-failed", t(.failed)), ("download", t(.download)), ("rows-written", t(.rowsWritten)),
        ].map { " data-text-\($0.0)=\"\(HTML.escape($0.1))\"" }.joined()
        return """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · \(HTML.escape(t(.appName)))</title>
            <link rel="stylesheet" href="/assets/app.css">
            <script src="/assets/app.js" defer></script>
            </head>
            <body data-events="\(state?.session == nil ? "off" : "on")" data-language="\(language.rawValue)"\
            \(state.map { " data-since=\"\(HTML.escape($0.renderedAt))\"" } ?? "")\(watchJob.map { " data-watch-job=\"\($0)\"" } ?? "")\(i18n)>
            <header>
            <h1>\(HTML.escape(t(.appName)))</h1>
            \(header)
            <div class="languages"><a id="lang-en" href="/language?lang=en&amp;back=\(back)" lang="en"\(language == .en ? " class=\"active\"" : "")>English</a> · <a id="lang-fr" href="/language?lang=fr&amp;back=\(back)" lang="fr"\(language == .fr ? " class=\"active\"" : "")>Français</a></div>
            </header>
            <div id="notifications" aria-live="polite"></div>
            <main>
            \(content)
            </main>
            </body>
            </html>
            """
    }

    static func login(language: Language, state: RequestState, csrfToken: String, error: Text?, username: String) -> String {
        let t = language.t
        let errorHTML = error.map { "<p id=\"login-error\" class=\"error\" role=\"alert\">\(HTML.escape(t($0)))</p>" } ?? ""
        let content = """
            <section class="login">
            <h2>\(HTML.escape(t(.login)))</h2>
            \(errorHTML)
            <form id="login-form" method="post" action="/login">
            \(HTML.csrfField(csrfToken))
            <label for="username">\(HTML.escape(t(.username)))</label>
            <input id="username" name="username" type="text" autocomplete="username" required value="\(HTML.escape(username))">
            <label for="password">\(HTML.escape(t(.password)))</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button id="login-submit" type="submit">\(HTML.escape(t(.login)))</button>
            </form>
            </section>
            """
        return layout(title: t(.login), language: language, state: state, tab: nil, content: content)
    }

    static func typeOptions(_ selected: [String], language: Language) -> String {
        ExportType.all.sorted { $0.position < $1.position }.map { type in
            let label = "\(type.title): \(Text.describe(type.slug, language))"
            return HTML.option(type.slug, label, selected: selected.contains(type.slug))
        }.joined(separator: "\n")
    }

    static func zoneOptions(_ zones: [String], selected: String?) -> String {
        zones.map { HTML.option($0, $0, selected: $0 == (selected ?? "UTC")) }.joined(separator: "\n")
    }

    static func channelOptions(_ channels: [ChannelOption], selected: [String]) -> String {
        channels.map { HTML.option($0.channelID, $0.label, selected: selected.contains($0.channelID)) }.joined(separator: "\n")
    }

    // MARK: On-demand

    static func onDemand(state: RequestState, jobs: [JobRow], page: Int, hasNext: Bool, channels: [ChannelOption], zones: [String],
                         flash: Bool, formError: String?, values: ExportFormValues, watchJob: Int64? = nil) -> String {
        let language = state.language
        let t = language.t
        let session = state.session!
        var content = "<h2>\(HTML.escape(t(.exports))) · \(HTML.escape(t(.onDemand)))</h2>\n"
        if flash { content += "<p id=\"flash\" class=\"flash\" role=\"status\">\(HTML.escape(t(.flash)))</p>\n" }
        if session.user.role == .admin {
            let today = Date()
            let calendar = Calendar(identifier: .gregorian)
            let earliest = calendar.date(byAdding: .month, value: -18, to: today) ?? today
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            let (minimum, maximum) = (formatter.string(from: earliest), formatter.string(from: today))
            let interfaceLanguage = values.language ?? language
            content += """
                <form id="export-form" method="post" action="/exports/on-demand" class="panel">
                \(HTML.csrfField(session.csrfToken))
                \(formError.map { "<p id=\"form-error\" class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? "")
                <label for="export-type">\(HTML.escape(t(.exportType)))</label>
                <select id="export-type" name="export_type" required>
                \(typeOptions([values.exportType], language: language))
                </select>
                <label for="time-zone">\(HTML.escape(t(.timeZone)))</label>
                <select id="time-zone" name="time_zone"\(values.timeZone == nil ? "" : " data-chosen=\"true\"")>
                \(zoneOptions(zones, selected: values.timeZone))
                </select>
                <div class="dates">
                <div><label for="date-from">\(HTML.escape(t(.dateFrom)))</label>
                <input id="date-from" name="from" type="date" min="\(minimum)" max="\(maximum)" value="\(HTML.escape(values.from))"></div>
                <div><label for="date-to">\(HTML.escape(t(.dateTo)))</label>
                <input id="date-to" name="to" type="date" min="\(minimum)" max="\(maximum)" value="\(HTML.escape(values.to))"></div>
                </div>
                <p class="help">\(HTML.escape(t(.dateHelp)))</p>
                <label for="channels">\(HTML.escape(t(.channels)))</label>
                <select id="channels" name="channel" multiple size="\(min(max(channels.count, 2), 8))">
                \(channelOptions(channels, selected: values.channelIDs))
                </select>
                <label for="language">\(HTML.escape(t(.headerLanguage)))</label>
                <select id="language" name="language">
                \(HTML.option("en", "English", selected: interfaceLanguage == .en))
                \(HTML.option("fr", "Français", selected: interfaceLanguage == .fr))
                </select>
                <button id="generate" type="submit">\(HTML.escape(t(.generate)))</button>
                </form>
                """
        } else {
            content += "<p id=\"viewer-note\" class=\"note\">\(HTML.escape(t(.viewerNote)))</p>\n"
        }
        content += "<p><button id=\"enable-notifications\" type=\"button\" hidden>\(HTML.escape(t(.notificationsButton)))</button></p>\n"
        content += "<h3>\(HTML.escape(t(.pastExports)))</h3>\n"
        content += jobTable(jobs, language: language)
        content += "<nav class=\"pages\">"
        if page > 1 { content += "<a id=\"prev-page\" href=\"/exports/on-demand?page=\(page - 1)\">← \(HTML.escape(t(.previous)))</a> " }
        content += "<span class=\"page\">\(HTML.escape(t(.page))) \(page)</span>"
        if hasNext { content += " <a id=\"next-page\" href=\"/exports/on-demand?page=\(page + 1)\">\(HTML.escape(t(.next))) →</a>" }
        content += "</nav>\n"
        return layout(title: t(.onDemand), language: language, state: state, tab: "on-demand", content: content, watchJob: watchJob)
    }

    static func jobTable(_ jobs: [JobRow], language: Language) -> String {
        let t = language.t
        let headers: [Text] = [.colType, .colRange, .colZone, .colChannels, .colRequestedBy, .colRequestedAt, .colState, .colRows, .colSize, .colFile]
        var html = "<table id=\"jobs\">\n<thead><tr>" + headers.map { "<th>\(HTML.escape(t($0)))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        if jobs.isEmpty {
            html += "<tr class=\"empty\"><td colspan=\"10\">\(HTML.escape(t(.noJobs)))</td></tr>\n"
        }
        for job in jobs {
            let title = ExportType.named(job.exportType)?.title ?? job.exportType
            let range = job.from == nil && job.to == nil ? "" : "\(job.from ?? "…") → \(job.to ?? "…")"
            let channels = job.channelIDs.isEmpty ? t(.allChannels) : job.channelIDs.joined(separator: ", ")
            var file = ""
            if job.isDownloadable {
                file = "<a class=\"download\" href=\"/exports/jobs/\(job.jobID)/download\" title=\"\(HTML.escape(t(.download))) \(HTML.escape(job.fileName ?? ""))\" download>⬇<span class=\"label\"> \(HTML.escape(t(.download)))</span></a>"
            } else if job.state == "failed", let error = job.error {
                file = "<span class=\"job-error\" title=\"\(HTML.escape(error))\">\(HTML.escape(String(error.prefix(80))))</span>"
            }
            html += """
                <tr data-job-id="\(job.jobID)" data-state="\(HTML.escape(job.state))">\
                <td class="type">\(HTML.escape(title))</td>\
                <td class="range">\(HTML.escape(range))</td>\
                <td class="zone">\(HTML.escape(job.timeZone))</td>\
                <td class="channels">\(HTML.escape(channels))</td>\
                <td class="requested-by">\(HTML.escape(job.requestedBy ?? "CLI"))</td>\
                <td class="requested-at">\(HTML.escape(Display.time(job.requestedAt)))</td>\
                <td class="state">\(HTML.escape(t(Text.state(job.state))))</td>\
                <td class="rows">\(job.rows.map(String.init) ?? "")</td>\
                <td class="size">\(HTML.escape(Display.bytes(job.bytes, language: language)))</td>\
                <td class="file">\(file)</td></tr>

                """
        }
        return html + "</tbody>\n</table>\n"
    }

    // MARK: Scheduled

    static func scheduled(state: RequestState, schedules: [ScheduleRow], channels: [ChannelOption], zones: [String], flash: Bool,
                          formError: String?, values: ScheduleFormValues) -> String {
        let language = state.language
        let t = language.t
        let session = state.session!
        var content = "<h2>\(HTML.escape(t(.exports))) · \(HTML.escape(t(.scheduled)))</h2>\n"
        if flash { content += "<p id=\"flash\" class=\"flash\" role=\"status\">\(HTML.escape(t(.scheduleCreated)))</p>\n" }
        let frequencies: [(String, Text)] = [("hourly", .hourly), ("daily", .daily), ("weekly", .weekly), ("monthly", .monthly)]
        if session.user.role == .admin {
            content += """
                <form id="schedule-form" method="post" action="/exports/scheduled" class="panel">
                \(HTML.csrfField(session.csrfToken))
                \(formError.map { "<p id=\"form-error\" class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? "")
                <label for="schedule-name">\(HTML.escape(t(.scheduleName)))</label>
                <input id="schedule-name" name="name" type="text" required maxlength="150" value="\(HTML.escape(values.name))">
                <label for="schedule-types">\(HTML.escape(t(.scheduleTypes)))</label>
                <select id="schedule-types" name="export_type" multiple size="6" required>
                \(typeOptions(values.exportTypes, language: language))
                </select>
                <label for="frequency">\(HTML.escape(t(.frequency)))</label>
                <select id="frequency" name="frequency">
                \(frequencies.map { HTML.option($0.0, t($0.1), selected: values.frequency == $0.0) }.joined(separator: "\n"))
                </select>
                <label for="schedule-time-zone">\(HTML.escape(t(.timeZone)))</label>
                <select id="schedule-time-zone" name="time_zone"\(values.timeZone == nil ? "" : " data-chosen=\"true\"")>
                \(zoneOptions(zones, selected: values.timeZone))
                </select>
                <label for="schedule-channels">\(HTML.escape(t(.channels)))</label>
                <select id="schedule-channels" name="channel" multiple size="\(min(max(channels.count, 2), 8))">
                \(channelOptions(channels, selected: values.channelIDs))
                </select>
                <label for="delivery">\(HTML.escape(t(.delivery)))</label>
                <select id="delivery" name="delivery">
                \(HTML.option("keep", t(.keep), selected: values.delivery == "keep"))
                \(HTML.option("sftp", t(.sftp), selected: values.delivery == "sftp"))
                \(HTML.option("webhook", t(.webhook), selected: values.delivery == "webhook"))
                </select>
                <div class="delivery-sftp"><label for="destination">\(HTML.escape(t(.destination)))</label>
                <input id="destination" name="destination" type="text" placeholder="sftp://user@host/path" value="\(HTML.escape(values.destination))"></div>
                <div class="delivery-webhook"><label for="webhook-url">\(HTML.escape(t(.webhookURL)))</label>
                <input id="webhook-url" name="webhook_url" type="url" placeholder="https://" value="\(HTML.escape(values.webhookURL))"></div>
                <button id="create-schedule" type="submit">\(HTML.escape(t(.createSchedule)))</button>
                </form>
                """
        } else {
            content += "<p id=\"viewer-note\" class=\"note\">\(HTML.escape(t(.viewerNote)))</p>\n"
        }
        content += "<h3>\(HTML.escape(t(.schedules)))</h3>\n"
        let headers: [Text] = [.scheduleName, .colType, .frequency, .colZone, .colChannels, .delivery, .nextRun, .lastRun, .lastFiles]
        content += "<table id=\"schedules\">\n<thead><tr>" + headers.map { "<th>\(HTML.escape(t($0)))</th>" }.joined() + "<th></th></tr></thead>\n<tbody>\n"
        if schedules.isEmpty { content += "<tr class=\"empty\"><td colspan=\"10\">\(HTML.escape(t(.noSchedules)))</td></tr>\n" }
        for schedule in schedules {
            let frequency = frequencies.first { $0.0 == schedule.frequency }.map { t($0.1) } ?? schedule.frequency
            let delivery: String
            switch schedule.delivery {
            case "sftp": delivery = schedule.destination
            case "webhook": delivery = t(.webhook)
            default: delivery = t(.keep)
            }
            let files = schedule.lastFiles.map {
                "<a class=\"download\" href=\"/exports/jobs/\($0.jobID)/download\" data-job-id=\"\($0.jobID)\" download>⬇ \(HTML.escape($0.label))</a>"
            }.joined(separator: "<br>")
            let lastRun = schedule.lastRun.map { "\(Display.time($0)) (\(t(Text.state(schedule.lastState ?? ""))))" } ?? t(.never)
            var actions = ""
            if session.user.role == .admin {
                let csrf = HTML.csrfField(session.csrfToken)
                actions = schedule.isEnabled
                    ? "<form class=\"pause\" method=\"post\" action=\"/exports/scheduled/\(schedule.scheduleID)/pause\">\(csrf)<button type=\"submit\">\(HTML.escape(t(.pause)))</button></form>"
                    : "<form class=\"resume\" method=\"post\" action=\"/exports/scheduled/\(schedule.scheduleID)/resume\">\(csrf)<button type=\"submit\">\(HTML.escape(t(.resume)))</button></form>"
                actions += "<form class=\"delete\" method=\"post\" action=\"/exports/scheduled/\(schedule.scheduleID)/delete\">\(csrf)<button type=\"submit\">\(HTML.escape(t(.delete)))</button></form>"
            }
            content += """
                <tr data-schedule-id="\(schedule.scheduleID)" data-enabled="\(schedule.isEnabled)">\
                <td class="name">\(HTML.escape(schedule.name))</td>\
                <td class="type">\(HTML.escape(ExportType.named(schedule.exportType)?.title ?? schedule.exportType))</td>\
                <td class="frequency">\(HTML.escape(frequency))</td>\
                <td class="zone">\(HTML.escape(schedule.timeZone))</td>\
                <td class="channels">\(HTML.escape(schedule.channelIDs.isEmpty ? t(.allChannels) : schedule.channelIDs.joined(separator: ", ")))</td>\
                <td class="delivery">\(HTML.escape(delivery))</td>\
                <td class="next-run">\(HTML.escape(schedule.isEnabled ? Display.time(schedule.nextRun) : t(.paused)))</td>\
                <td class="last-run">\(HTML.escape(lastRun))</td>\
                <td class="files">\(files)</td>\
                <td class="actions">\(actions)</td></tr>

                """
        }
        content += "</tbody>\n</table>\n"
        return layout(title: t(.scheduled), language: language, state: state, tab: "scheduled", content: content)
    }
}
