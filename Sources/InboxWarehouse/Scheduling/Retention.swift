import Foundation
import PostgresLibPQ

/// Removes data older than the retention window, by record time, table by table, in one
/// transaction. Dimensions (channels, agents, teams, contacts and their attributes, topics, tags)
/// are kept; so are the load ledger and the export jobs.
public struct Retention {
    /// One table's rule: rows matching `predicate` (SQL over the table's alias `t`, `$1` being
    /// the cutoff) are older than the window.
    struct Rule {
        let table: String
        let recordTime: String
        let predicate: String
    }

    /// The record time of each table. Intervals (locks, presences) are removed once they ended
    /// before the cutoff; an ongoing one is kept. A conversation goes when it was created before
    /// the cutoff and nothing of it is left inside the window. Rows are deleted in this order.
    static let rules: [Rule] = [
        Rule(table: "inbox.messages", recordTime: "created_at", predicate: "t.created_at < $1"),
        Rule(table: "inbox.status_changes", recordTime: "changed_at", predicate: "t.changed_at < $1"),
        Rule(table: "inbox.queue_entries", recordTime: "queued_at", predicate: "t.queued_at < $1"),
        Rule(table: "inbox.locks", recordTime: "ended_at", predicate: "t.ended_at < $1"),
        Rule(table: "inbox.presences", recordTime: "ended_at", predicate: "t.ended_at < $1"),
        Rule(table: "inbox.topic_applications", recordTime: "applied_at", predicate: "t.applied_at < $1"),
        Rule(table: "inbox.tag_applications", recordTime: "applied_at", predicate: "t.applied_at < $1"),
        Rule(table: "inbox.csat_surveys", recordTime: "sent_at", predicate: "t.sent_at < $1"),
        Rule(table: "inbox.conversations", recordTime: "created_at, and nothing of it in the window", predicate: """
            t.created_at < $1
            and not exists (select 1 from inbox.messages m where m.conversation_id = t.conversation_id and m.created_at >= $1)
            and not exists (select 1 from inbox.status_changes s where s.conversation_id = t.conversation_id and s.changed_at >= $1)
            and not exists (select 1 from inbox.queue_entries q where q.conversation_id = t.conversation_id and q.queued_at >= $1)
            and not exists (select 1 from inbox.locks l where l.conversation_id = t.conversation_id and (l.ended_at is null or l.ended_at >= $1))
            and not exists (select 1 from inbox.topic_applications a where a.conversation_id = t.conversation_id and a.applied_at >= $1)
            and not exists (select 1 from inbox.csat_surveys c where c.conversation_id = t.conversation_id and c.sent_at >= $1)
            """),
        Rule(table: "warehouse.load_rejects", recordTime: "the load's started_at", predicate: """
            exists (select 1 from warehouse.loads l where l.load_id = t.load_id and l.started_at < $1)
            """),
    ]

    public struct TableReport: Sendable, Codable {
        public let table: String
        public let recordTime: String
        public let rows: Int

        enum CodingKeys: String, CodingKey { case table, recordTime = "record_time", rows }
    }

    public struct Report: Sendable, Codable {
        /// Rows with a record time before this instant (RFC 3339, UTC) were older than the window.
        public let cutoff: String
        public let months: Int
        public let dryRun: Bool
        public let tables: [TableReport]
        public var total: Int { tables.reduce(0) { $0 + $1.rows } }

        enum CodingKeys: String, CodingKey { case cutoff, months, dryRun = "dry_run", tables }
    }

    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Removes (or with `dryRun` only counts) every row older than `months` months before `now`
    /// (nil is the server's clock). The window is counted in UTC calendar months.
    public func apply(months: Int = 18, dryRun: Bool = false, now: Instant? = nil) throws -> Report {
        guard months >= 1 else { throw WarehouseError.invalidParameter("the retention window must be at least one month") }
        let cutoff = try connection.execute("""
            select to_char((coalesce($1, now()) at time zone 'UTC') - make_interval(months => $2::int), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            """, binds: [now, months]).scalar ?? ""
        guard let cutoffInstant = Instant(cutoff) else { throw WarehouseError.schema("the server gave the cutoff \(cutoff)") }
        let tables: [TableReport] = try connection.transaction(dryRun ? "isolation level repeatable read, read only" : "") {
            // Counts in dry-run mode are exact: the predicates never depend on what an earlier
            // rule deleted (a conversation's test looks only at rows inside the window).
            try Self.rules.map { rule in
                let rows: Int
                if dryRun {
                    rows = Int(try connection.execute("select count(*) from \(rule.table) t where \(rule.predicate)", binds: [cutoffInstant]).scalar ?? "0") ?? 0
                } else {
                    rows = try connection.execute("delete from \(rule.table) t where \(rule.predicate)", binds: [cutoffInstant]).affectedRows
                }
                return TableReport(table: rule.table, recordTime: rule.recordTime, rows: rows)
            }
        }
        return Report(cutoff: cutoff, months: months, dryRun: dryRun, tables: tables)
    }
}
