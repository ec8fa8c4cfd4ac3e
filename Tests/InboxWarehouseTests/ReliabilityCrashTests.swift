import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

extension ReliabilityTests {
    /// Crash safety of loads: the loader killed, or the server stopped abruptly, at random moments
    /// of a large load; the re-run must end in exactly the state of an uninterrupted load.
    @Suite("Reliability: crash safety of loads")
    struct Crash {
        static let batchLines = "400"

        /// The generated log (a few tens of thousands of lines, every kind, re-deliveries, a few
        /// rejects), written once per test run.
        static let log: (path: String, lines: Int, rejects: Int) = {
            let lines = ReliabilityLog.lines(conversations: 0..<Reliability.count(ci: 1_200, full: 3_500), seed: 7, rejectsEvery: 250)
            let url = try! TestSupport.temporaryDirectory().appendingPathComponent("crash.ndjson")
            try! ReliabilityLog.write(lines, to: url)
            return (url.path, lines.count, lines.filter { $0.contains(#""id":"bad-"#) }.count)
        }()

        struct Reference {
            let contents: [String: [String]]
            let status: Int32
            let seconds: TimeInterval
            let loaded: String?
        }

        /// The uninterrupted load on a fresh database of `url`.
        static func reference(_ url: String) throws -> Reference {
            let run = try runCLI(["load", "--batch-lines", batchLines, "--quiet", log.path], environment: ["DATABASE_URL": url], timeout: 300)
            try #require(run.status == 2, "the reference load ends with exit 2 (it has \(log.rejects) rejects): \(run.standardError)")
            let loaded = try ReliabilityDatabase.scalar(url, "select records_loaded || '/' || records_rejected || '/' || lines_read from warehouse.loads where status = 'rejected'")
            return Reference(contents: try ReliabilityDatabase.contents(url), status: 2, seconds: run.seconds, loaded: loaded)
        }

        @Test("SIGKILL of the loader at random points, then a re-run: nothing lost, nothing doubled")
        func killLoaderAtRandomPoints() throws {
            let points = Reliability.count(ci: 6, full: 24)
            let reference = try Self.reference(try TestServer.shared.makeDatabase())
            #expect(reference.loaded == "\(Self.log.lines - Self.log.rejects)/\(Self.log.rejects)/\(Self.log.lines)")
            var random = SeededRandom(seed: 20_260_301)
            var midLoad = 0, insideTransaction = 0, progressSeen = Set<String>()
            let started = Date()
            for point in 0..<points {
                var delay = reference.seconds * (0.05 + 0.8 * Double(random.next() % 1000) / 1000)
                var url: String
                var loader: CLIProcess
                var open: String?
                // A point the load outran (a faster run than the reference) says nothing about a
                // kill mid-load: draw it again, earlier, on a fresh database.
                while true {
                    url = try TestServer.shared.makeDatabase()
                    loader = try CLIProcess(["load", "--batch-lines", Self.batchLines, "--quiet", Self.log.path], environment: ["DATABASE_URL": url])
                    usleep(UInt32(delay * 1_000_000))
                    // Was a transaction of the loader open at this moment? (Indicative: read just before the kill.)
                    open = try ReliabilityDatabase.scalar(url, """
                        select count(*) from pg_stat_activity
                        where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
                        """)
                    loader.kill(SIGKILL)
                    _ = loader.wait(timeout: 30)
                    if loader.terminationReason == .uncaughtSignal || delay < 0.05 { break }
                    delay /= 2
                }
                #expect(loader.terminationReason == .uncaughtSignal, "kill point \(point) (\(delay) s): the load finished before the kill")
                if open == "1" { insideTransaction += 1 }
                // What the killed load had committed: whole batches only.
                let committed = try ReliabilityDatabase.scalar(url, "select coalesce(max(lines_read), 0) from warehouse.loads") ?? "0"
                let lines = Int(committed) ?? 0
                if lines > 0 && lines < Self.log.lines { midLoad += 1 }
                #expect(lines % Int(Self.batchLines)! == 0, "only whole batches commit (\(lines) lines read)")
                progressSeen.insert(committed)
                let stored = try ReliabilityDatabase.scalar(url, "select count(*) from inbox.messages") ?? "?"

                let rerun = try runCLI(["load", "--batch-lines", Self.batchLines, "--quiet", Self.log.path], environment: ["DATABASE_URL": url], timeout: 300)
                #expect(rerun.status == reference.status, "re-run after kill point \(point): \(rerun.standardError)")
                let contents = try ReliabilityDatabase.contents(url)
                #expect(contents == reference.contents,
                        "kill point \(point) at \(delay) s (\(committed) lines committed, \(stored) messages): \(ReliabilityDatabase.difference(contents, reference.contents))")
                let last = try ReliabilityDatabase.scalar(url, "select records_loaded || '/' || records_rejected || '/' || lines_read from warehouse.loads where status = 'rejected'")
                #expect(last == reference.loaded)
                // The killed load's ledger row stays `running` (documented): nobody marks it. (None
                // when the kill landed before the load began, while connecting or migrating.)
                let running = try ReliabilityDatabase.scalar(url, "select count(*) from warehouse.loads where status = 'running'")
                #expect(running == "1" || (running == "0" && lines == 0), "\(String(describing: running)) running loads")
            }
            // The kills must really have landed inside the load, at different places.
            #expect(midLoad >= points / 2, "only \(midLoad) of \(points) kills landed after a commit and before the end")
            #expect(progressSeen.count >= min(points / 2, 3))
            Reliability.figure("load SIGKILL: \(points) kill points on a \(Self.log.lines)-line log (batches of \(Self.batchLines)); \(midLoad) after >= 1 committed batch and before the end, \(insideTransaction) with a loader transaction open; \(progressSeen.count) distinct committed positions; every re-run equal to the uninterrupted load; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }

        @Test("the server stopped abruptly (pg_ctl stop -m immediate) mid-load: clear error, restart, re-run, same state")
        func serverStoppedMidLoad() throws {
            let points = Reliability.count(ci: 3, full: 20)
            let cluster = try PrivateCluster()
            defer { cluster.destroy() }
            let reference = try Self.reference(try TestServer.shared.makeDatabase())
            // The stop points are drawn from the duration of an uninterrupted load on this cluster.
            let timed = try cluster.makeDatabase("crash_timed")
            #expect(try runCLI(["db", "migrate"], environment: ["DATABASE_URL": timed]).status == 0)
            let uninterrupted = try runCLI(["load", "--batch-lines", Self.batchLines, "--quiet", Self.log.path], environment: ["DATABASE_URL": timed], timeout: 300)
            #expect(uninterrupted.status == reference.status)
            #expect(try ReliabilityDatabase.contents(timed) == reference.contents)
            var random = SeededRandom(seed: 15)
            var midLoad = 0
            let started = Date()
            for point in 0..<points {
                var delay = uninterrupted.seconds * (0.1 + 0.6 * Double(random.next() % 1000) / 1000)
                var url: String
                var loader: CLIProcess
                var status: Int32?
                var attempt = 0
                // A stop the load outran (a faster run than the timed one, e.g. on a busy machine)
                // says nothing about a stop mid-load: draw it again, earlier, on a fresh database.
                while true {
                    url = try cluster.makeDatabase("crash_\(point)_\(attempt)")
                    // Migrate first so that the stop lands in the load itself.
                    let migrate = try runCLI(["db", "migrate"], environment: ["DATABASE_URL": url])
                    try #require(migrate.status == 0, "\(migrate.standardError)")
                    loader = try CLIProcess(["load", "--batch-lines", Self.batchLines, "--quiet", Self.log.path], environment: ["DATABASE_URL": url])
                    usleep(UInt32(delay * 1_000_000))
                    try cluster.stopImmediately()
                    status = loader.wait(timeout: 60)
                    if status != reference.status || delay < 0.05 { break }
                    try cluster.restart()
                    delay /= 2
                    attempt += 1
                }
                #expect(status == 1, "kill point \(point): the loader must fail cleanly (exit 1), got \(String(describing: status)): \(loader.standardError)")
                let message = loader.standardError
                #expect(message.contains("inbox-warehouse: error:"), "\(message)")
                #expect(message.split(separator: "\n").count <= 4, "\(message)")
                try cluster.restart()
                let committed = Int(try ReliabilityDatabase.scalar(url, "select coalesce(max(lines_read), 0) from warehouse.loads") ?? "0") ?? 0
                if committed > 0 && committed < Self.log.lines { midLoad += 1 }
                let rerun = try runCLI(["load", "--batch-lines", Self.batchLines, "--quiet", Self.log.path], environment: ["DATABASE_URL": url], timeout: 300)
                #expect(rerun.status == reference.status, "\(rerun.standardError)")
                let contents = try ReliabilityDatabase.contents(url)
                #expect(contents == reference.contents,
                        "stop point \(point) at \(delay) s (\(committed) lines committed): \(ReliabilityDatabase.difference(contents, reference.contents))")
            }
            #expect(midLoad >= 1, "no server stop landed after a committed batch")
            Reliability.figure("server immediate stop mid-load: \(points) stop points (\(midLoad) after >= 1 committed batch); loader exit 1 with one error line each time; after crash recovery every re-run equal to the uninterrupted load; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}
