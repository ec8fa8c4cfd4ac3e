import Foundation
import HTTPTypes
import Hummingbird
import InboxWarehouse
import NIOCore
import NIOPosix
import PostgresLibPQ

/// One schedule as the Scheduled tab lists it.
struct ScheduleRow: Sendable {
    let scheduleID: Int64
    let name: String
    let exportType: String
    let frequency: String
    let timeZone: String
    let channelIDs: [String]
    let destination: String
    let delivery: String
    let isEnabled: Bool
    let nextRun: String?
    let lastRun: String?
    let lastState: String?
    let lastFiles: [(jobID: Int64, label: String)]
}

/// What the schedule form holds when shown again with an error.
struct ScheduleFormValues: Sendable {
    var name = ""
    var exportTypes: [String] = []
    var frequency = "daily"
    var timeZone: String?
    var channelIDs: [String] = []
    var delivery = "keep"
    var destination = ""
    var webhookURL = ""
}

extension WebServer {
    func scheduledPage(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        if let response = requireSession(state) { return response }
        let created = request.uri.queryParameters["created"] != nil
        return try await renderScheduled(state, flash: created, formError: nil, values: ScheduleFormValues(), status: .ok)
    }

    func renderScheduled(_ state: RequestState, flash: Bool, formError: String?, values: ScheduleFormValues,
                         status: HTTPResponse.Status) async throws -> Response {
        let (schedules, channels) = try await pool.with { connection in
            (try Self.scheduleRows(connection), try Self.channels(connection))
        }
        let zones = try await self.zones.get(pool)
        let body = Pages.scheduled(state: state, schedules: schedules, channels: channels, zones: zones, flash: flash,
                                   formError: formError, values: values)
        return Self.html(status, body)
    }

    static func scheduleRows(_ connection: Connection) throws -> [ScheduleRow] {
        let result = try connection.execute("""
            select s.schedule_id, s.name, s.export_type, s.frequency, s.time_zone, array_to_json(s.channel_ids)::text,
                   s.destination, coalesce(d.delivery, case when s.destination like 'sftp://%' then 'sftp' else 'keep' end),
                   s.is_enabled,
                   -- the end of the period now in progress (or of the first one, when it lies
                   -- ahead), with the bounds SchedulePeriods.due gives periods: a calendar period
                   -- ends where export.local_day_start puts the next one's first day, an hourly one
                   -- an elapsed hour after its local hour began
                   case when s.is_enabled then to_char(
                       case when s.frequency = 'hourly'
                            then date_trunc('hour', greatest(now(), s.starts_at) at time zone s.time_zone) at time zone s.time_zone
                                 + interval '1 hour'
                            else export.local_day_start(
                                     (date_trunc(case s.frequency when 'daily' then 'day' when 'weekly' then 'week' else 'month' end,
                                                 greatest(now(), s.starts_at) at time zone s.time_zone)
                                      + case s.frequency when 'daily' then interval '1 day' when 'weekly' then interval '7 days'
                                                         else interval '1 month' end)::date,
                                     s.time_zone)
                       end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') end,
                   to_char(last.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), last.state,
                   (select coalesce(json_agg(json_build_array(f.job_id,
                                to_char(f.period_start at time zone s.time_zone, 'YYYY-MM-DD HH24:MI')) order by f.period_start desc), '[]')::text
                    from (select j.job_id, j.period_start from warehouse.export_jobs j
                          where j.schedule_id = s.schedule_id and j.state = 'succeeded' and j.file_path like '/%'
                          order by j.period_start desc limit 3) f)
            from warehouse.export_schedules s
            left join web.schedule_deliveries d on d.schedule_id = s.schedule_id
            left join lateral (
                select j.finished_at, j.state from warehouse.export_jobs j
                where j.schedule_id = s.schedule_id and j.finished_at is not null
                order by j.finished_at desc limit 1) last on true
            order by s.name collate "C"
            """)
        return try (0..<result.rowCount).map { row in
            let files = try JSONSerialization.jsonObject(with: Data((result.value(row, 12) ?? "[]").utf8)) as? [[Any]] ?? []
            return ScheduleRow(
                scheduleID: Int64(result.value(row, 0) ?? "") ?? 0, name: result.value(row, 1) ?? "",
                exportType: result.value(row, 2) ?? "", frequency: result.value(row, 3) ?? "", timeZone: result.value(row, 4) ?? "UTC",
                channelIDs: try JSONDecoder().decode([String].self, from: Data((result.value(row, 5) ?? "[]").utf8)),
                destination: result.value(row, 6) ?? "", delivery: result.value(row, 7) ?? "keep", isEnabled: result.value(row, 8) == "t",
                nextRun: result.value(row, 9), lastRun: result.value(row, 10), lastState: result.value(row, 11),
                lastFiles: files.compactMap { pair in
                    guard pair.count == 2, let id = (pair[0] as? NSNumber)?.int64Value else { return nil }
                    return (id, pair[1] as? String ?? "")
                })
        }
    }

    /// Creates one schedule per chosen export type (all or none), named `NAME` for one type and
    /// `NAME-<type>` for several. Checks as `inbox-warehouse schedule add` does.
    func createSchedules(_ request: Request, _ context: WebContext) async throws -> Response {
        let checked = try await adminPost(request, context)
        guard case .passed(let state, let session, let form) = checked else { return checked.refusal! }
        var values = ScheduleFormValues()
        values.name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        values.exportTypes = form.all("export_type").filter { !$0.isEmpty }
        values.frequency = form["frequency"] ?? ""
        values.timeZone = form["time_zone"]
        values.channelIDs = form.all("channel").filter { !$0.isEmpty }
        values.delivery = form["delivery"] ?? "keep"
        values.destination = (form["destination"] ?? "").trimmingCharacters(in: .whitespaces)
        values.webhookURL = (form["webhook_url"] ?? "").trimmingCharacters(in: .whitespaces)
        func refuse(_ message: String) async throws -> Response {
            try await renderScheduled(state, flash: false, formError: message, values: values, status: .unprocessableContent)
        }
        let types = values.exportTypes.compactMap(ExportType.named)
        guard !values.exportTypes.isEmpty else { return try await refuse(state.language.t(.chooseType)) }
        guard types.count == values.exportTypes.count else { return try await refuse("unknown export type") }
        guard let frequency = Frequency(rawValue: values.frequency) else {
            return try await refuse("the frequency must be hourly, daily, weekly or monthly")
        }
        let destination: Destination
        var webhookURL: String?
        do {
            switch values.delivery {
            case "keep":
                destination = .directory(configuration.keepDirectory)
            case "sftp":
                guard values.destination.lowercased().hasPrefix("sftp://") else {
                    throw WarehouseError.invalidParameter("an SFTP delivery needs a destination sftp://user@host[:port]/path")
                }
                destination = try Destination(parsing: values.destination)
            case "webhook":
                _ = try WebhookSettings.make(url: values.webhookURL, secret: configuration.webhookSecret)
                destination = .directory(configuration.keepDirectory)
                webhookURL = values.webhookURL
            default:
                throw WarehouseError.invalidParameter("the delivery must be keep, sftp or webhook")
            }
        } catch let error as WarehouseError {
            return try await refuse(error.description)
        }
        let (name, delivery, zone, channels, creator) = (values.name, values.delivery, values.timeZone ?? "UTC", values.channelIDs, session.user.name)
        let webhook = webhookURL
        let retention = configuration.runner.retentionMonths
        let outcome: WarehouseError? = try await pool.with { connection in
            do {
                try connection.transaction {
                    for type in types {
                        var definition = ScheduleDefinition(name: types.count == 1 ? name : "\(name)-\(type.slug)", type: type,
                                                            frequency: frequency, destination: destination)
                        definition.parameters = ExportParameters(timeZone: zone, channelIDs: channels)
                        definition.retentionMonths = retention
                        let schedule = try ScheduleStore(connection: connection).add(definition)
                        try connection.execute("""
                            insert into web.schedule_deliveries (schedule_id, delivery, webhook_url, created_by) values ($1, $2, $3, $4)
                            """, binds: [schedule.scheduleID, delivery, webhook, creator])
                    }
                }
                return nil
            } catch let error as WarehouseError {
                return error
            }
        }
        if let outcome { return try await refuse(outcome.description) }
        log("serve: \(types.count) schedule(s) \(name) created by \(creator)")
        return Self.redirect("/exports/scheduled?created=1")
    }

    /// Pause, resume or delete a schedule (administrators).
    func changeSchedule(_ request: Request, _ context: WebContext) async throws -> Response {
        let checked = try await adminPost(request, context)
        guard case .passed(let state, let session, _) = checked else { return checked.refusal! }
        let idText = context.parameters.get("id") ?? ""
        let action = context.parameters.get("action") ?? ""
        guard idText.range(of: "^[1-9][0-9]{0,18}$", options: .regularExpression) != nil, let scheduleID = Int64(idText),
              ["pause", "resume", "delete"].contains(action) else {
            return errorPage(.notFound, .notFound, state)
        }
        let changed = try await pool.with { connection -> Bool in
            if action == "delete" {
                return try connection.execute("delete from warehouse.export_schedules where schedule_id = $1", binds: [scheduleID]).affectedRows == 1
            }
            return try connection.execute("update warehouse.export_schedules set is_enabled = $2 where schedule_id = $1",
                                          binds: [scheduleID, action == "resume"]).affectedRows == 1
        }
        guard changed else { return errorPage(.notFound, .notFound, state) }
        log("serve: schedule \(scheduleID) \(action)d by \(session.user.name)")
        return Self.redirect("/exports/scheduled")
    }
}

/// Posts the finished-job payload of a schedule whose delivery is `webhook` (created on the
/// page) to its URL, signed with `INBOX_WAREHOUSE_WEBHOOK_SECRET` like the runner's webhook.
enum ScheduleWebhooks {
    static func deliver(payload: String, secret: String?, pool: DatabasePool, log: @escaping @Sendable (String) -> Void) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              let scheduleID = (object["schedule_id"] as? NSNumber)?.int64Value,
              let jobID = (object["job_id"] as? NSNumber)?.int64Value,
              let state = object["state"] as? String,
              let secret, !secret.isEmpty else { return }
        let attempts = (object["attempts"] as? NSNumber)?.intValue ?? 1
        Task {
            let url = try? await pool.with { connection -> String? in
                try connection.execute("select webhook_url from web.schedule_deliveries where schedule_id = $1 and delivery = 'webhook'",
                                       binds: [scheduleID]).scalar
            }
            guard let url = url ?? nil, let settings = try? WebhookSettings.make(url: url, secret: secret) else { return }
            // Blocking, with retries and backoff: on a thread of its own.
            Thread {
                let outcome = WebhookSender(settings: settings).send(Data(payload.utf8), deliveryID: "web-job-\(jobID)-run-\(attempts)-\(state)") { _, _ in }
                if !outcome.delivered { log("serve: webhook of schedule \(scheduleID), job \(jobID) failed: \(outcome.failures.last ?? "")") }
            }.start()
        }
    }
}
