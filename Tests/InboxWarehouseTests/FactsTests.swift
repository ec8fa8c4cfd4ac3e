import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// The facts layer (schema `facts`) as the loader keeps it: whatever the order, the pieces and the
/// repetitions of a load, the kept facts equal a full rebuild from the loaded tables, and every
/// export's bytes are those of a clean load.
@Suite("Facts")
struct FactsTests {
    /// A generated log with re-deliveries (duplicates and superseded versions, out of order).
    static func generatedLines(seed: UInt64) throws -> [String] {
        let options = GeneratorOptions(conversations: 150, days: 6, start: GeneratorOptions.startDate(parsing: "2026-03-01")!,
                                       seed: seed, redeliveryFraction: 0.05)
        let (bytes, _) = try EventLogGenerator(options: options).generateBytes()
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Every row of every fact table, as text, in key order.
    static func factContents(_ connection: Connection) throws -> [String: [String]] {
        var contents: [String: [String]] = [:]
        for (table, key) in [("conversations", "conversation_id"), ("human_replies", "message_id"), ("lock_sessions", "lock_id"),
                             ("conversation_topics", "conversation_id, topic_id"), ("message_tags", "message_id, tag_id")] {
            let result = try connection.execute("select t::text from facts.\(table) t order by \(key)")
            contents[table] = (0..<result.rowCount).map { result.value($0, 0) ?? "" }
        }
        return contents
    }

    /// All twelve exports for T after the data (stored facts) and for T inside it (facts
    /// recomputed at T: ongoing locks, status and topics before their last change).
    static func exports(_ connection: Connection) throws -> [String: String] {
        var outputs: [String: String] = [:]
        let directory = try TestSupport.temporaryDirectory()
        for (name, asOf) in [("after", "2026-03-20T00:00:00Z"), ("inside", "2026-03-04T13:30:00Z")] {
            let parameters = ExportParameters(from: RangeBound("2026-03-02"), to: RangeBound("2026-03-05"),
                                              timeZone: "Europe/Paris", asOf: Instant(asOf))
            let folder = directory.appendingPathComponent(name).path
            _ = try Exporter(connection: connection, schemaVersion: 1).exportAll(parameters, directory: folder)
            for type in ExportType.all {
                outputs["\(name)/\(type.slug)"] = try String(contentsOfFile: "\(folder)/\(type.slug).csv", encoding: .utf8)
            }
        }
        return outputs
    }

    static func load(_ lines: [String], into connection: Connection, batchLines: Int) throws {
        let summary = try Loader(connection: connection, options: LoadOptions(batchLines: batchLines))
            .load([.file(try TestSupport.writeLog(lines))])
        #expect(summary.rejected == 0)
    }

    /// A deterministic shuffle (SplitMix64), so a failure can be replayed.
    static func shuffled(_ lines: [String], seed: UInt64) -> [String] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var result = lines
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(index, Int(next() % UInt64(index + 1)))
        }
        return result
    }

    @Test("shuffled, split and repeated loads keep exactly the facts of a full rebuild, and every export's bytes")
    func maintenanceMatchesRebuild() throws {
        let lines = try Self.generatedLines(seed: 21)

        // A clean load, in one batch.
        let (clean, _) = try TestSupport.freshDatabase()
        try Self.load(lines, into: clean, batchLines: 1_000_000)
        #expect(try Facts.differences(clean) == [])
        let tables = try TestSupport.tableContents(clean)
        let facts = try Self.factContents(clean)
        let exports = try Self.exports(clean)
        #expect((facts["conversations"]?.count ?? 0) > 100)
        #expect((facts["lock_sessions"]?.count ?? 0) > 50)
        #expect((facts["human_replies"]?.count ?? 0) > 100)
        #expect((facts["message_tags"]?.count ?? 0) > 10)
        // A full rebuild computes what the load kept.
        try clean.transaction { try Facts.rebuild(clean) }
        #expect(try Self.factContents(clean) == facts)

        // Shuffled lines in small batches (records arrive before what they refer to).
        let (shuffled, _) = try TestSupport.freshDatabase()
        try Self.load(Self.shuffled(lines, seed: 7), into: shuffled, batchLines: 97)
        #expect(try TestSupport.tableContents(shuffled) == tables)
        #expect(try Facts.differences(shuffled) == [])
        #expect(try Self.factContents(shuffled) == facts)
        #expect(try Self.exports(shuffled) == exports)

        // The log in four pieces, loaded one after the other, then all of it again.
        let (pieces, _) = try TestSupport.freshDatabase()
        let size = (lines.count + 3) / 4
        for start in stride(from: 0, to: lines.count, by: size) {
            try Self.load(Array(lines[start..<min(start + size, lines.count)]), into: pieces, batchLines: 301)
        }
        #expect(try Facts.differences(pieces) == [])
        #expect(try Self.factContents(pieces) == facts)
        try Self.load(lines, into: pieces, batchLines: 500)
        #expect(try TestSupport.tableContents(pieces) == tables)
        #expect(try Facts.differences(pieces) == [])
        #expect(try Self.factContents(pieces) == facts)
        #expect(try Self.exports(pieces) == exports)

        // Reversed, in batches of 1,000 lines.
        let (reversed, _) = try TestSupport.freshDatabase()
        try Self.load(lines.reversed(), into: reversed, batchLines: 1_000)
        #expect(try Self.factContents(reversed) == facts)
    }

    @Test("two loaders at once, on overlapping halves of the log, keep the facts of a clean load")
    func concurrentLoadersKeepFacts() throws {
        let lines = try Self.generatedLines(seed: 22)
        let (clean, _) = try TestSupport.freshDatabase()
        try Self.load(lines, into: clean, batchLines: 1_000_000)
        let facts = try Self.factContents(clean)

        let (target, targetURL) = try TestSupport.freshDatabase()
        let third = lines.count / 3
        let halves = [Array(lines[0..<(2 * third)]), Self.shuffled(Array(lines[third...]), seed: 3)]
        let paths = try halves.map { try TestSupport.writeLog($0) }
        let errors = ErrorList()
        let group = DispatchGroup()
        for path in paths {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let connection = try Connection(conninfo: targetURL)
                    defer { connection.close() }
                    _ = try Loader(connection: connection, options: LoadOptions(batchLines: 157)).load([.file(path)])
                } catch {
                    errors.append(String(describing: error))
                }
            }.start()
        }
        group.wait()
        #expect(errors.all == [])
        #expect(try Facts.differences(target) == [])
        #expect(try Self.factContents(target) == facts)
    }

    static let baseLog = [
        #"{"type":"channel","id":"ch-1","medium":"TWITTER","name":"Support"}"#,
        #"{"type":"conversation","id":"cv-a","channel_id":"ch-1","contact_id":"ct-1","created_at":"2026-03-02T09:00:00Z"}"#,
        #"{"type":"conversation","id":"cv-b","channel_id":"ch-1","contact_id":"ct-2","created_at":"2026-03-02T09:30:00Z"}"#,
        #"{"type":"agent","id":"ag-1","name":"Ann","kind":"HUMAN"}"#,
        #"{"type":"message","id":"m-in","conversation_id":"cv-a","created_at":"2026-03-02T09:00:00Z","direction":"INBOUND"}"#,
        #"{"type":"message","id":"m-out","conversation_id":"cv-a","created_at":"2026-03-02T09:10:00Z","direction":"OUTBOUND","agent_id":"ag-1","updated_at":"2026-03-02T09:10:00Z"}"#,
        #"{"type":"message","id":"m-late","conversation_id":"cv-b","created_at":"2026-03-02T09:40:00Z","direction":"OUTBOUND","agent_id":"ag-2"}"#,
        #"{"type":"topic","id":"tp-1","name":"Billing","updated_at":"2026-03-01T00:00:00Z"}"#,
        #"{"type":"topic_applied","id":"tpa-1","conversation_id":"cv-a","topic_id":"tp-1","at":"2026-03-02T09:05:00Z"}"#,
        #"{"type":"tag_applied","id":"ta-1","message_id":"m-in","tag_id":"tg-1","at":"2026-03-02T09:06:00Z","updated_at":"2026-03-02T09:06:00Z"}"#,
        #"{"type":"lock","id":"l-1","conversation_id":"cv-a","agent_id":"ag-1","started_at":"2026-03-02T09:05:00Z","ended_at":"2026-03-02T09:20:00Z","updated_at":"2026-03-02T09:20:00Z"}"#,
    ]

    static func scalar(_ connection: Connection, _ sql: String) throws -> String? {
        try connection.execute(sql).scalar
    }

    @Test("a record re-delivered elsewhere, an agent or a topic that arrives or changes later: the facts follow")
    func laterRecordsRefreshWhatTheyTouch() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try Self.load(Self.baseLog, into: connection, batchLines: 1_000)
        #expect(try Self.scalar(connection, "select outbound_message_count from facts.conversations where conversation_id = 'cv-a'") == "1")
        #expect(try Self.scalar(connection, "select first_response_seconds from facts.conversations where conversation_id = 'cv-a'") == "600.000000")
        #expect(try Self.scalar(connection, "select first_own_outbound_at = '2026-03-02T09:10:00Z' from facts.lock_sessions where lock_id = 'l-1'") == "t")
        // ag-2 is not loaded: m-late is no human reply yet.
        #expect(try Self.scalar(connection, "select count(*) from facts.human_replies where message_id = 'm-late'") == "0")
        #expect(try Self.scalar(connection, "select topic_names::text from facts.conversations where conversation_id = 'cv-a'") == "{Billing}")

        try Self.load([
            // m-out moves to cv-b (a later version): cv-a loses its reply, cv-b gains it.
            #"{"type":"message","id":"m-out","conversation_id":"cv-b","created_at":"2026-03-02T09:35:00Z","direction":"OUTBOUND","agent_id":"ag-1","updated_at":"2026-03-02T10:00:00Z"}"#,
            // ag-2 arrives: m-late becomes a human reply.
            #"{"type":"agent","id":"ag-2","name":"Bo","kind":"HUMAN"}"#,
            // the topic is renamed: the stored topic cells follow.
            #"{"type":"topic","id":"tp-1","name":"Invoices","updated_at":"2026-03-03T00:00:00Z"}"#,
            // the tag application moves to another message.
            #"{"type":"tag_applied","id":"ta-1","message_id":"m-late","tag_id":"tg-1","at":"2026-03-02T09:45:00Z","updated_at":"2026-03-02T10:00:00Z"}"#,
        ], into: connection, batchLines: 1_000)

        #expect(try Facts.differences(connection) == [])
        #expect(try Self.scalar(connection, "select outbound_message_count from facts.conversations where conversation_id = 'cv-a'") == "0")
        #expect(try Self.scalar(connection, "select first_response_message_id from facts.conversations where conversation_id = 'cv-a'") == nil)
        #expect(try Self.scalar(connection, "select first_own_outbound_at from facts.lock_sessions where lock_id = 'l-1'") == nil)
        #expect(try Self.scalar(connection, """
            select string_agg(message_id || ' after ' || coalesce(to_char(previous_reply_at at time zone 'UTC', 'HH24:MI'), '-'), ', ' order by created_at)
            from facts.human_replies where conversation_id = 'cv-b'
            """) == "m-out after -, m-late after 09:35")
        #expect(try Self.scalar(connection, "select topic_names::text from facts.conversations where conversation_id = 'cv-a'") == "{Invoices}")
        #expect(try Self.scalar(connection, "select string_agg(message_id, ',' order by message_id) from facts.message_tags") == "m-late")
    }

    /// Every duration of every export and of the refresh goes through facts.seconds_between. It
    /// must give exact seconds (microseconds included; infinities as numeric infinity, as the
    /// difference of two epochs does) and must be inlined: declared immutable over a body that is
    /// only stable (`extract(epoch from timestamptz)`), PostgreSQL ran it as a function call per
    /// row. EXPLAIN VERBOSE shows an inlined function as its body, a called one by its name.
    @Test("facts.seconds_between: exact seconds, infinities kept, and inlined into the queries that call it")
    func secondsBetweenIsExactAndInlined() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        #expect(try Self.scalar(connection, """
            select facts.seconds_between('2025-10-26 02:30:00+01', '2026-03-29 03:00:00.000001+02')::text
            """) == "13303800.000001")
        #expect(try Self.scalar(connection, """
            select facts.seconds_between('2026-03-29 03:00:00.000001+02', '2020-01-01 00:00:00+00')::text
            """) == "-196909200.000001")
        #expect(try Self.scalar(connection, "select facts.seconds_between('2026-01-01 00:00:00+00', 'infinity')::text") == "Infinity")
        #expect(try Self.scalar(connection, "select facts.seconds_between(null, now()) is null") == "t")
        let plan = try connection.execute("""
            explain (verbose, costs off)
            select facts.interval_seconds(v.a, v.b), facts.clipped_seconds(v.a, v.b, v.a, v.b)
            from (values (now(), now() + interval '1 hour')) as v(a, b)
            """).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(plan.contains("EXTRACT(epoch FROM"), "\(plan)")
        #expect(!plan.contains("seconds_between") && !plan.contains("interval_seconds") && !plan.contains("clipped_seconds"), "\(plan)")
    }

    @Test("db check-facts reports a kept row that differs; db rebuild-facts repairs it")
    func checkFactsCommand() throws {
        let (connection, url) = try TestSupport.freshDatabase()
        try Self.load(Self.baseLog, into: connection, batchLines: 1_000)
        let clean = try TestSupport.runCLI(["db", "check-facts", "--database-url", url])
        #expect(clean.status == 0)
        #expect(clean.standardOutput == "")

        try connection.execute("update facts.conversations set inbound_message_count = 7 where conversation_id = 'cv-a'")
        try connection.execute("delete from facts.lock_sessions where lock_id = 'l-1'")
        let differing = try TestSupport.runCLI(["db", "check-facts", "--database-url", url])
        #expect(differing.status == 1)
        #expect(differing.standardOutput == "facts.conversations cv-a: different\nfacts.lock_sessions l-1: missing\n")

        let rebuilt = try TestSupport.runCLI(["db", "rebuild-facts", "--database-url", url])
        #expect(rebuilt.status == 0, "\(rebuilt.standardError)")
        #expect(try Facts.differences(connection) == [])
        #expect(try Self.scalar(connection, "select inbound_message_count from facts.conversations where conversation_id = 'cv-a'") == "1")
    }
}

/// Errors collected from several threads.
private final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
