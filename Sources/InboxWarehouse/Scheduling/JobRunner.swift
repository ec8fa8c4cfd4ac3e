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
    /// Hears (job id, data rows written so far) about once a second while a job writes its
    /// file (the web page shows it as the job's progress). Nil: rows are not counted.
    public var onProgress: (@Sendable (_ jobID: Int64, _ rows: Int) -> Void)?

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
    /// What the schedule's import did before the export (nil without `--import`, or when it failed).
    public var imported: ScheduledImport? = nil
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
    /// The sources imported by the current `runDue` (one import per source and run).
    private var imports = ScheduledImports()

    public init(connection: Connection, schemaVersion: Int, options: RunnerOptions = RunnerOptions(),
                log: @escaping (String) -> Void = { _ in }) {
        self.connection = connection
        self.schemaVersion = schemaVersion
        self.options = options
        self.log = log
    }

    // MARK: Scheduled jobs

    /// Exports every complete period of every enabled schedule that is due at `now` (nil is the
    /// server's clock) and not yet exported, oldest first, then returns. `shouldStop` is asked
    /// between jobs (the scheduler's SIGTERM).
    public func runDue(now: Instant? = nil, shouldStop: () -> Bool = { false }) throws -> RunDueReport {
        var report = RunDueReport()
        imports = ScheduledImports()
        report.runAt = try connection.execute("""
            select to_char(coalesce($1, now()) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            """, binds: [now]).scalar ?? ""
        guard let runAt = Instant(report.runAt) else { throw WarehouseError.schema("the server's clock gave \(report.runAt)") }
        for schedule in try ScheduleStore(connection: connection).list() where schedule.isEnabled {
            let periods = try SchedulePeriods.due(schedule, runAt: runAt, maxAttempts: options.maxAttempts,
                                                  retentionMonths: options.retentionMonths, connection: connection)
            for period in periods {
                if shouldStop() { return report }
                let jobID = try claimRow(schedule, period, runAt: runAt)
                if let outcome = try runScheduled(jobID, schedule, period, runAt: runAt) {
                    report.outcomes.append(outcome)
                } else {
                    report.skipped += 1
                }
            }
        }
        return report
    }

    /// The job row of (schedule, period): inserted as `queued`, or the one already there.
    private func claimRow(_ schedule: Schedule, _ period: SchedulePeriod, runAt: Instant) throws -> Int64 {
        let parameters = try JobParameters(schedule.parameters(for: period, asOf: runAt), frequency: schedule.frequency,
                                           destination: schedule.destination, organization: options.organizationLabel).encodedJSON()
        let inserted = try connection.execute("""
            insert into warehouse.export_jobs (export_type, schedule_id, schedule_name, period_start, period_end, parameters)
            values ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb)
            on conflict (schedule_id, period_start) do nothing
            returning job_id
            """, binds: [schedule.exportType, schedule.scheduleID, schedule.name, period.start, period.end, parameters])
        if let id = inserted.scalar.flatMap(Int64.init) { return id }
        let existing = try connection.execute("""
            select job_id from warehouse.export_jobs where schedule_id = $1 and period_start = $2::timestamptz
            """, binds: [schedule.scheduleID, period.start])
        guard let id = existing.scalar.flatMap(Int64.init) else {
            throw WarehouseError.schema("the job of schedule \(schedule.name) for \(period.start) vanished")
        }
        return id
    }

    /// Runs a scheduled job if this runner can take it: holds its advisory lock, then re-reads
    /// its state (a racing runner may have finished it meanwhile). Nil when skipped.
    private func runScheduled(_ jobID: Int64, _ schedule: Schedule, _ period: SchedulePeriod, runAt: Instant) throws -> JobOutcome? {
        guard try tryLock(jobID) else { return nil }
        defer { _ = try? unlock(jobID) }
        let current = try connection.execute("select state, attempts from warehouse.export_jobs where job_id = $1", binds: [jobID])
        guard let stateText = current.value(0, 0), let state = JobState(rawValue: stateText) else { return nil }
        let attempts = Int(current.value(0, 1) ?? "0") ?? 0
        if state == .succeeded || (state == .failed && attempts >= options.maxAttempts) { return nil }
        // queued, failed with attempts left, or running with no lock held (its runner died).
        try connection.execute("""
            update warehouse.export_jobs
            set state = 'running', attempts = attempts + 1, started_at = clock_timestamp(), finished_at = null,
                runner = $2, error = null, parameters = jsonb_set(parameters, '{as_of}', to_jsonb($3))
            where job_id = $1
            """, binds: [jobID, options.runnerName, runAt.postgresLiteral])
        try store.record(jobID, event: "running", message: "attempt \(attempts + 1) by \(options.runnerName)")
        log("job \(jobID): \(schedule.name) \(period.startLabel) .. \(period.endLabel) running")

        var filePath: String?
        var manifest: ExportManifest?
        var failure: String?
        var imported: ScheduledImport?
        do {
            // A schedule with an import source refreshes it first; if that fails, nothing is exported.
            if let reference = schedule.importSource {
                let done = try imports.refresh(reference, connection: connection)
                imported = done
                try store.record(jobID, event: "imported", message: done.message)
                log("job \(jobID): imported \(done.message)")
            }
            (filePath, manifest) = try produce(jobID, schedule, period, schedule.parameters(for: period, asOf: runAt))
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
                          state: failure == nil ? .succeeded : .failed, filePath: filePath, rows: manifest?.rows, error: failure,
                          imported: imported)
    }

    /// The exporter of this runner: its retention window, the default span; it reports the
    /// job's rows to `options.onProgress`, if any.
    private func exporter(reportingFor jobID: Int64) -> Exporter {
        let exporter = Exporter(connection: connection, schemaVersion: schemaVersion,
                                limits: ExportLimits(maximumSpanMonths: ExportLimits.standard.maximumSpanMonths, retentionMonths: options.retentionMonths))
        if let onProgress = options.onProgress {
            exporter.progress = { rows in onProgress(jobID, rows) }
        }
        return exporter
    }

    /// Writes the export and delivers it: straight into a local destination, or staged locally
    /// and uploaded over SFTP (retrying transient failures with backoff).
    private func produce(_ jobID: Int64, _ schedule: Schedule, _ period: SchedulePeriod,
                         _ parameters: ExportParameters) throws -> (String, ExportManifest) {
        guard let type = ExportType.named(schedule.exportType) else {
            throw WarehouseError.invalidParameter("unknown export type \"\(messageText(schedule.exportType))\"")
        }
        let slug = type.slug
        let fileName = jobFileName(slug, from: period.startLabel, to: period.endLabel, jobID: jobID)
        let exporter = self.exporter(reportingFor: jobID)
        switch try Destination(parsing: schedule.destination) {
        case .directory(let directory):
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(slug, isDirectory: true)
            try makeDirectory(atPath: folder.path, what: "the destination folder")
            let path = folder.appendingPathComponent(fileName).path
            try connection.execute("update warehouse.export_jobs set delivery_attempts = delivery_attempts + 1 where job_id = $1", binds: [jobID])
            guard let manifest = try exporter.export(type, parameters, to: path) else { throw WarehouseError.io("no manifest for \(path)") }
            return (path, manifest)
        case .sftp(let location):
            // Staged in a directory only this user may enter, removed whatever happens.
            let staging = try PrivateTemporaryDirectory(prefix: "inbox-warehouse-job-\(jobID)")
            defer { staging.remove() }
            let path = staging.appendingPathComponent(fileName).path
            guard let manifest = try exporter.export(type, parameters, to: path) else { throw WarehouseError.io("no manifest for \(path)") }
            let uploader = SFTPUploader(settings: options.sftp)
            var delay = options.deliveryInitialDelaySeconds
            let tries = max(1, options.deliveryAttempts)
            for attempt in 1...tries {
                try connection.execute("update warehouse.export_jobs set delivery_attempts = delivery_attempts + 1 where job_id = $1", binds: [jobID])
                do {
                    try uploader.upload([(path, fileName), (path + OutputTarget.manifestSuffix, fileName + OutputTarget.manifestSuffix)],
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

    // MARK: On-demand exports

    /// Runs an on-demand export (one file, or several into a directory from one snapshot). Each
    /// file is recorded as a job and announced like a scheduled one when the session's role may
    /// write `warehouse.export_jobs`; when it may not (the read-only reader), the export still
    /// runs and the runner says so through `log`. Rethrows the export's error after recording it.
    @discardableResult
    public func run(_ request: ExportRequest) throws -> OnDemandRun {
        let mayRecord = try connection.execute("""
            select has_table_privilege('warehouse.export_jobs', 'insert')
               and has_table_privilege('warehouse.export_jobs', 'update')
            """).scalar == "t"
        guard mayRecord else {
            let role = try connection.execute("select current_user").scalar ?? "this role"
            log("not recorded as a job: \(role) may not write warehouse.export_jobs")
            return OnDemandRun(manifests: try export(request) { _ in }, jobIDs: [])
        }
        let parameters = try JobParameters(request.parameters).encodedJSON()
        var jobIDs: [Int64] = []
        for type in request.types {
            let inserted = try connection.execute("""
                insert into warehouse.export_jobs (export_type, parameters, state, attempts, started_at, runner)
                values ($1, $2::jsonb, 'running', 1, clock_timestamp(), $3)
                returning job_id
                """, binds: [type.slug, parameters, options.runnerName])
            guard let jobID = inserted.scalar.flatMap(Int64.init) else { throw WarehouseError.schema("could not record the export job") }
            jobIDs.append(jobID)
        }
        var written: [String: ExportManifest] = [:]
        var failure: Error?
        do {
            _ = try export(request) { written[$0.type] = $0 }
        } catch {
            failure = error
        }
        // The files in place succeeded; the first one missing is the one that failed; those
        // after it were never started (one snapshot: --all stops at the first failure).
        let failedType = failure == nil ? nil : request.types.first { written[$0.slug] == nil }
        for (type, jobID) in zip(request.types, jobIDs) {
            let manifest = written[type.slug]
            let succeeded = failure == nil || manifest != nil
            var error: String?
            if !succeeded, let failure, let failedType {
                error = type == failedType ? describe(failure) : "not written: the export of \(failedType.slug) failed before it"
            }
            let payload = try store.finish(jobID, succeeded: succeeded, filePath: manifest.map { _ in request.path(of: type) },
                                           manifest: manifest, error: error)
            announce(jobID, run: 1, state: succeeded ? .succeeded : .failed, payload: payload)
        }
        if let failure { throw failure }
        return OnDemandRun(manifests: request.types.compactMap { written[$0.slug] }, jobIDs: jobIDs)
    }

    // MARK: Queued on-demand jobs (the web page)

    /// Records an on-demand export as a `queued` job, for a runner's `runQueued` (the web page's
    /// "Generate export"), and returns its id. The caller has checked the parameters
    /// (`ExportParameters.resolved(on:)`); the runner checks them again when it runs the job.
    public static func enqueue(_ type: ExportType, _ parameters: ExportParameters, requestedBy: String?,
                               on connection: Connection) throws -> Int64 {
        let inserted = try connection.execute("""
            insert into warehouse.export_jobs (export_type, parameters, state, requested_by)
            values ($1, $2::jsonb, 'queued', $3)
            returning job_id
            """, binds: [type.slug, try JobParameters(parameters).encodedJSON(), requestedBy])
        guard let jobID = inserted.scalar.flatMap(Int64.init) else { throw WarehouseError.schema("could not record the export job") }
        return jobID
    }

    /// The on-demand jobs waiting as `queued`, oldest first.
    public static func queuedOnDemandJobs(on connection: Connection) throws -> [Int64] {
        let result = try connection.execute("""
            select job_id from warehouse.export_jobs
            where state = 'queued' and schedule_id is null and schedule_name is null
            order by job_id
            """)
        return (0..<result.rowCount).compactMap { result.value($0, 0).flatMap(Int64.init) }
    }

    /// Runs an on-demand job that waits as `queued`: claims it (so one runner only runs it),
    /// writes its file into `directory` as `<organisation>_<slug>_<from>_<to>_job<id>.csv` with
    /// its manifest beside it, then records and announces it like any job. Nil when the job is
    /// not (or no longer) a queued on-demand job.
    @discardableResult
    public func runQueued(_ jobID: Int64, into directory: String) throws -> JobOutcome? {
        let claimed = try connection.execute("""
            update warehouse.export_jobs
            set state = 'running', attempts = attempts + 1, started_at = clock_timestamp(), runner = $2
            where job_id = $1 and state = 'queued' and schedule_id is null and schedule_name is null
            returning export_type, parameters::text
            """, binds: [jobID, options.runnerName])
        guard claimed.rowCount == 1, let slug = claimed.value(0, 0) else { return nil }
        try store.record(jobID, event: "running", message: "by \(options.runnerName)")
        var filePath: String?
        var manifest: ExportManifest?
        var failure: String?
        do {
            let parameters = try JSONDecoder().decode(JobParameters.self, from: Data((claimed.value(0, 1) ?? "{}").utf8)).export
            guard let type = ExportType.named(slug) else {
                throw WarehouseError.invalidParameter("unknown export type \"\(messageText(slug))\"")
            }
            func label(_ bound: RangeBound?) -> String {
                switch bound {
                case .instant(let instant)?: return String(instant.postgresLiteral.prefix(10))
                case let bound?: return bound.description
                case nil: return "open"
                }
            }
            try makeDirectory(atPath: directory, what: "the exports folder")
            let name = jobFileName(slug, from: label(parameters.from), to: label(parameters.to), jobID: jobID)
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).standardizedFileURL.path
            guard let written = try exporter(reportingFor: jobID).export(type, parameters, to: path) else {
                throw WarehouseError.io("no manifest for \(path)")
            }
            (filePath, manifest) = (path, written)
        } catch {
            failure = describe(error)
        }
        let payload = try store.finish(jobID, succeeded: failure == nil, filePath: filePath, manifest: manifest, error: failure)
        log(failure.map { "job \(jobID): failed: \($0)" } ?? "job \(jobID): \(manifest?.rows ?? 0) rows -> \(filePath ?? "")")
        announce(jobID, run: 1, state: failure == nil ? .succeeded : .failed, payload: payload)
        return JobOutcome(jobID: jobID, scheduleName: nil, exportType: slug, period: nil, state: failure == nil ? .succeeded : .failed,
                          filePath: filePath, rows: manifest?.rows, error: failure)
    }

    /// A job's file name, scheduled or queued: `<organisation>_<slug>_<from>_<to>_job<id>.csv`.
    private func jobFileName(_ slug: String, from: String, to: String, jobID: Int64) -> String {
        "\(options.organizationLabel)_\(slug)_\(from)_\(to)_job\(jobID).csv"
    }

    /// Writes the request's files; `onFile` hears each manifest as its file is in place.
    private func export(_ request: ExportRequest, onFile: (ExportManifest) -> Void) throws -> [ExportManifest] {
        let exporter = Exporter(connection: connection, schemaVersion: schemaVersion, limits: request.limits)
        switch request.output {
        case .file(let path):
            guard let type = request.types.first, request.types.count == 1 else {
                throw WarehouseError.invalidParameter("one export type writes one file; several need a directory")
            }
            let manifest = try exporter.export(type, request.parameters, to: path)
            manifest.map(onFile)
            return manifest.map { [$0] } ?? []
        case .directory(let directory):
            return try exporter.exportAll(request.parameters, types: request.types, directory: directory, onFile: onFile)
        }
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
            """, binds: [jobID, outcome.attempts, outcome.delivered, outcome.failures.last])
        if !outcome.delivered {
            log("job \(jobID): webhook failed after \(outcome.attempts) tries: \(outcome.failures.last ?? "")")
        }
    }

    // MARK: Helpers

    /// Session advisory lock on the job: held while a runner works on it, released when it is
    /// done or when the runner's session ends (so a crashed runner's job can be taken over).
    private func tryLock(_ jobID: Int64) throws -> Bool {
        try connection.execute("select pg_try_advisory_lock(hashtext('inbox-warehouse:export-job'), ($1 % 2147483647)::int)",
                               binds: [jobID]).scalar == "t"
    }

    private func unlock(_ jobID: Int64) throws {
        try connection.execute("select pg_advisory_unlock(hashtext('inbox-warehouse:export-job'), ($1 % 2147483647)::int)",
                               binds: [jobID])
    }

    private func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return "PostgreSQL: \(error)" }
        return String(describing: error)
    }
}
