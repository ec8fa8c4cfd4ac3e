import Foundation
import Testing
@testable import InboxWarehouse

@Suite("Command line")
struct CommandLineTests {
    @Test("load reports rejects with exit status 2 and a summary; export validates before writing")
    func loadAndExportThroughTheCLI() throws {
        let url = try TestServer.shared.makeDatabase()
        let environment = ["DATABASE_URL": url]
        let log = TestSupport.fixture("loader/rejects.ndjson").path
        let load = try TestSupport.runCLI(["load", log], environment: environment)
        #expect(load.status == 2, "\(load.standardError)")
        #expect(load.standardError.contains("20 lines, 3 loaded, 16 rejected"))

        // Exports run on a database holding only the golden log.
        let goldenEnvironment = ["DATABASE_URL": try TestServer.shared.makeDatabase()]
        let clean = try TestSupport.runCLI(["load", TestSupport.fixture("golden/events.ndjson").path], environment: goldenEnvironment)
        #expect(clean.status == 0, "\(clean.standardError)")

        let directory = try TestSupport.temporaryDirectory()
        let output = directory.appendingPathComponent("resolved.csv").path
        let export = try TestSupport.runCLI([
            "export", "resolved-conversations", "--from", "2026-03-28", "--to", "2026-03-30", "--tz", "Europe/Paris",
            "--as-of", "2026-04-02T12:00:00Z", "--output", output,
        ], environment: goldenEnvironment)
        #expect(export.status == 0, "\(export.standardError)")
        let expected = try String(contentsOf: TestSupport.fixture("golden/expected/paris/resolved-conversations.csv"), encoding: .utf8)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == expected)
        #expect(FileManager.default.fileExists(atPath: output + ".manifest.json"))

        // One-line errors, non-zero exit, no file.
        let cases: [([String], String)] = [
            (["export", "no-such-export", "--from", "2026-03-01", "--to", "2026-03-02", "--output", "x.csv"], "invalid for '<type>'"),
            (["export", "messages", "--from", "2026-03-01", "--to", "2026-03-02", "--tz", "Nowhere/City", "--output", "x.csv"], "unknown time zone"),
            (["export", "messages", "--from", "2026-03-05", "--to", "2026-03-02", "--output", "x.csv"], "is before from"),
            (["export", "messages", "--from", "03/01/2026", "--to", "2026-03-02", "--output", "x.csv"], "invalid for '--from <date>'"),
            (["export", "messages", "--from", "2026-03-01", "--to", "2026-03-02", "--channel", "nope", "--output", "x.csv"], "unknown channel id"),
        ]
        for (arguments, message) in cases {
            var arguments = arguments
            arguments[arguments.count - 1] = directory.appendingPathComponent("x.csv").path
            let result = try TestSupport.runCLI(arguments + ["--as-of", "2026-04-02T12:00:00Z"], environment: goldenEnvironment)
            #expect(result.status != 0)
            #expect(result.standardError.split(separator: "\n").first?.contains(message) == true, "\(arguments): \(result.standardError)")
            // A usage error (64) is argument-parser's: the message, the accepted values and the
            // usage. A failure (1) is one line.
            if result.status == 1 { #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)") }
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("x.csv").path))
        }

        let all = directory.appendingPathComponent("all").path
        let exportAll = try TestSupport.runCLI([
            "export", "--all", "--from", "2026-03-28", "--to", "2026-03-30", "--as-of", "2026-04-02T12:00:00Z", "--output-dir", all,
        ], environment: goldenEnvironment)
        #expect(exportAll.status == 0, "\(exportAll.standardError)")
        let files = try FileManager.default.contentsOfDirectory(atPath: all).filter { $0.hasSuffix(".csv") }.sorted()
        #expect(files == ExportType.all.map { "\($0.slug).csv" }.sorted())
    }

    @Test("a database migrated by a newer version is refused")
    func newerSchemaRefused() throws {
        let url = try TestServer.shared.makeDatabase()
        let connection = try PostgresConnectionFactory.connect(url)
        try connection.execute("insert into warehouse.schema_migrations (version, name, checksum) values (9999, '9999_future', 'x')")
        #expect {
            try Migrator(resources: TestSupport.sqlResources()).migrate(connection)
        } throws: { error in
            (error as? WarehouseError)?.description.contains("newer inbox-warehouse") == true
        }
    }
}
