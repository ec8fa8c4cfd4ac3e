import Foundation
import PostgresLibPQ

/// The states of an export job. `queued` → `running` → `succeeded` | `failed`; a failed
/// scheduled job goes back to `running` when a later run-due retries it.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed
}

/// The parameters a job ran with, as stored in `export_jobs.parameters`: the export's
/// parameters (`ExportParameters`, its keys at the top level) and, for a scheduled job, the
/// schedule's frequency, destination and organisation.
public struct JobParameters: Sendable, Codable, Equatable {
    public var export: ExportParameters
    public var frequency: Frequency?
    public var destination: String?
    public var organization: String?

    enum CodingKeys: String, CodingKey {
        case frequency, destination, organization
    }

    public init(_ export: ExportParameters, frequency: Frequency? = nil, destination: String? = nil, organization: String? = nil) {
        self.export = export
        self.frequency = frequency
        self.destination = destination
        self.organization = organization
    }

    /// Tolerant of rows written by hand or by older versions: what is missing takes its default.
    public init(from decoder: Decoder) throws {
        export = try ExportParameters(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        frequency = try container.decodeIfPresent(Frequency.self, forKey: .frequency)
        destination = try container.decodeIfPresent(String.self, forKey: .destination)
        organization = try container.decodeIfPresent(String.self, forKey: .organization)
    }

    public func encode(to encoder: Encoder) throws {
        try export.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(frequency, forKey: .frequency)
        try container.encodeIfPresent(destination, forKey: .destination)
        try container.encodeIfPresent(organization, forKey: .organization)
    }

    /// The JSON stored in `export_jobs.parameters` (keys sorted).
    func encodedJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// One entry of a job's history.
public struct JobEvent: Sendable, Codable, Equatable {
    public let at: String
    public let event: String
    public let message: String?
}

/// One export job as stored in `warehouse.export_jobs`. Times are RFC 3339 in UTC.
public struct ExportJob: Sendable, Codable {
    public let jobID: Int64
    public let exportType: String
    public let scheduleID: Int64?
    public let scheduleName: String?
    public let periodStart: String?
    public let periodEnd: String?
    public let parameters: JobParameters
    public let state: JobState
    public let attempts: Int
    public let runner: String?
    public let requestedAt: String
    public let startedAt: String?
    public let finishedAt: String?
    public let filePath: String?
    public let rows: Int64?
    public let bytes: Int64?
    public let sha256: String?
    public let error: String?
    public let deliveryAttempts: Int
    public let webhookAttempts: Int
    public let webhookDeliveredAt: String?
    public let webhookError: String?
    public let events: [JobEvent]

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", exportType = "type", scheduleID = "schedule_id", scheduleName = "schedule",
             periodStart = "period_start", periodEnd = "period_end", parameters, state, attempts, runner,
             requestedAt = "requested_at", startedAt = "started_at", finishedAt = "finished_at",
             filePath = "file", rows, bytes, sha256, error, deliveryAttempts = "delivery_attempts",
             webhookAttempts = "webhook_attempts", webhookDeliveredAt = "webhook_delivered_at",
             webhookError = "webhook_error", events
    }
}

/// The PostgreSQL `NOTIFY` channel on which finished jobs are announced.
public let exportJobsChannel = "inbox_warehouse_export_jobs"

/// Reads and updates `warehouse.export_jobs`.
public struct JobStore {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// The job as one JSON object (the same shape as `ExportJob`), built by the server.
    static let jobJSON = """
        jsonb_build_object(
            'job_id', j.job_id, 'type', j.export_type, 'schedule_id', j.schedule_id, 'schedule', j.schedule_name,
            'period_start', to_char(j.period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'period_end', to_char(j.period_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'parameters', j.parameters, 'state', j.state, 'attempts', j.attempts, 'runner', j.runner,
            'requested_at', to_char(j.requested_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'started_at', to_char(j.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'finished_at', to_char(j.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'file', j.file_path, 'rows', j.rows, 'bytes', j.bytes, 'sha256', j.sha256, 'error', j.error,
            'delivery_attempts', j.delivery_attempts, 'webhook_attempts', j.webhook_attempts,
            'webhook_delivered_at', to_char(j.webhook_delivered_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'webhook_error', j.webhook_error, 'events', j.events)::text
        """

    /// The notification and webhook payload of a finished job: a small JSON object
    /// (docs/scheduling.md, "Notifications"). The error is cut to 1,000 characters so the
    /// payload stays far below NOTIFY's 8,000-byte limit.
    static let payloadJSON = """
        jsonb_build_object(
            'event', 'export_job.finished', 'job_id', j.job_id, 'state', j.state, 'type', j.export_type,
            'schedule_id', j.schedule_id, 'schedule', j.schedule_name,
            'period_start', to_char(j.period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'period_end', to_char(j.period_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'file', j.file_path, 'rows', j.rows, 'bytes', j.bytes, 'sha256', j.sha256, 'attempts', j.attempts,
            'error', left(j.error, 1000),
            'finished_at', to_char(j.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
        """

    /// One job, or nil.
    public func job(_ id: Int64) throws -> ExportJob? {
        let result = try connection.execute("select \(Self.jobJSON) from warehouse.export_jobs j where j.job_id = $1", binds: [id])
        guard let json = result.scalar else { return nil }
        return try JSONDecoder().decode(ExportJob.self, from: Data(json.utf8))
    }

    /// The most recent jobs first, optionally only one state or one schedule.
    public func list(limit: Int = 50, state: JobState? = nil, scheduleName: String? = nil) throws -> [ExportJob] {
        let result = try connection.execute("""
            select \(Self.jobJSON) from warehouse.export_jobs j
            where ($1::text is null or j.state = $1) and ($2::text is null or j.schedule_name = $2)
            order by j.job_id desc
            limit $3
            """, binds: [state?.rawValue, scheduleName, max(0, limit)])
        return try (0..<result.rowCount).map { try JSONDecoder().decode(ExportJob.self, from: Data((result.value($0, 0) ?? "{}").utf8)) }
    }

    /// Appends an entry to the job's history.
    func record(_ id: Int64, event: String, message: String? = nil) throws {
        try connection.execute("""
            update warehouse.export_jobs
            set events = events || jsonb_build_array(jsonb_build_object(
                'at', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'event', $2::text, 'message', $3::text))
            where job_id = $1
            """, binds: [id, event, message])
    }

    /// Marks the job finished and announces it with NOTIFY, in one transaction, so a listener
    /// that reads the job on the notification sees the final row. Returns the payload.
    func finish(_ id: Int64, succeeded: Bool, filePath: String?, manifest: ExportManifest?, error: String?) throws -> String {
        try connection.transaction {
            try connection.execute("""
                update warehouse.export_jobs
                set state = $2, finished_at = clock_timestamp(), file_path = $3, rows = $4::bigint, bytes = $5::bigint,
                    sha256 = $6, error = $7,
                    events = events || jsonb_build_array(jsonb_build_object(
                        'at', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                        'event', $2::text, 'message', $7::text))
                where job_id = $1
                """, binds: [id, succeeded ? JobState.succeeded.rawValue : JobState.failed.rawValue, filePath,
                             manifest?.rows, manifest?.bytes, manifest?.sha256, error])
            let payload = try connection.execute("select \(Self.payloadJSON) from warehouse.export_jobs j where j.job_id = $1", binds: [id]).scalar ?? "{}"
            try connection.execute("select pg_notify($1, $2)", binds: [exportJobsChannel, payload])
            return payload
        }
    }
}
