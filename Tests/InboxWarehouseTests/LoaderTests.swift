import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

@Suite("Loader")
struct LoaderTests {
    @Test("every record kind lands in the right columns")
    func everyKindLoads() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let path = TestSupport.fixture("loader/all-kinds.ndjson").path
        let summary = try Loader(connection: connection).load([.file(path)])
        #expect(summary.rejected == 0)
        #expect(summary.loaded == 16)
        #expect(summary.loadedByKind.count == 16)

        func row(_ sql: String) throws -> [String?] {
            let result = try connection.execute(sql)
            try #require(result.rowCount == 1, "\(sql) returned \(result.rowCount) rows")
            return (0..<result.columnCount).map { result.value(0, $0) }
        }
        try connection.execute("set timezone = 'UTC'")
        #expect(try row("select channel_id, medium, name, display_name, updated_at, extra from inbox.channels")
                == ["ch-1", "WHATSAPP", "+33123456789", "Support, WhatsApp", "2026-03-01 08:00:00+00", "{\"region\": \"eu\"}"])
        #expect(try row("select agent_id, name, kind, email, reference, updated_at from inbox.agents")
                == ["ag-1", "Alice Martin", "HUMAN", "alice@example.com", "EMP-001", nil])
        #expect(try row("select team_id, name, created_at from inbox.teams") == ["tm-1", "Tier 1", "2025-01-10 08:00:00+00"])
        #expect(try row("select contact_id, medium, created_at, primary_identifier, secondary_identifier from inbox.contacts")
                == ["ct-1", "WHATSAPP", "2026-03-01 08:00:00+00", "+33600000001", "Jean \"JJ\""])
        #expect(try row("select contact_id, attribute_id, name, attribute_type, value, source from inbox.contact_attributes")
                == ["ct-1", "at-1", "Plan", "LIST", "Gold", "CRM"])
        #expect(try row("select topic_id, name, is_active from inbox.topics") == ["tp-1", "Billing", "f"])
        #expect(try row("select tag_id, name, is_active from inbox.tags") == ["tg-1", "Urgent", "t"])
        #expect(try row("select conversation_id, channel_id, contact_id, created_at, url, language, sentiment from inbox.conversations")
                == ["cv-1", "ch-1", "ct-1", "2026-03-01 08:00:00+00", "https://inbox.example/cv-1", "fr", "POSITIVE"])
        // +01:00 offset and fractional seconds are converted to UTC microseconds.
        #expect(try row("""
            select message_id, conversation_id, created_at, direction, message_type, origin, outbound_type, agent_id, team_id,
                   system_user_type, content, post_url, sentiment, deleted_at
            from inbox.messages
            """) == ["m-1", "cv-1", "2026-03-01 08:00:00.25+00", "OUTBOUND", "DIRECT_MESSAGE", "AGENT", "REPLY", "ag-1", "tm-1",
                     "AUTOMATION", "Bonjour,\nmerci\t\\o/", "https://x.example/p/1", "NEUTRAL", "2026-03-02 09:00:00+00"])
        #expect(try row("""
            select status_change_id, conversation_id, changed_at, status, agent_id, team_id, resolved_by, resolve_trigger,
                   resolution_reason, resolution_comment
            from inbox.status_changes
            """) == ["s-1", "cv-1", "2026-03-01 09:10:00+00", "RESOLVED", "ag-1", "tm-1", "AGENT", "HUMAN_AGENT", "Answered", "ok"])
        #expect(try row("select queue_entry_id, conversation_id, queued_at, started_by, handover_reason, inbound_message_id from inbox.queue_entries")
                == ["q-1", "cv-1", "2026-03-01 09:00:00+00", "VA_HANDED_OVER_CONVERSATION", "ERROR", "m-0"])
        #expect(try row("select lock_id, conversation_id, agent_id, started_at, ended_at, team_id from inbox.locks")
                == ["l-1", "cv-1", "ag-1", "2026-03-01 09:04:00+00", nil, "tm-1"])
        #expect(try row("select topic_application_id, conversation_id, topic_id, applied_at, agent_id, team_id, removed_at from inbox.topic_applications")
                == ["ta-1", "cv-1", "tp-1", "2026-03-01 09:06:00+00", "ag-1", "tm-1", "2026-03-01 09:07:00+00"])
        #expect(try row("select tag_application_id, message_id, tag_id, applied_at, agent_id, team_id, removed_at from inbox.tag_applications")
                == ["ga-1", "m-1", "tg-1", "2026-03-01 09:06:00+00", "ag-1", "tm-1", nil])
        #expect(try row("""
            select survey_id, conversation_id, sent_at, status, agent_id, team_id, responded_at, score, follow_up_question, follow_up_answer
            from inbox.csat_surveys
            """) == ["cs-1", "cv-1", "2026-03-01 09:11:00+00", "COMPLETED", "ag-1", "tm-1", "2026-03-01 09:20:00+00", "5", "Why?", "Fast"])
        #expect(try row("select presence_id, agent_id, presence_type, started_at, away_state, ended_at from inbox.presences")
                == ["p-1", "ag-1", "AWAY", "2026-03-01 12:00:00+00", "Lunch", nil])
    }

    @Test("every reject reason of the contract, with its line number, and the valid lines still load")
    func rejectsCarryLineAndReason() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let path = TestSupport.fixture("loader/rejects.ndjson").path
        let rejectsPath = try TestSupport.temporaryDirectory().appendingPathComponent("rejects.ndjson").path
        let summary = try Loader(connection: connection, options: LoadOptions(rejectsPath: rejectsPath)).load([.file(path)])

        // The expected reason of every bad line, by line number (see Fixtures/loader/README.md).
        let expected: [Int64: String] = [
            2: "not valid JSON",
            3: "missing required field \"type\"",
            4: "unknown type \"ticket\"",
            5: "missing required field \"conversation_id\"",
            6: "field \"created_at\" must be a string, got a number",
            7: "field \"created_at\" is not an RFC 3339 timestamp with an offset",
            8: "field \"direction\" has value \"SIDEWAYS\" outside INBOUND, OUTBOUND",
            9: "field \"score\" is out of range",
            10: "field \"id\" is longer than 200 characters",
            11: "field \"id\" must be a non-empty identifier",
            12: "the record is not a JSON object",
            13: "not valid UTF-8",
            14: "field \"active\" must be a boolean, got a string",
            15: "field \"kind\" has value \"ROBOT\" outside HUMAN, VIRTUAL",
            16: "field \"at\" is not an RFC 3339 timestamp with an offset",
            18: "missing required field \"name\"",
        ]
        let result = try connection.execute("select line_number, reason, raw, raw_bytes is not null from warehouse.load_rejects order by line_number")
        var seen: [Int64: String] = [:]
        for row in 0..<result.rowCount {
            let line = Int64(result.value(row, 0)!)!
            let reason = result.value(row, 1)!
            seen[line] = reason
            #expect(reason.hasPrefix(expected[line] ?? "<no reject expected on line \(line)>"), "line \(line): \(reason)")
            #expect(result.value(row, 3) == (line == 13 ? "t" : "f"), "raw_bytes kept only for the non-UTF-8 line")
        }
        #expect(Set(seen.keys) == Set(expected.keys))
        #expect(summary.rejected == Int64(expected.count))
        // Lines 1, 17 and 19 are valid; blank line 20 is skipped.
        #expect(summary.loaded == 3)
        #expect(try connection.execute("select message_id from inbox.messages order by 1").rows == [["m-ok-1"], ["m-ok-2"]])
        #expect(try connection.execute("select count(*) from inbox.channels").scalar == "1")

        // The --rejects file has one JSON object per reject, with source, line, reason and raw.
        let lines = try String(contentsOfFile: rejectsPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == expected.count)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["source"] as? String == path)
        #expect(first["line"] as? Int == 2)
        #expect((first["reason"] as? String)?.hasPrefix("not valid JSON") == true)
        #expect(first["raw"] as? String == "{\"type\":\"message\",")

        let ledger = try connection.execute("select status, lines_read, records_loaded, records_rejected, sha256 from warehouse.loads").rows
        #expect(ledger == [["rejected", "20", "3", String(expected.count), try sha256OfFile(path).hash]])
    }

    @Test("the same file twice, reversed order and shuffled batches give identical tables")
    func redeliveryIsIdempotent() throws {
        let log = TestSupport.fixture("golden/events.ndjson").path
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)

        let (once, _) = try TestSupport.freshDatabase()
        _ = try Loader(connection: once).load([.file(log)])
        let reference = try TestSupport.tableContents(once)
        #expect(reference["messages"]?.isEmpty == false)

        let (twice, _) = try TestSupport.freshDatabase()
        _ = try Loader(connection: twice).load([.file(log), .file(log)])
        #expect(try TestSupport.tableContents(twice) == reference)

        let (reversed, _) = try TestSupport.freshDatabase()
        let reversedPath = try TestSupport.writeLog(lines.reversed())
        _ = try Loader(connection: reversed, options: LoadOptions(batchLines: 7)).load([.file(reversedPath)])
        #expect(try TestSupport.tableContents(reversed) == reference)

        var generator = SeededGenerator(seed: 7)
        let (shuffled, _) = try TestSupport.freshDatabase()
        let shuffledPath = try TestSupport.writeLog(lines.shuffled(using: &generator))
        _ = try Loader(connection: shuffled, options: LoadOptions(batchLines: 13)).load([.file(shuffledPath)])
        #expect(try TestSupport.tableContents(shuffled) == reference)
    }

    @Test("updated_at decides which version of a record is kept")
    func updatedAtRule() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        func load(_ lines: [String], batch: Int = 50_000) throws {
            _ = try Loader(connection: connection, options: LoadOptions(batchLines: batch)).load([.file(try TestSupport.writeLog(lines))])
        }
        func name(_ id: String) throws -> String? {
            try connection.execute("select name from inbox.topics where topic_id = $1", [id]).scalar
        }
        // Newer replaces older; older never replaces newer; equal replaces (later-loaded wins).
        try load([#"{"type":"topic","id":"a","name":"v2","updated_at":"2026-03-02T00:00:00Z"}"#])
        try load([#"{"type":"topic","id":"a","name":"v1","updated_at":"2026-03-01T00:00:00Z"}"#])
        #expect(try name("a") == "v2")
        try load([#"{"type":"topic","id":"a","name":"v2b","updated_at":"2026-03-02T01:00:00+01:00"}"#])
        #expect(try name("a") == "v2b")
        try load([#"{"type":"topic","id":"a","name":"v3","updated_at":"2026-03-03T00:00:00Z"}"#])
        #expect(try name("a") == "v3")
        // Without updated_at: never replaces one that has it...
        try load([#"{"type":"topic","id":"a","name":"none"}"#])
        #expect(try name("a") == "v3")
        // ...and between two without, the later-loaded wins; one with it replaces one without.
        try load([#"{"type":"topic","id":"b","name":"first"}"#, #"{"type":"topic","id":"b","name":"second"}"#])
        #expect(try name("b") == "second")
        try load([#"{"type":"topic","id":"b","name":"dated","updated_at":"2020-01-01T00:00:00Z"}"#])
        #expect(try name("b") == "dated")
        // Inside one batch the same rule holds, whatever the order.
        try load([
            #"{"type":"topic","id":"c","name":"new","updated_at":"2026-03-05T00:00:00Z"}"#,
            #"{"type":"topic","id":"c","name":"undated"}"#,
            #"{"type":"topic","id":"c","name":"old","updated_at":"2026-03-04T00:00:00Z"}"#,
        ])
        #expect(try name("c") == "new")
        // Kinds without updated_at (status changes): the later-loaded record wins.
        try load([
            #"{"type":"status_change","id":"s","conversation_id":"cv","at":"2026-03-01T00:00:00Z","status":"PENDING"}"#,
            #"{"type":"status_change","id":"s","conversation_id":"cv","at":"2026-03-01T00:00:00Z","status":"RESOLVED"}"#,
        ])
        #expect(try connection.execute("select status from inbox.status_changes where status_change_id = 's'").scalar == "RESOLVED")
    }

    @Test("--strict loads nothing from a file with a reject, and everything from a clean one")
    func strictMode() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let bad = try TestSupport.writeLog([
            #"{"type":"tag","id":"t1","name":"One"}"#,
            #"{"type":"tag","id":"t2"}"#,
            #"{"type":"tag","id":"t3","name":"Three"}"#,
        ])
        let good = try TestSupport.writeLog([#"{"type":"tag","id":"t4","name":"Four"}"#])
        let summary = try Loader(connection: connection, options: LoadOptions(isStrict: true)).load([.file(bad), .file(good)])
        #expect(summary.files.map(\.skippedByStrict) == [true, false])
        #expect(summary.files.map(\.loaded) == [0, 1])
        #expect(summary.rejected == 1)
        #expect(try connection.execute("select tag_id from inbox.tags order by 1").rows == [["t4"]])
        #expect(try connection.execute("select line_number, reason from warehouse.load_rejects").rows
                == [["2", "missing required field \"name\""]])
        #expect(try connection.execute("select status from warehouse.loads order by load_id").rows == [["rejected"], ["succeeded"]])
    }

    @Test("gzip-compressed logs are decompressed")
    func gzipInput() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let plain = try TestSupport.writeLog([#"{"type":"tag","id":"g1","name":"Zip"}"#], name: "log.ndjson")
        let status = Subprocess.wait(try Subprocess.spawn("gzip", ["-k", plain]))
        #expect(status == 0)
        let summary = try Loader(connection: connection).load([.file(plain + ".gz")])
        #expect(summary.loaded == 1)
        #expect(summary.files.first?.sha256 == (try sha256OfFile(plain + ".gz")).hash)
        #expect(try connection.execute("select name from inbox.tags").scalar == "Zip")
    }

    @Test("a COPY that fails on the server mid-stream throws its SQLSTATE and leaves the connection usable")
    func copyFailureSurfacesSQLState() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try connection.execute("create temporary table numbers (n integer)")
        #expect {
            try connection.copyIn("copy numbers (n) from stdin") { writer in
                for index in 0..<10_000 { try writer.write("\(index)\n") }
                try writer.write("not a number\n")
                for index in 0..<10_000 { try writer.write("\(index)\n") }
            }
        } throws: { error in
            (error as? PostgresError)?.sqlState == .invalidTextRepresentation
        }
        #expect(try connection.execute("select count(*) from numbers").scalar == "0")
        // A client-side failure inside the closure aborts the COPY and rethrows the caller's error.
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try connection.copyIn("copy numbers (n) from stdin") { writer in
                try writer.write("1\n")
                throw Stop()
            }
        }
        #expect(try connection.execute("select count(*) from numbers").scalar == "0")
        let rows = try connection.copyIn("copy numbers (n) from stdin") { writer in try writer.write("1\n2\n") }
        #expect(rows == 2)
    }

    @Test("server errors carry SQLSTATE and diagnostic fields; parameters are never spliced")
    func serverErrors() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        do {
            try connection.execute("insert into inbox.tags (tag_id, name) values ($1, $2)", ["x", nil])
            Issue.record("expected a not-null violation")
        } catch let error as PostgresError {
            #expect(error.sqlState == .notNullViolation)
            #expect(error.table == "tags")
            #expect(error.column == "name")
        }
        let hostile = "x'); drop table inbox.tags; --"
        try connection.execute("insert into inbox.tags (tag_id, name) values ($1, $1)", [hostile])
        #expect(try connection.execute("select name from inbox.tags").scalar == hostile)
        var notices: [String] = []
        connection.noticeHandler = { notices.append($0.message) }
        try connection.execute("do $$ begin raise notice 'hello %', 42; end $$")
        #expect(notices == ["hello 42"])
    }
}

/// A small deterministic generator for shuffles in tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
