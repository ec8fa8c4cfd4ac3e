import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

extension ReliabilityTests {
    @Suite("Reliability: concurrency")
    struct Concurrency {
        static func exportAll(_ connection: Connection) throws -> URL {
            let directory = try TestSupport.temporaryDirectory()
            _ = try Exporter(connection: connection, schemaVersion: 1).exportAll(InterruptedExports.parameters, directory: directory.path)
            return directory
        }

        static func files(_ directory: URL) -> [String: Data] {
            var files: [String: Data] = [:]
            for type in ExportType.all {
                files[type.slug] = try? Data(contentsOf: directory.appendingPathComponent("\(type.slug).csv"))
            }
            return files
        }

        @Test("export --all reads one snapshot while a load commits in the middle of it")
        func exportSnapshotDuringLoad() throws {
            let (connection, url) = try TestSupport.freshDatabase()
            let before = ReliabilityLog.lines(conversations: 0..<800, seed: 3)
            let after = ReliabilityLog.lines(conversations: 800..<1_600, seed: 4, includeDimensions: false)
            let logB = try TestSupport.writeLog(after, name: "b.ndjson")
            #expect(try Loader(connection: connection).load([.file(try TestSupport.writeLog(before))]).rejected == 0)
            // The first file of --all waits 3 s after its first row, inside the snapshot.
            try SlowView.install(connection, view: "resolved_conversations", afterRows: 1, seconds: 0)
            let stateA = Self.files(try Self.exportAll(connection))

            try SlowView.setDelay(url, seconds: 3)
            let directory = try TestSupport.temporaryDirectory()
            let export = try CLIProcess(["export", "--all", "--quiet"] + InterruptedExports.range + ["--output-dir", directory.path],
                                        environment: ["DATABASE_URL": url])
            _ = try InterruptedExports.waitForPartial(in: directory, bytes: 0, process: export)
            // The export's snapshot is taken (its first file is open): commit more data now.
            let loader = try Connection(conninfo: url)
            let summary = try Loader(connection: loader).load([.file(logB)])
            #expect(summary.rejected == 0 && summary.loaded > 10_000)
            #expect(export.isRunning, "the export must still be running when the load commits, else the test proves nothing")
            #expect(export.wait(timeout: 120) == 0, "\(export.standardError)")
            let concurrent = Self.files(directory)

            try SlowView.setDelay(url, seconds: 0)
            let stateB = Self.files(try Self.exportAll(connection))
            let changed = ExportType.all.filter { stateA[$0.slug] != stateB[$0.slug] }.map(\.slug)
            #expect(changed.count >= 8, "the commit must change most exports (changed: \(changed))")
            for type in ExportType.all {
                #expect(concurrent[type.slug] == stateA[type.slug], "\(type.slug) does not show the snapshot taken before the commit")
            }
            // Cross-check inside the snapshot: every message row's conversation is one of the
            // conversations the same snapshot knew (no row of the later load leaked in).
            let messages = String(decoding: concurrent["messages"] ?? Data(), as: UTF8.self)
            let later = String(decoding: stateB["messages"] ?? Data(), as: UTF8.self)
            #expect(later.contains("cv-800,") && later.contains("cv-1599,"))
            #expect(!messages.contains("cv-800,") && !messages.contains("cv-1599,"))
            Reliability.figure("snapshot: --all with a 3 s pause in its first file while \(summary.loaded) records committed; all 12 files equal to the state before the commit (\(changed.count) of 12 differ after it)")
        }

        @Test("several loaders of the same file at once end in the state of one load (no deadlock, no unique violation)")
        func concurrentLoaders() throws {
            let lines = ReliabilityLog.lines(conversations: 0..<Reliability.count(ci: 1_000, full: 3_000), seed: 11, rejectsEvery: 300)
            let log = try TestSupport.temporaryDirectory().appendingPathComponent("same.ndjson")
            try ReliabilityLog.write(lines, to: log)
            let referenceURL = try TestServer.shared.makeDatabase()
            let reference = try runCLI(["load", "--quiet", log.path], environment: ["DATABASE_URL": referenceURL])
            #expect(reference.status == 2)
            let expected = try ReliabilityDatabase.contents(referenceURL)

            let rounds: [[String]] = Reliability.isFull
                ? [["200", "200"], ["250", "1000", "5000"], ["100", "100", "100", "100"], ["300", "700"]]
                : [["200", "200"], ["250", "1000", "5000"]]
            var loaders = 0
            for batches in rounds {
                let url = try TestServer.shared.makeDatabase()
                let processes = try batches.map {
                    try CLIProcess(["load", "--quiet", "--batch-lines", $0, log.path], environment: ["DATABASE_URL": url])
                }
                for (process, batch) in zip(processes, batches) {
                    let status = process.wait(timeout: 300)
                    #expect(status == 2, "loader with --batch-lines \(batch): \(process.standardError)")
                    #expect(!process.standardError.contains("deadlock") && !process.standardError.contains("23505"), "\(process.standardError)")
                }
                loaders += batches.count
                let contents = try ReliabilityDatabase.contents(url)
                #expect(contents == expected, "\(batches): \(ReliabilityDatabase.difference(contents, expected))")
                #expect(try ReliabilityDatabase.scalar(url, "select count(*) filter (where status = 'rejected') from warehouse.loads") == String(batches.count))
            }
            Reliability.figure("concurrent loaders: \(rounds.count) rounds, \(loaders) loaders of one \(lines.count)-line file at once (batch sizes \(rounds)); every final state equal to one load")
        }
    }
}
