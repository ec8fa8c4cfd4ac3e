import Foundation
import PostgresLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// Settings of a runner (`schedule run-due`, `scheduler`, and on-demand jobs).
public struct RunnerOptions: Sendable {
    /// The organisation name at the start of every delivered file name
    /// (`INBOX_WAREHOUSE_ORGANIZATION`); characters other than letters, digits, `.`, `_` and `-`
    /// become `-`.
    public var organization = "inbox"
    /// A failed scheduled job is run again by later run-dues until it has run this many times.
    public var maxAttempts = 3
    /// Periods starting before as-of minus this many months are not exported (the exporter
    /// would refuse them), as in `export --retention-months`.
    public var retentionMonths = 18
    public var sftp = SFTPSettings()
    /// SFTP tries per job run (transient failures only: unreachable host, transfer error).
    public var deliveryAttempts = 3
    /// The wait before the first delivery retry; doubled before each next one.
    public var deliveryInitialDelaySeconds = 2.0
    public var webhook: WebhookSettings?
    /// Who runs the jobs, recorded on each (`host:pid`).
    public var runnerName = "\(ProcessInfo.processInfo.hostName):\(getpid())"

    public init() {}

    /// Organisation, SFTP and webhook settings from the environment (docs/scheduling.md).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RunnerOptions {
        var options = RunnerOptions()
        if let organization = environment["INBOX_WAREHOUSE_ORGANIZATION"], !organization.isEmpty { options.organization = organization }
        options.sftp = SFTPSettings.fromEnvironment(environment)
        options.webhook = try WebhookSettings.fromEnvironment(environment)
        return options
    }

    var organizationLabel: String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let label = String(organization.map { allowed.contains($0) ? $0 : "-" }.prefix(100))
        return label.isEmpty || label.hasPrefix(".") ? "org" + label : label
    }
}

/// What happened to one job in a run.
public struct JobOutcome: Sendable {
    public let jobID: Int64
    public let scheduleName: String?
    public let exportType: String
    public let period: SchedulePeriod?
    public let state: JobState
    public let filePath: String?
    public let rows: Int?
    public let error: String?
}

/// What one `run-due` did.
public struct RunDueReport: Sendable {
    /// The run time every due period was computed against (RFC 3339).
    public var runAt = ""
    /// Jobs this runner ran, in order.
    public var outcomes: [JobOutcome] = []
    /// Due periods it left alone because another runner was running them (or had just finished).
    public var skipped = 0
    public var succeeded: Int { outcomes.filter { $0.state == .succeeded }.count }
    public var failed: Int { outcomes.filter { $0.state == .failed }.count }
}

/// Runs export jobs: the due periods of every schedule (exactly once per schedule and period,
/// however many runners race) and on-demand exports, recording each in `warehouse.export_jobs`,
/// announcing it with NOTIFY and, when configured, a signed webhook.
public final class JobRunner {
    private let connection: Connection
    private let schemaVersion: Int
    public let options: RunnerOptions
    private let log: (String) -> Void
    private var store: JobStore { JobStore(connection: connection) }

    public init(connection: Connection, schemaVersion: Int, options: RunnerOptions = RunnerOptions(),
                log: @escaping (String) -> Void = { _ in }) {
        self.connection = connection
        self.schemaVersion = schemaVersion
        self.options = options
        self.log = log
    }

    // MARK: Scheduled jobs

    /// Exports every complete period of every enabled schedule that is due at `now` (RFC 3339;
    /// nil is the server's clock) and not yet exported, oldest first, then returns.
    /// `shouldStop` is asked between jobs (the scheduler's SIGTERM).
    public func runDue(now: String? = nil, shouldStop: () -> Bool = { false }) throws -> RunDueReport {
        var report = RunDueReport()
        if let now {
            guard let instant = UTCInstant.parse(now) else {
                throw WarehouseError.invalidParameter("--now \"\(RecordValidator.truncated(now))\" is not an RFC 3339 timestamp with an offset")
            }
            report.runAt = try connection.execute("select to_char($1::timestamptz at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                                                  [instant.postgresLiteral]).scalar ?? now
        } else {
            report.runAt = try connection.execute("select to_char(now() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").scalar ?? ""
        }
        for schedule in try ScheduleStore(connection: connection).list() where schedule.isEnabled {
            let periods = try SchedulePeriods.due(schedule, runAt: report.runAt, maxAttempts: options.maxAttempts,
                                                  retentionMonths: options.retentionMonths, connection: connection)
            for period in periods {
                if shouldStop() { return report }
                let jobID = try claimRow(schedule, period, runAt: report.runAt)
                if let outcome = try runScheduled(jobID, schedule, period, runAt: report.runAt) {
                    report.outcomes.append(outcome)
                } else {
                    report.skipped += 1
                }
            }
        }
        return report
    }

    /// The job row of (schedule, period): inserted as `queued`, or the one already there.
    private func claimRow(_ schedule: Schedule, _ period: SchedulePeriod, runAt: String) throws -> Int64 {
        var request = try scheduledRequest(schedule, period, runAt: runAt)
        request.asOf = runAt
        let parameters = try encodedParameters(JobParameters(request, frequency: schedule.frequency, destination: schedule.destination,
                                                             organization: options.organizationLabel))
        let inserted = try connection.execute("""
            insert into warehouse.export_jobs (export_type, schedule_id, schedule_name, period_start, period_end, parameters)
            values ($1, $2::bigint, $3, $4::timestamptz, $5::timestamptz, $6::jsonb)
            on conflict (schedule_id, period_start) do nothing
            returning job_id
            """, [schedule.exportType, String(schedule.scheduleID), schedule.name, period.start, period.end, parameters])
        if let id = inserted.scalar.flatMap(Int64.init) { return id }
        let existing = try connection.execute("""
            select job_id from warehouse.export_jobs where schedule_id = $1::bigint and period_start = $2::timestamptz
            """, [String(schedule.scheduleID), period.start])
        guard let id = existing.scalar.flatMap(Int64.init) else {
            throw WarehouseError.schema("the job of schedule \(schedule.name) for \(period.start) vanished")
        }
        return id
    }

    /// Runs a scheduled job if this runner can take it: holds its advisory lock, then re-reads
    /// its state (a racing runner may have finished it meanwhile). Nil when skipped.
    private func runScheduled(_ jobID: Int64, _ schedule: Schedule, _ period: SchedulePeriod, runAt: String) throws -> JobOutcome? {
        guard try tryLock(jobID) else { return nil }
        defer { _ = try? unlock(jobID) }
        let current = try connection.execute("select state, attempts from warehouse.export_jobs where job_id = $1", [String(jobID)])
        guard let stateText = current.value(0, 0), let state = JobState(rawValue: stateText) else { return nil }
        let attempts = Int(current.value(0, 1) ?? "0") ?? 0
        if state == .succeeded || (state == .failed && attempts >= options.maxAttempts) { return nil }
        // queued, failed with attempts left, or running with no lock held (its runner died).
        try connection.execute("""
            update warehouse.export_jobs
            set state = 'running', attempts = attempts + 1, started_at = clock_timestamp(), finished_at = null,
                runner = $2, error = null, parameters = jsonb_set(parameters, '{as_of}', to_jsonb($3::text))
            where job_id = $1
            """, [String(jobID), options.runnerName, runAt])
        try store.record(jobID, event: "running", message: "attempt \(attempts + 1) by \(options.runnerName)")
        log("job \(jobID): \(schedule.name) \(period.startLabel) .. \(period.endLabel) running")

        var filePath: String?
        var manifest: ExportManifest?
        var failure: String?
        do {
            let request = try scheduledRequest(schedule, period, runAt: runAt)
            (filePath, manifest) = try produce(jobID, schedule, period, request)
        } catch {
            failure = describe(error)
        }
        let payload = try store.finish(jobID, succeeded: failure == nil, filePath: filePath, manifest: manifest, error: failure)
        if let failure {
            log("job \(jobID): failed: \(failure)")
        } else {
            log("job \(jobID): \(manifest?.rows ?? 0) rows -> \(filePath ?? "")")
        }
        announce(jobID, run: attempts + 1, state: failure == nil ? .succeeded : .failed, payload: payload)
        return JobOutcome(jobID: jobID, scheduleName: schedule.name, exportType: schedule.exportType, period: period,
                          state: failure == nil ? .succeeded : .failed, filePath: filePath, rows: manifest?.rows, error: failure)
    }

    private func scheduledRequest(_ schedule: Schedule, _ period: SchedulePeriod, runAt: String) throws -> ExportRequest {
        guard let type = ExportType.named(schedule.exportType) else {
            throw WarehouseError.invalidParameter("unknown export type \"\(schedule.exportType)\"")
        }
        var request = ExportRequest(type: type)
        request.from = RangeBound(period.start)
        request.to = RangeBound(period.end)
        request.timeZone = schedule.timeZone
        request.channelIDs = schedule.channelIDs
        request.asOf = runAt
        // Scheduled exports never carry message content, whatever the policy (spec, "Content policy").
        request.isScheduled = true
        request.contentPolicy = .none
        request.retentionMonths = options.retentionMonths
        return request
    }

    /// Writes the export and delivers it: straight into a local destination, or staged locally
    /// and uploaded over SFTP (retrying transient failures with backoff).
    private func produce(_ jobID: Int64, _ schedule: Schedule, _ period: SchedulePeriod,
                         _ request: ExportRequest) throws -> (String, ExportManifest) {
        let slug = request.type.slug
        let fileName = "\(options.organizationLabel)_\(slug)_\(period.startLabel)_\(period.endLabel)_job\(jobID).csv"
        let exporter = Exporter(connection: connection, schemaVersion: schemaVersion)
        switch try Destination(parsing: schedule.destination) {
        case .directory(let directory):
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(slug, isDirectory: true)
            try makeDirectory(atPath: folder.path, what: "the destination folder")
            let path = folder.appendingPathComponent(fileName).path
            try connection.execute("update warehouse.export_jobs set delivery_attempts = delivery_attempts + 1 where job_id = $1", [String(jobID)])
            guard let manifest = try exporter.export(request, to: path) else { throw WarehouseError.io("no manifest for \(path)") }
            return (path, manifest)
        case .sftp(let location):
            // Staged in a directory only this user may enter, removed whatever happens.
            let staging = try PrivateTemporaryDirectory(prefix: "inbox-warehouse-job-\(jobID)")
            defer { staging.remove() }
            let path = staging.appendingPathComponent(fileName).path
            guard let manifest = try exporter.export(request, to: path) else { throw WarehouseError.io("no manifest for \(path)") }
            let uploader = SFTPUploader(settings: options.sftp)
            var delay = options.deliveryInitialDelaySeconds
            let tries = max(1, options.deliveryAttempts)
            for attempt in 1...tries {
                try connection.execute("update warehouse.export_jobs set delivery_attempts = delivery_attempts + 1 where job_id = $1", [String(jobID)])
                do {
                    try uploader.upload([(path, fileName), (path + ".manifest.json", fileName + ".manifest.json")],
                                        to: location, subdirectory: slug)
                    var base = location.description
                    while base.hasSuffix("/") { base.removeLast() }
                    return ("\(base)/\(slug)/\(fileName)", manifest)
                } catch let error as SFTPError {
                    try store.record(jobID, event: "delivery_failed", message: "attempt \(attempt): \(error)")
                    log("job \(jobID): delivery attempt \(attempt) failed: \(error)")
                    if attempt == tries || !error.kind.isTransient { throw error }
                    Thread.sleep(forTimeInterval: delay)
                    delay *= 2
                }
            }
            throw WarehouseError.io("sftp delivery failed")
        }
    }

    // MARK: On-demand jobs

    /// Runs an on-demand export as a job: recorded, written to `path` (`-` for standard output)
    /// and announced like a scheduled one. Rethrows the export's error after recording it.
    @discardableResult
    public func runOnDemand(_ request: ExportRequest, to path: String) throws -> ExportJob {
        try runOnDemandWithManifest(request, to: path).job
    }

    /// Like `runOnDemand`, also returning the written file's manifest (nil for standard output).
    public func runOnDemandWithManifest(_ request: ExportRequest, to path: String) throws -> (job: ExportJob, manifest: ExportManifest?) {
        let parameters = try encodedParameters(JobParameters(request))
        let inserted = try connection.execute("""
            insert into warehouse.export_jobs (export_type, parameters, state, attempts, started_at, runner)
            values ($1, $2::jsonb, 'running', 1, clock_timestamp(), $3)
            returning job_id
            """, [request.type.slug, parameters, options.runnerName])
        guard let jobID = inserted.scalar.flatMap(Int64.init) else { throw WarehouseError.schema("could not record the export job") }
        var manifest: ExportManifest?
        var failure: Error?
        do {
            manifest = try Exporter(connection: connection, schemaVersion: schemaVersion).export(request, to: path)
        } catch {
            failure = error
        }
        // A file's path; nothing for an output written in place (standard output, a device).
        let filePath = manifest == nil ? nil : URL(fileURLWithPath: path).standardizedFileURL.path
        let payload = try store.finish(jobID, succeeded: failure == nil, filePath: failure == nil ? filePath : nil,
                                       manifest: manifest, error: failure.map(describe))
        announce(jobID, run: 1, state: failure == nil ? .succeeded : .failed, payload: payload)
        if let failure { throw failure }
        guard let job = try store.job(jobID) else { throw WarehouseError.schema("job \(jobID) vanished") }
        return (job, manifest)
    }

    // MARK: Notification

    /// The webhook delivery id of one finished run of a job: `job-<id>-run-<n>-<state>`. Each
    /// distinct event (a job's run ending in a state) has its own id; the retries of one event's
    /// POST keep it, with `X-Inbox-Warehouse-Attempt` counting up.
    static func deliveryID(jobID: Int64, run: Int, state: JobState) -> String {
        "job-\(jobID)-run-\(run)-\(state.rawValue)"
    }

    /// Posts the payload to the webhook, if any, and records how that went on the job. A webhook
    /// failure never changes the job's state.
    private func announce(_ jobID: Int64, run: Int, state: JobState, payload: String) {
        guard let webhook = options.webhook else { return }
        let store = self.store
        let deliveryID = Self.deliveryID(jobID: jobID, run: run, state: state)
        let outcome = WebhookSender(settings: webhook).send(Data(payload.utf8), deliveryID: deliveryID) { attempt, reason in
            try? store.record(jobID, event: "webhook_failed", message: "attempt \(attempt): \(reason)")
        }
        _ = try? connection.execute("""
            update warehouse.export_jobs
            set webhook_attempts = webhook_attempts + $2::int,
                webhook_delivered_at = case when $3::boolean then clock_timestamp() else webhook_delivered_at end,
                webhook_error = case when $3::boolean then null else $4::text end
            where job_id = $1
            """, [String(jobID), String(outcome.attempts), outcome.delivered ? "true" : "false", outcome.failures.last])
        if !outcome.delivered {
            log("job \(jobID): webhook failed after \(outcome.attempts) tries: \(outcome.failures.last ?? "")")
        }
    }

    // MARK: Helpers

    /// Session advisory lock on the job: held while a runner works on it, released when it is
    /// done or when the runner's session ends (so a crashed runner's job can be taken over).
    private func tryLock(_ jobID: Int64) throws -> Bool {
        try connection.execute("select pg_try_advisory_lock(hashtext('inbox-warehouse:export-job'), ($1::bigint % 2147483647)::int)",
                               [String(jobID)]).scalar == "t"
    }

    private func unlock(_ jobID: Int64) throws {
        try connection.execute("select pg_advisory_unlock(hashtext('inbox-warehouse:export-job'), ($1::bigint % 2147483647)::int)",
                               [String(jobID)])
    }

    private func encodedParameters(_ parameters: JobParameters) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(parameters), as: UTF8.self)
    }

    private func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return "PostgreSQL: \(error)" }
        return String(describing: error)
    }
}
