import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// Slows an export view down without changing its rows: the view is renamed to `<name>_original`
/// and replaced by one that reads it through a gate; the gate sleeps `seconds` once, after
/// `after_rows` rows have been streamed (so a kill lands mid-stream with data already written).
/// `offset 0` keeps the gate above the view's sort (otherwise the planner pushes it below).
enum SlowView {
    static func install(_ connection: Connection, view: String, afterRows: Int, seconds: Double) throws {
        try connection.execute("create table if not exists public.iw_delay (after_rows bigint not null, seconds float8 not null)")
        try connection.execute("delete from public.iw_delay")
        try connection.execute("insert into public.iw_delay values ($1, $2)", [String(afterRows), String(seconds)])
        // Exports read as the reader role: it must see the gate's setting.
        try connection.execute("grant select on public.iw_delay to inbox_warehouse_reader")
        try connection.executeScript("""
            create or replace function public.iw_gate() returns boolean language plpgsql volatile as $$
            declare
                n bigint := coalesce(nullif(current_setting('iw.rows', true), ''), '0')::bigint + 1;
                d record;
            begin
                perform set_config('iw.rows', n::text, false);
                select * into d from public.iw_delay;
                if d.seconds > 0 and n = d.after_rows then
                    perform pg_sleep(d.seconds);
                end if;
                return true;
            end
            $$;
            alter view export.\(view) rename to \(view)_original;
            create view export.\(view) as
            select o.* from (select * from export.\(view)_original offset 0) as o where public.iw_gate();
            """)
    }

    static func setDelay(_ url: String, seconds: Double) throws {
        _ = try ReliabilityDatabase.scalar(url, "update public.iw_delay set seconds = $1 returning 1", [String(seconds)])
    }

    /// Ends every other session of the database (a killed client's backend may still sleep).
    static func terminateOthers(_ url: String) throws {
        _ = try ReliabilityDatabase.scalar(url, """
            select count(pg_terminate_backend(pid)) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()
            """)
    }
}

extension ReliabilityTests {
    @Suite("Reliability: interrupted exports")
    struct InterruptedExports {
        static let range = ["--from", "2026-03-01", "--to", "2026-03-31", "--as-of", "2026-04-01T00:00:00Z"]
        static let partialPattern = try! NSRegularExpression(pattern: #"^\.[a-z-]+\.csv\.[0-9]+\.[0-9]+\.partial$"#)

        static func isPartial(_ name: String) -> Bool {
            partialPattern.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
        }

        static let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-03-31"), asOf: "2026-04-01T00:00:00Z")

        /// A database holding the generated crash log, with its reference exports (all twelve).
        static func loadedDatabase(url: String) throws -> (connection: Connection, reference: URL) {
            let connection = try Connection(conninfo: url)
            try Migrator(resources: try TestSupport.sqlResources()).migrate(connection)
            let summary = try Loader(connection: connection).load([.file(Crash.log.path)])
            try #require(summary.rejected == Int64(Crash.log.rejects))
            let reference = try TestSupport.temporaryDirectory()
            _ = try Exporter(connection: connection, schemaVersion: 1).exportAll(parameters, directory: reference.path)
            let size = (try FileManager.default.attributesOfItem(atPath: reference.appendingPathComponent("messages.csv").path)[.size] as? Int) ?? 0
            try #require(size > 600_000, "the messages export must be large enough to be interrupted mid-stream (\(size) bytes)")
            return (connection, reference)
        }

        /// The row after which the slowed messages view pauses: 80 % of the rows, so that more than
        /// the exporter's 256 KiB buffer is on disk when the pause starts.
        static func pauseRow(_ reference: URL) throws -> Int {
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent("messages.csv.manifest.json"))) as? [String: Any]
            let rows = try #require(manifest?["rows"] as? Int)
            return rows * 4 / 5
        }

        /// Waits until a hidden partial file in `directory` holds at least `bytes`; returns its name.
        static func waitForPartial(in directory: URL, of file: String? = nil, bytes: Int, process: CLIProcess, timeout: TimeInterval = 60) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                for name in directoryListing(directory) where isPartial(name) && (file.map { name.hasPrefix(".\($0).") } ?? true) {
                    let size = (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.size] as? Int) ?? 0
                    if size >= bytes { return name }
                }
                if !process.isRunning {
                    Issue.record("the export ended before it could be interrupted: \(process.standardError)")
                    throw WarehouseError.io("export ended early")
                }
                usleep(10_000)
            }
            process.kill()
            Issue.record("no partial file of \(bytes) bytes appeared within \(timeout) s")
            throw WarehouseError.io("no partial file")
        }

        static func fileData(_ url: URL) -> Data? { try? Data(contentsOf: url) }

        @Test("SIGKILL mid-export leaves only a hidden partial; SIGTERM leaves nothing; a re-run succeeds")
        func exporterKilled() throws {
            let url = try TestServer.shared.makeDatabase()
            let (connection, reference) = try Self.loadedDatabase(url: url)
            try SlowView.install(connection, view: "messages", afterRows: try Self.pauseRow(reference), seconds: 60)
            let environment = ["DATABASE_URL": url]

            // 1. SIGKILL of a single export, mid-stream.
            let directory = try TestSupport.temporaryDirectory()
            let output = directory.appendingPathComponent("messages.csv")
            let export = try CLIProcess(["export", "messages"] + Self.range + ["--output", output.path], environment: environment)
            let partial = try Self.waitForPartial(in: directory, bytes: 128 * 1024, process: export)
            export.kill(SIGKILL)
            _ = export.wait(timeout: 10)
            try SlowView.terminateOthers(url)
            #expect(directoryListing(directory) == [partial], "only the hidden partial may remain after SIGKILL")
            #expect(!partial.hasSuffix(".csv"), "a partial never carries the .csv suffix")
            let partialData = try #require(Self.fileData(directory.appendingPathComponent(partial)))
            let expected = try #require(Self.fileData(reference.appendingPathComponent("messages.csv")))
            #expect(partialData.count >= 128 * 1024 && partialData.count < expected.count)
            #expect(expected.starts(with: partialData), "the partial is a prefix of the export")

            // The re-run succeeds beside the orphan partial, and the orphan is not taken for it.
            try SlowView.setDelay(url, seconds: 0)
            let rerun = try runCLI(["export", "messages"] + Self.range + ["--output", output.path, "--quiet"], environment: environment)
            #expect(rerun.status == 0, "\(rerun.standardError)")
            #expect(Self.fileData(output) == expected)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output.path + ".manifest.json"))) as? [String: Any]
            #expect(manifest?["sha256"] as? String == sha256Hex(ofFile: output.path))
            #expect(manifest?["sha256"] as? String != sha256Hex(ofFile: directory.appendingPathComponent(partial).path))
            #expect(manifest?["file"] as? String == "messages.csv")
            #expect(directoryListing(directory) == [partial, "messages.csv", "messages.csv.manifest.json"])

            // 2. SIGTERM: the CLI cancels the query, removes its partial and says so.
            try SlowView.setDelay(url, seconds: 60)
            let quiet = try TestSupport.temporaryDirectory()
            let terminated = try CLIProcess(["export", "messages"] + Self.range + ["--output", quiet.appendingPathComponent("messages.csv").path], environment: environment)
            _ = try Self.waitForPartial(in: quiet, bytes: 128 * 1024, process: terminated)
            let signalled = Date()
            terminated.kill(SIGTERM)
            let status = terminated.wait(timeout: 30)
            #expect(status == 1, "\(terminated.standardError)")
            #expect(Date().timeIntervalSince(signalled) < 10)
            #expect(terminated.standardError.contains("cancelled: nothing was written"), "\(terminated.standardError)")
            #expect(directoryListing(quiet).isEmpty)

            // 3. SIGKILL of --all while its third file (messages) streams: the files finished
            // before the kill are complete (each matches its manifest), messages.csv does not
            // exist; a re-run writes all twelve, equal to the reference.
            let all = try TestSupport.temporaryDirectory()
            let exportAll = try CLIProcess(["export", "--all"] + Self.range + ["--output-dir", all.path], environment: environment)
            _ = try Self.waitForPartial(in: all, of: "messages.csv", bytes: 128 * 1024, process: exportAll)
            exportAll.kill(SIGKILL)
            _ = exportAll.wait(timeout: 10)
            try SlowView.terminateOthers(url)
            let afterKill = directoryListing(all)
            #expect(afterKill.filter(Self.isPartial).count == 1)
            #expect(!afterKill.contains("messages.csv"))
            let finished = afterKill.filter { $0.hasSuffix(".csv") }
            #expect(finished.sorted() == ["open-conversations.csv", "resolved-conversations.csv"], "\(afterKill)")
            for name in finished {
                let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: all.appendingPathComponent(name + ".manifest.json"))) as? [String: Any]
                #expect(manifest?["sha256"] as? String == sha256Hex(ofFile: all.appendingPathComponent(name).path))
            }
            try SlowView.setDelay(url, seconds: 0)
            let rerunAll = try runCLI(["export", "--all", "--quiet"] + Self.range + ["--output-dir", all.path], environment: environment)
            #expect(rerunAll.status == 0, "\(rerunAll.standardError)")
            for type in ExportType.all {
                #expect(Self.fileData(all.appendingPathComponent("\(type.slug).csv")) == Self.fileData(reference.appendingPathComponent("\(type.slug).csv")), "\(type.slug)")
            }
            #expect(directoryListing(all).filter { $0.hasSuffix(".csv") }.count == 12)
            Reliability.figure("export SIGKILL: single export and --all killed mid-stream (>= 128 KiB written): no file under the final name, one hidden partial each, re-runs byte-identical to the reference; SIGTERM: cancelled, nothing left")
        }

        @Test("the server stopped abruptly mid-export: exit 1, no file, no partial; after restart a re-run succeeds")
        func serverStoppedMidExport() throws {
            let cluster = try PrivateCluster()
            defer { cluster.destroy() }
            let url = try cluster.makeDatabase("export_stop")
            let (connection, reference) = try Self.loadedDatabase(url: url)
            try SlowView.install(connection, view: "messages", afterRows: try Self.pauseRow(reference), seconds: 60)
            connection.close()
            let directory = try TestSupport.temporaryDirectory()
            let output = directory.appendingPathComponent("messages.csv")
            let export = try CLIProcess(["export", "messages"] + Self.range + ["--output", output.path], environment: ["DATABASE_URL": url])
            _ = try Self.waitForPartial(in: directory, bytes: 128 * 1024, process: export)
            let stopped = Date()
            try cluster.stopImmediately()
            let status = export.wait(timeout: 30)
            #expect(status == 1, "\(export.standardError)")
            #expect(Date().timeIntervalSince(stopped) < 20)
            #expect(export.standardError.hasPrefix("inbox-warehouse: error:"), "\(export.standardError)")
            #expect(directoryListing(directory).isEmpty, "\(directoryListing(directory))")

            try cluster.restart()
            try SlowView.setDelay(url, seconds: 0)
            let rerun = try runCLI(["export", "messages"] + Self.range + ["--output", output.path, "--quiet"], environment: ["DATABASE_URL": url])
            #expect(rerun.status == 0, "\(rerun.standardError)")
            #expect(Self.fileData(output) == Self.fileData(reference.appendingPathComponent("messages.csv")))
            Reliability.figure("server immediate stop mid-export: exit 1 after \(String(format: "%.1f", export.seconds)) s, no file and no partial left; re-run after restart byte-identical")
        }

        @Test("disk full (a 64 KiB tmpfs, then room for the CSV but not its manifest): exit 1, no file under the final name")
        func diskFull() throws {
            let url = try TestServer.shared.makeDatabase()
            let (_, reference) = try Self.loadedDatabase(url: url)
            let environment = ["DATABASE_URL": url]
            let base = try Reliability.shortTemporaryDirectory("iwr-full")
            let mountPoint = base.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
            defer {
                _ = try? shell("umount '\(mountPoint.path)'")
                try? FileManager.default.removeItem(at: base)
            }
            func mount(_ options: String) throws {
                _ = try? shell("umount '\(mountPoint.path)'")
                let result = try shell("mount -t tmpfs -o \(options) tmpfs '\(mountPoint.path)'")
                try #require(result.status == 0, "this test needs to mount a small tmpfs (root): \(result.output)")
            }

            // 1. ENOSPC while streaming one export.
            try mount("size=64k")
            let output = mountPoint.appendingPathComponent("messages.csv")
            let single = try runCLI(["export", "messages"] + Self.range + ["--output", output.path], environment: environment)
            #expect(single.status == 1)
            #expect(single.standardError.contains("No space left on device"), "\(single.standardError)")
            #expect(single.standardError.split(separator: "\n").count == 1, "\(single.standardError)")
            #expect(directoryListing(mountPoint).isEmpty, "\(directoryListing(mountPoint))")

            // 2. --all into a full disk: fails; no partial is left; whatever file exists is complete.
            let all = try runCLI(["export", "--all"] + Self.range + ["--output-dir", mountPoint.path], environment: environment)
            #expect(all.status == 1)
            let leftovers = directoryListing(mountPoint)
            #expect(leftovers.filter(Self.isPartial).isEmpty, "\(leftovers)")
            for name in leftovers where name.hasSuffix(".csv") {
                #expect(Self.fileData(mountPoint.appendingPathComponent(name)) == Self.fileData(reference.appendingPathComponent(name)), "\(name)")
                #expect(leftovers.contains(name + ".manifest.json"), "\(name) has no manifest")
            }

            // 3. Room for the CSV but not for its manifest (one inode): the export fails and
            // leaves no CSV under the final name.
            try mount("size=16m,nr_inodes=2")
            let noManifest = try runCLI(["export", "messages"] + Self.range + ["--output", output.path], environment: environment)
            #expect(noManifest.status == 1)
            #expect(noManifest.standardError.contains("No space left on device"), "\(noManifest.standardError)")
            #expect(directoryListing(mountPoint).isEmpty, "a CSV without its manifest was left: \(directoryListing(mountPoint))")

            // 4. With room, the re-run succeeds.
            try mount("size=64m")
            let rerun = try runCLI(["export", "--all", "--quiet"] + Self.range + ["--output-dir", mountPoint.path], environment: environment)
            #expect(rerun.status == 0, "\(rerun.standardError)")
            for type in ExportType.all {
                #expect(Self.fileData(mountPoint.appendingPathComponent("\(type.slug).csv")) == Self.fileData(reference.appendingPathComponent("\(type.slug).csv")), "\(type.slug)")
            }
            Reliability.figure("disk full: ENOSPC mid-stream (64 KiB tmpfs), --all on a full disk, CSV fits but manifest does not (nr_inodes=2): exit 1, nothing under a final name without its manifest, no partial; re-run with room byte-identical")
        }
    }
}
