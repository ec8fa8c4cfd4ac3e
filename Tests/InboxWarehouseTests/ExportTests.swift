import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// One parameter set of the golden fixture (Fixtures/golden/cases.json).
struct GoldenCase: Decodable, CustomTestStringConvertible, Sendable {
    let name: String
    /// The log it reads, in Fixtures/golden/ (default `events.ndjson`; `readings.ndjson` holds the
    /// cases of the spec's "Precise readings", DERIVATION.md section 18).
    let log: String?
    let time_zone: String
    let from: String?
    let to: String?
    let as_of: String
    let channels: [String]
    let header_locale: String
    let exports: [String]?

    var testDescription: String { name }

    static func all() throws -> [GoldenCase] {
        let data = try Data(contentsOf: TestSupport.fixture("golden/cases.json"))
        return try JSONDecoder().decode([GoldenCase].self, from: data)
    }

    var logPath: String { TestSupport.fixture("golden/\(log ?? "events.ndjson")").path }

    var types: [ExportType] {
        (exports ?? ExportType.all.map(\.slug)).compactMap(ExportType.named)
    }

    /// The case's parameters, built the one way every caller builds them.
    var parameters: ExportParameters {
        ExportParameters(from: from.flatMap(RangeBound.init), to: to.flatMap(RangeBound.init), timeZone: time_zone,
                         channelIDs: channels, asOf: Instant(as_of), headerLocale: HeaderLocale(rawValue: header_locale) ?? .en)
    }
}

@Suite("Exports")
struct ExportTests {
    static let goldenLog = TestSupport.fixture("golden/events.ndjson").path

    /// Loads the golden log (or `log`, or `lines`) into a fresh database and returns the connection.
    static func loadedGoldenDatabase(lines: [String]? = nil, log: String = goldenLog) throws -> Connection {
        let (connection, _) = try TestSupport.freshDatabase()
        let path = try lines.map { try TestSupport.writeLog($0) } ?? log
        let summary = try Loader(connection: connection).load([.file(path)])
        #expect(summary.rejected == 0)
        return connection
    }

    /// Every export of every golden case reading `log`, as bytes, written through the exporter into files.
    static func exportAll(_ connection: Connection, log: String = goldenLog) throws -> [String: Data] {
        var outputs: [String: Data] = [:]
        let directory = try TestSupport.temporaryDirectory()
        for golden in try GoldenCase.all() where golden.logPath == log {
            for type in golden.types {
                let path = directory.appendingPathComponent("\(golden.name)-\(type.slug).csv").path
                try Exporter(connection: connection, schemaVersion: 1).export(type, golden.parameters, to: path)
                outputs["\(golden.name)/\(type.slug)"] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return outputs
    }

    @Test("every export of every golden case matches its hand-checked CSV byte for byte",
          arguments: try GoldenCase.all())
    func goldenCase(_ golden: GoldenCase) throws {
        let connection = try Self.loadedGoldenDatabase(log: golden.logPath)
        let directory = try TestSupport.temporaryDirectory()
        for type in golden.types {
            let path = directory.appendingPathComponent("\(type.slug).csv").path
            let manifest = try #require(try Exporter(connection: connection, schemaVersion: 1).export(type, golden.parameters, to: path))
            let actual = try String(contentsOfFile: path, encoding: .utf8)
            let expected = try String(contentsOf: TestSupport.fixture("golden/expected/\(golden.name)/\(type.slug).csv"), encoding: .utf8)
            #expect(actual == expected, "\(golden.name)/\(type.slug) differs:\n\(firstDifference(actual, expected))")
            #expect(manifest.rows == expected.split(separator: "\n", omittingEmptySubsequences: false).count - 2)
            #expect(manifest.bytes == Int64(actual.utf8.count))
        }
    }

    @Test("re-loading the log, or loading it in reverse order, gives byte-identical exports",
          arguments: [goldenLog, TestSupport.fixture("golden/readings.ndjson").path])
    func exportsAreStableUnderRedelivery(_ log: String) throws {
        let reference = try Self.exportAll(Self.loadedGoldenDatabase(log: log), log: log)
        #expect(!reference.isEmpty)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let reversed = try Self.exportAll(Self.loadedGoldenDatabase(lines: lines.reversed()), log: log)
        #expect(reversed == reference)
        let twice = try Self.loadedGoldenDatabase(log: log)
        _ = try Loader(connection: twice).load([.file(log)])
        #expect(try Self.exportAll(twice, log: log) == reference)
    }

    @Test("French headers, byte-order mark and the manifest")
    func headersBOMAndManifest() throws {
        let connection = try Self.loadedGoldenDatabase()
        let directory = try TestSupport.temporaryDirectory()
        let parameters = ExportParameters(from: RangeBound("2026-03-28"), to: RangeBound("2026-03-30"), timeZone: "Europe/Paris",
                                          asOf: "2026-04-02T12:00:00Z", headerLocale: .fr, includesBOM: true)
        let path = directory.appendingPathComponent("teams.csv").path
        let manifest = try #require(try Exporter(connection: connection, schemaVersion: 7).export(ExportType.named("teams")!, parameters, to: path))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(data.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let header = String(decoding: data.dropFirst(3).prefix { $0 != 0x0A }, as: UTF8.self)
        #expect(header.hasPrefix("Créé à,ID d'équipe,Nom de l'équipe,Résout avec réponse"))
        #expect(header.hasSuffix("CSAT avec score 5,Tags ajoutés,Sujets ajoutés,Réponses"))

        let manifestData = try Data(contentsOf: URL(fileURLWithPath: path + ".manifest.json"))
        let json = try JSONSerialization.jsonObject(with: manifestData) as! [String: Any]
        #expect(json["type"] as? String == "teams")
        #expect(json["rows"] as? Int == manifest.rows)
        #expect(json["bytes"] as? Int == data.count)
        #expect(json["sha256"] as? String == (try sha256OfFile(path)).hash)
        #expect(json["schema_version"] as? Int == 7)
        let written = json["parameters"] as! [String: Any]
        #expect(written["time_zone"] as? String == "Europe/Paris")
        #expect(written["range_start"] as? String == "2026-03-27 23:00:00.000000+00")
        #expect(written["range_end"] as? String == "2026-03-30 22:00:00.000000+00")
        #expect(written["header_locale"] as? String == "fr")
    }

    @Test("invalid parameters are refused before any file is written", arguments: [
        ("Mars/Olympus", "2026-03-01", "2026-03-31", [String](), "unknown time zone"),
        ("Europe/Paris'; drop table inbox.messages; --", "2026-03-01", "2026-03-31", [], "unknown time zone"),
        ("UTC", "2026-03-31", "2026-03-01", [], "to 2026-03-01 is before from 2026-03-31"),
        ("UTC", "2025-01-01", "2026-07-02", [], "longer than 18 months"),
        ("UTC", "2026-03-01", "2026-03-31", ["ch-nope"], "unknown channel id \"ch-nope\""),
        ("UTC", "2026-03-01", "2026-03-31", ["ch-tw' or '1'='1"], "unknown channel id"),
        ("UTC", "2020-01-01", "2020-01-31", [], "retention window"),
    ])
    func invalidParameters(_ zone: String, _ from: String, _ to: String, _ channels: [String], _ message: String) throws {
        let connection = try Self.loadedGoldenDatabase()
        let directory = try TestSupport.temporaryDirectory()
        let parameters = ExportParameters(from: RangeBound(from), to: RangeBound(to), timeZone: zone, channelIDs: channels,
                                          asOf: "2026-04-02T12:00:00Z")
        let path = directory.appendingPathComponent("out.csv").path
        do {
            try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("messages")!, parameters, to: path)
            Issue.record("expected the export to be refused")
        } catch let error as WarehouseError {
            #expect(error.description.contains(message), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        #expect(try connection.execute("select count(*) > 0 from inbox.messages").scalar == "t")
        // Exactly 18 months is allowed.
        #expect(RangeBound("2025-01-01") != nil && RangeBound("2025-02-30") == nil && RangeBound("2026-3-1") == nil)
    }

    @Test("a span of exactly 18 calendar months is accepted")
    func spanLimit() throws {
        let connection = try Self.loadedGoldenDatabase()
        var parameters = ExportParameters(from: RangeBound("2025-01-01"), to: RangeBound("2026-07-01"), asOf: "2026-07-02T00:00:00Z")
        let exporter = Exporter(connection: connection, schemaVersion: 1, limits: ExportLimits(maximumSpanMonths: 18, retentionMonths: 24))
        let teams = [ExportType.named("teams")!]
        _ = try exporter.resolve(parameters, for: teams)
        parameters.to = RangeBound("2026-07-02")
        #expect(throws: WarehouseError.self) { try exporter.resolve(parameters, for: teams) }
    }

    @Test("an export that fails mid-stream leaves no file behind")
    func failedExportLeavesNothing() throws {
        let connection = try Self.loadedGoldenDatabase()
        // Replace one view by one that fails after streaming some rows.
        try connection.execute("drop view export.tags")
        try connection.execute("""
            create view export.tags as
            select n::text as a, (1 / (3000 - n))::text as b, '' as c, '' as d, '' as e, '' as f, '' as g, '' as h, '' as i
            from generate_series(1, 5000) as n
            """)
        let directory = try TestSupport.temporaryDirectory()
        let parameters = ExportParameters(from: RangeBound("2026-03-28"), to: RangeBound("2026-03-30"), asOf: "2026-04-02T12:00:00Z")
        let path = directory.appendingPathComponent("tags.csv").path
        #expect {
            try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("tags")!, parameters, to: path)
        } throws: { error in
            (error as? PostgresError)?.sqlState == SQLState("22012")  // division_by_zero
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // The connection is usable afterwards, and --all stops at the failing export, leaving the
        // complete files before it and nothing else.
        let all = directory.appendingPathComponent("all").path
        #expect(throws: PostgresError.self) {
            try Exporter(connection: connection, schemaVersion: 1).exportAll(parameters, directory: all)
        }
        let written = try FileManager.default.contentsOfDirectory(atPath: all).sorted()
        #expect(written.allSatisfy { !$0.hasPrefix(".") })
        #expect(!written.contains("tags.csv"))
    }

    @Test("content policy: TWITTER content by default, all, none, and never in scheduled exports")
    func contentPolicy() throws {
        let connection = try Self.loadedGoldenDatabase()
        func contents(_ policy: ContentPolicy, scheduled: Bool = false) throws -> Int {
            let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-04-30"), asOf: "2026-04-30T12:00:00Z",
                                              contentPolicy: policy, isScheduled: scheduled)
            let path = try TestSupport.temporaryDirectory().appendingPathComponent("m.csv").path
            try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("messages")!, parameters, to: path)
            // Count rows with a non-empty Content cell (column 22) via PostgreSQL's own CSV reader.
            try connection.execute("drop table if exists csv_rows")
            try connection.execute("create temporary table csv_rows (\((1...29).map { "c\($0) text" }.joined(separator: ", ")))")
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            try connection.copyIn("copy csv_rows from stdin (format csv, header true)") { writer in try writer.write(data) }
            return Int(try connection.execute("select count(*) from csv_rows where c22 is not null").scalar ?? "0") ?? 0
        }
        let twitterMessagesWithContent = try Int(connection.execute("""
            select count(*) from inbox.messages m join inbox.conversations c using (conversation_id)
            join inbox.channels ch using (channel_id) where ch.medium = 'TWITTER' and m.content is not null
            """).scalar!)!
        let allWithContent = try Int(connection.execute("select count(*) from inbox.messages where content is not null").scalar!)!
        #expect(twitterMessagesWithContent > 0 && allWithContent > twitterMessagesWithContent)
        #expect(try contents(.twitter) == twitterMessagesWithContent)
        #expect(try contents(.all) == allWithContent)
        #expect(try contents(.none) == 0)
        #expect(try contents(.twitter, scheduled: true) == 0)
    }
}

/// The first differing line of two texts, for readable failures.
func firstDifference(_ actual: String, _ expected: String) -> String {
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(a.count, e.count) {
        let left = index < a.count ? String(a[index]) : "<none>"
        let right = index < e.count ? String(e[index]) : "<none>"
        if left != right { return "line \(index + 1)\n  actual:   \(left)\n  expected: \(right)" }
    }
    return "(identical)"
}
