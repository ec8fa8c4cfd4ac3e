import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

@Suite("Security and safety")
struct SecurityTests {
    static let hostileLog = [
        #"{"type":"channel","id":"ch-x","medium":"TWITTER","name":"@brand"}"#,
        #"{"type":"contact","id":"ct-x","medium":"TWITTER","primary_identifier":"+33600000001","secondary_identifier":"=1+2","created_at":"2026-03-01T09:00:00Z"}"#,
        #"{"type":"conversation","id":"cv-x","channel_id":"ch-x","contact_id":"ct-x","created_at":"2026-03-01T09:00:00Z"}"#,
        #"{"type":"message","id":"m-x","conversation_id":"cv-x","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND","content":"=HYPERLINK(\"http://evil\",\"x\")"}"#,
        #"{"type":"message","id":"m-y","conversation_id":"cv-x","created_at":"2026-03-01T09:01:00Z","direction":"INBOUND","content":"@SUM(A1)\tx"}"#,
    ]

    static func messagesExport(_ connection: Connection, safe: Bool) throws -> String {
        let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-03-01"), asOf: "2026-03-02T00:00:00Z",
                                          isSpreadsheetSafe: safe)
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("m.csv").path
        try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("messages")!, parameters, to: path)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("--safe-spreadsheet neutralizes formula cells; by default data round-trips exactly")
    func spreadsheetSafety() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        _ = try Loader(connection: connection).load([.file(try TestSupport.writeLog(Self.hostileLog))])
        let plain = try Self.messagesExport(connection, safe: false)
        #expect(plain.contains(#","=HYPERLINK(""http://evil"",""x"")","#))
        #expect(plain.contains(",+33600000001,=1+2,"))
        #expect(plain.contains(",@SUM(A1)\tx,"))
        let safe = try Self.messagesExport(connection, safe: true)
        #expect(safe.contains(#","'=HYPERLINK(""http://evil"",""x"")","#))
        #expect(safe.contains(",'+33600000001,'=1+2,"))
        #expect(safe.contains(",'@SUM(A1)\tx,"))
        #expect(safe.contains(",'@brand,"))
        #expect(!safe.contains(",=") && !safe.contains(",+") && !safe.contains(",@"))
        // Same rows, same header.
        #expect(safe.split(separator: "\n").first == plain.split(separator: "\n").first)
    }

    @Test("the read-only role can export but cannot write")
    func readOnlyRole() throws {
        let (owner, url) = try TestSupport.freshDatabase()
        _ = try Loader(connection: owner).load([.file(ExportTests.goldenLog)])
        let user = "iw_reader_\(TestServer.shared.runID)_\(UUID().uuidString.prefix(6).lowercased())"
        try owner.execute("create role \(try owner.escapeIdentifier(user)) login in role inbox_warehouse_reader")
        defer { _ = try? owner.execute("drop role if exists \(try owner.escapeIdentifier(user))") }
        var components = try #require(URLComponents(string: url))
        components.user = user
        let reader = try Connection(conninfo: components.string!)
        #expect(try reader.execute("select current_user").scalar == user)

        // Migrations are up to date: nothing to write, so exports run.
        #expect(try Migrator(resources: TestSupport.sqlResources()).isUpToDate(reader))
        let golden = try #require(try GoldenCase.all().first { $0.name == "paris" })
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("teams.csv").path
        try Exporter(connection: reader, schemaVersion: 1).export(ExportType.named("teams")!, golden.parameters, to: path)
        let expected = try String(contentsOf: TestSupport.fixture("golden/expected/paris/teams.csv"), encoding: .utf8)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)

        for statement in [
            "insert into inbox.tags (tag_id, name) values ('t', 't')",
            "update inbox.messages set content = 'x'",
            "delete from warehouse.loads",
            "create table inbox.intruder (n int)",
        ] {
            #expect(Comment(rawValue: statement)) {
                try reader.execute(statement)
            } throws: { error in
                (error as? PostgresError)?.sqlState == .insufficientPrivilege
            }
        }
    }

    @Test("a running export can be cancelled; it leaves no file")
    func cancelExport() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try connection.execute("drop view export.tags")
        try connection.execute("""
            create view export.tags as
            select n::text as a, pg_sleep(case when n = 100 then 30 else 0 end)::text as b,
                   '' as c, '' as d, '' as e, '' as f, '' as g, '' as h, '' as i
            from generate_series(1, 200) as n
            """)
        let cancel = try #require(connection.cancelHandle())
        let canceller = Thread {
            Thread.sleep(forTimeInterval: 1.0)
            cancel.cancel()
        }
        canceller.start()
        let directory = try TestSupport.temporaryDirectory()
        let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-03-01"), asOf: "2026-03-02T00:00:00Z")
        let started = Date()
        #expect {
            try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("tags")!, parameters, to: directory.appendingPathComponent("tags.csv").path)
        } throws: { error in
            (error as? PostgresError)?.sqlState == .queryCanceled
        }
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        #expect(try connection.execute("select 1").scalar == "1")
    }
}

@Suite("Programs the tool starts inherit nothing")
struct InheritedDescriptorTests {
    /// A descriptor opened without close-on-exec (as a listening socket of `serve` or a library's
    /// socket may be) must not reach pg_ctl, the server it leaves running, or sftp.
    @Test func aChildSeesOnlyTheStandardStreams() throws {
        let directory = try TestSupport.temporaryDirectory()
        let descriptor = open(directory.appendingPathComponent("held-open").path, O_WRONLY | O_CREAT, 0o600)
        #expect(descriptor > 2)
        defer { close(descriptor) }
        let result = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/$$/fd"])
        #expect(result.status == 0)
        let inherited = result.standardOutput.split(separator: "\n").compactMap { Int32($0) }
        #expect(!inherited.contains(descriptor), "the child holds descriptor \(descriptor): \(inherited)")
        #expect(inherited.contains(0) && inherited.contains(1) && inherited.contains(2))
    }
}
