import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// The export-side breaks of the second reliability pass (issue 10): special files as
/// `--output`, the reader role, webhook delivery ids, file modes and name lengths, `--output-dir`
/// on a file, and the time zone accepted everywhere alike. Each test failed before its fix.
@Suite("Export path safety (reliability, second pass)")
struct ExportPathSafetyTests {
    /// The hand-checked teams export of the golden `paris` case, and a database holding its log.
    static func parisTeams() throws -> (connection: Connection, url: String, parameters: ExportParameters, expected: Data) {
        let (connection, url) = try TestSupport.freshDatabase()
        #expect(try Loader(connection: connection).load([.file(ExportTests.goldenLog)]).rejected == 0)
        let golden = try #require(try GoldenCase.all().first { $0.name == "paris" })
        let expected = try Data(contentsOf: TestSupport.fixture("golden/expected/paris/teams.csv"))
        return (connection, url, golden.parameters, expected)
    }

    static func fileType(_ path: String) -> mode_t? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mode & S_IFMT
    }

    // MARK: Break 3: special files as --output

    static let parisTeamsArguments = ["export", "teams", "--from", "2026-03-28", "--to", "2026-03-30", "--tz", "Europe/Paris",
                                      "--as-of", "2026-04-02T12:00:00Z", "--quiet"]

    @Test("a character device given as --output is written in place: never replaced, no manifest beside it")
    func characterDeviceWrittenInPlace() throws {
        let (_, url, _, _) = try Self.parisTeams()
        let directory = try TestSupport.temporaryDirectory()
        let device = directory.appendingPathComponent("null").path
        // A private copy of /dev/null (major 1, minor 3), so a regression cannot break the real one.
        try #require(mknod(device, S_IFCHR | 0o666, 0x0103) == 0, "mknod needs root: \(String(cString: strerror(errno)))")
        let result = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", device], environment: ["DATABASE_URL": url])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Self.fileType(device) == S_IFCHR, "the device was replaced")
        #expect(directoryListing(directory) == ["null"], "\(directoryListing(directory))")
    }

    @Test("a FIFO given as --output receives the export's exact bytes and stays a FIFO")
    func fifoWrittenInPlace() throws {
        let (_, url, _, expected) = try Self.parisTeams()
        let directory = try TestSupport.temporaryDirectory()
        let fifo = directory.appendingPathComponent("pipe").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let received = FIFOReader(path: fifo)
        let result = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", fifo], environment: ["DATABASE_URL": url])
        #expect(result.status == 0, "\(result.standardError)")
        // (A FIFO replaced by a file is never opened for writing: the reader then times out.)
        #expect(received.wait(timeout: 30) == expected)
        #expect(Self.fileType(fifo) == S_IFIFO, "the FIFO was replaced")
        #expect(directoryListing(directory) == ["pipe"], "\(directoryListing(directory))")
    }

    @Test("/dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N are the inherited descriptors, written in place")
    func standardStreamsWrittenInPlace() throws {
        #expect(try OutputTarget(path: "-") == .descriptor(1, name: "standard output"))
        #expect(try OutputTarget(path: "/dev/stdout") == .descriptor(1, name: "/dev/stdout"))
        #expect(try OutputTarget(path: "/dev/stderr") == .descriptor(2, name: "/dev/stderr"))
        #expect(try OutputTarget(path: "/proc/self/fd/7") == .descriptor(7, name: "/proc/self/fd/7"))
        #expect(!(try OutputTarget(path: "/dev/stdout")).hasManifest)

        // Through a real descriptor: a pipe this process holds, named /dev/fd/N.
        let (connection, _, parameters, expected) = try Self.parisTeams()
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let reader = FIFOReader(descriptor: ends[0])
        let manifest = try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("teams")!, parameters, to: "/dev/fd/\(ends[1])")
        close(ends[1])
        #expect(manifest == nil)
        #expect(reader.wait(timeout: 30) == expected)

        // Through the command line: the CSV goes to the command's standard error, nothing else
        // is written anywhere, and --help says so.
        let (_, url, _, _) = try Self.parisTeams()
        let result = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", "/dev/stderr"], environment: ["DATABASE_URL": url])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Data(result.standardError.utf8) == expected)
        #expect(Self.fileType("/dev/stderr") == S_IFLNK || Self.fileType("/dev/stderr") == S_IFCHR)
        #expect(!FileManager.default.fileExists(atPath: "/dev/stderr.manifest.json"))
        let help = try TestSupport.runCLI(["export", "--help"])
        #expect(help.standardOutput.contains("written in place"), "\(help.standardOutput)")
    }

    // MARK: Break 6: exports read as the least-privilege reader role

    /// Replaces the 9-column `export.tags` view by `select <expression>, '' ...` (readable by the
    /// reader, as the migrator makes every export view).
    static func replaceTagsView(_ connection: Connection, firstColumns: [String]) throws {
        let filler = (firstColumns.count..<9).map { "null::text as c\($0)" }
        try connection.execute("drop view export.tags")
        try connection.execute("create view export.tags as select \((firstColumns + filler).joined(separator: ", "))")
        try connection.execute("grant select on export.tags to inbox_warehouse_reader")
    }

    @Test("an export reads as inbox_warehouse_reader, and a write attempted from inside an export fails")
    func exportsRunAsReader() throws {
        let (connection, url, _, _) = try Self.parisTeams()
        let environment = ["DATABASE_URL": url]
        let arguments = ["export", "tags", "--from", "2026-03-28", "--to", "2026-03-30", "--as-of", "2026-04-02T12:00:00Z", "--quiet"]
        let directory = try TestSupport.temporaryDirectory()
        chmod(directory.path, 0o777)  // the server (user postgres) may write here if it is allowed to

        // 1. Who reads: the view reports the role in effect.
        try Self.replaceTagsView(connection, firstColumns: ["current_user::text as c0", "session_user::text as c1"])
        let who = directory.appendingPathComponent("who.csv").path
        let result = try TestSupport.runCLI(arguments + ["--output", who], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        let rows = try String(contentsOfFile: who, encoding: .utf8).split(separator: "\n")
        let sessionUser = try #require(try connection.execute("select session_user::text").scalar)
        #expect(rows.count == 2 && rows[1] == "inbox_warehouse_reader,\(sessionUser),,,,,,,", "\(rows)")

        // 2. A write from inside an export: a view whose function writes a server file with COPY
        // (allowed in a read-only transaction, but only to superusers and pg_write_server_files).
        let probe = directory.appendingPathComponent("written-by-export").path
        try connection.executeScript("""
            create function public.iw_write_probe(path text) returns text language plpgsql volatile as $$
            begin
                execute format('copy (select %L) to %L', 'written from inside an export', path);
                return 'wrote';
            end
            $$;
            """)
        try Self.replaceTagsView(connection, firstColumns: ["public.iw_write_probe(\(try connection.escapeLiteral(probe))) as c0"])
        let output = directory.appendingPathComponent("tags.csv").path
        let write = try TestSupport.runCLI(arguments + ["--output", output], environment: environment)
        #expect(write.status == 1, "\(write.standardError)")
        #expect(write.standardError.contains("SQLSTATE 42501"), "\(write.standardError)")
        #expect(!FileManager.default.fileExists(atPath: probe), "the export wrote a file on the server")
        #expect(!FileManager.default.fileExists(atPath: output))

        // The library says which role the transaction used.
        let exporter = Exporter(connection: connection, schemaVersion: 1)
        try Self.replaceTagsView(connection, firstColumns: ["current_user::text as c0"])
        let parameters = try #require(try GoldenCase.all().first { $0.name == "utc" }).parameters
        try exporter.export(ExportType.named("tags")!, parameters, to: directory.appendingPathComponent("lib.csv").path)
        #expect(exporter.runsAsReader)
    }

    // MARK: Break 7: one webhook delivery id per distinct event

    @Test("a job that fails and then succeeds sends two deliveries with distinct ids; a retried POST keeps its id")
    func webhookDeliveryIDs() throws {
        let (_, url) = try SchedulingTests.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        let now = "2026-03-30T12:00:00+02:00"
        let secret = "s3cret-\(UUID().uuidString)"
        // The failure event is accepted at once; the success event's first POST gets a 503.
        let server = try SchedulingWebhookServer(statuses: [200, 503, 200])
        defer { server.stop() }
        let environment = ["DATABASE_URL": url, "INBOX_WAREHOUSE_WEBHOOK_SECRET": secret]
        let add = try TestSupport.runCLI(["schedule", "add", "--name", "hooked", "--type", "messages", "--frequency", "daily",
                                          "--tz", "Europe/Paris", "--destination", destination.path, "--start", "2026-03-29", "--now", now],
                                         environment: environment)
        try #require(add.status == 0, "\(add.standardError)")
        let runDue = ["schedule", "run-due", "--now", now, "--webhook-url", server.url, "--retry-delay", "0.05", "--quiet"]

        // 1. The job fails: its type folder cannot be created (a file is in the way).
        let blocker = destination.appendingPathComponent("messages")
        try Data("in the way\n".utf8).write(to: blocker)
        let failed = try TestSupport.runCLI(runDue, environment: environment)
        #expect(failed.status == 1, "\(failed.standardError)")
        // 2. The next run retries the job, which succeeds.
        try FileManager.default.removeItem(at: blocker)
        let succeeded = try TestSupport.runCLI(runDue, environment: environment)
        #expect(succeeded.status == 0, "\(succeeded.standardError)")

        let requests = server.requests
        try #require(requests.count == 3, "\(requests.map(\.headers))")
        let ids = requests.map { $0.headers["x-inbox-warehouse-delivery"] ?? "" }
        let attempts = requests.map { $0.headers["x-inbox-warehouse-attempt"] ?? "" }
        let states = try requests.map { try #require(try JSONSerialization.jsonObject(with: $0.body) as? [String: Any])["state"] as? String }
        #expect(states == ["failed", "succeeded", "succeeded"])
        #expect(ids[0] != ids[1], "the failure and the success share the delivery id \(ids[0])")
        #expect(ids[1] == ids[2], "a retried POST must keep its delivery id: \(ids)")
        #expect(attempts == ["1", "1", "2"])
        #expect(ids.allSatisfy { !$0.isEmpty })
    }

    // MARK: Smaller ones: file modes, name lengths, --output-dir on a file

    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    @Test("exports and manifests are 0640, whatever the umask; the partial file is 0600 while written")
    func exportFileModes() throws {
        let (_, url, _, _) = try Self.parisTeams()
        let directory = try TestSupport.temporaryDirectory()
        let output = directory.appendingPathComponent("teams.csv").path
        let result = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", output], environment: ["DATABASE_URL": url])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Self.mode(output) == 0o640)
        #expect(Self.mode(output + ".manifest.json") == 0o640)

        // While it is written, the file is private.
        let file = try AtomicOutputFile(finalPath: directory.appendingPathComponent("private.csv").path)
        let partial = try #require(directoryListing(directory).first { $0.hasSuffix(".partial") })
        #expect(Self.mode(directory.appendingPathComponent(partial).path) == 0o600)
        file.discard()
        #expect(!directoryListing(directory).contains(partial))
    }

    @Test("SFTP staging: the export and the batch file wait in 0700 directories that are removed afterwards")
    func sftpStagingIsPrivate() throws {
        let (_, url) = try SchedulingTests.loadedDatabase()
        let work = try TestSupport.temporaryDirectory()
        let log = work.appendingPathComponent("sftp.log").path
        // A stand-in for sftp: records the mode of every local file it is asked to put, of the
        // batch file and of their directories, then succeeds.
        let program = work.appendingPathComponent("fake-sftp").path
        try """
            #!/bin/sh
            batch="$2"
            stat -c '%a batch-dir' "$(dirname "$batch")" >> '\(log)'
            stat -c '%a batch' "$batch" >> '\(log)'
            grep '^put ' "$batch" | sed -e 's/^put "\\([^"]*\\)".*/\\1/' | while read -r file; do
                stat -c '%a staging-dir' "$(dirname "$file")" >> '\(log)'
                stat -c '%a staged' "$file" >> '\(log)'
                echo "$(dirname "$file")" >> '\(log).dirs'
                echo "$(dirname "$batch")" >> '\(log).dirs'
            done
            exit 0
            """.write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        let now = "2026-03-30T12:00:00+02:00"
        let environment = ["DATABASE_URL": url, "INBOX_WAREHOUSE_SFTP_PROGRAM": program]
        let add = try TestSupport.runCLI(["schedule", "add", "--name", "to-sftp", "--type", "messages", "--frequency", "daily",
                                          "--tz", "Europe/Paris", "--destination", "sftp://exports@127.0.0.1/~/incoming",
                                          "--start", "2026-03-29", "--now", now], environment: environment)
        try #require(add.status == 0, "\(add.standardError)")
        let run = try TestSupport.runCLI(["schedule", "run-due", "--now", now, "--quiet"], environment: environment)
        #expect(run.status == 0, "\(run.standardError)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasSuffix("-dir") }.allSatisfy { $0.hasPrefix("700 ") }, "\(lines)")
        #expect(lines.contains("600 batch"), "\(lines)")
        #expect(lines.filter { $0.hasSuffix("staged") }.count == 2, "\(lines)")  // the CSV and its manifest
        #expect(lines.filter { $0.hasSuffix("staged") }.allSatisfy { $0.hasPrefix("640 ") || $0.hasPrefix("600 ") }, "\(lines)")
        let directories = Set(try String(contentsOfFile: log + ".dirs", encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(directories.count == 2)
        for directory in directories {
            #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
        }
    }

    @Test("a 240-byte --output name works (the temporary name stays within 255 bytes); one whose manifest cannot fit is a clear error")
    func longOutputNames() throws {
        let (_, url, _, expected) = try Self.parisTeams()
        let directory = try TestSupport.temporaryDirectory()
        let name = String(repeating: "é", count: 118) + ".csv"  // 240 bytes in UTF-8
        #expect(name.utf8.count == 240)
        let output = directory.appendingPathComponent(name).path
        let result = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", output], environment: ["DATABASE_URL": url])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(FileManager.default.contents(atPath: output) == expected)
        #expect(FileManager.default.fileExists(atPath: output + ".manifest.json"))

        let tooLong = directory.appendingPathComponent(String(repeating: "x", count: 246) + ".csv").path  // 250 bytes
        let refused = try TestSupport.runCLI(Self.parisTeamsArguments + ["--output", tooLong], environment: ["DATABASE_URL": url])
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("inbox-warehouse: error: the output file name is 250 bytes long"), "\(refused.standardError)")
        #expect(directoryListing(directory) == [name, name + ".manifest.json"])
    }

    @Test("--output-dir naming an existing file is a one-line error, not a Foundation error dump")
    func outputDirectoryOnAFile() throws {
        let (_, url, _, _) = try Self.parisTeams()
        let file = try TestSupport.temporaryDirectory().appendingPathComponent("a-file")
        try Data("x\n".utf8).write(to: file)
        let result = try TestSupport.runCLI(["export", "--all", "--from", "2026-03-28", "--to", "2026-03-30", "--as-of", "2026-04-02T12:00:00Z",
                                             "--output-dir", file.path], environment: ["DATABASE_URL": url])
        #expect(result.status == 1)
        #expect(result.standardError == "inbox-warehouse: error: --output-dir \(file.path) exists and is not a directory\n", "\(result.standardError)")
        #expect(FileManager.default.contents(atPath: file.path) == Data("x\n".utf8))
    }

    // MARK: One resolver for the parameters

    @Test("--tz europe/paris: export, schedule add and set_parameters all resolve it to Europe/Paris, through one resolver")
    func timeZoneResolvedOnce() throws {
        let (connection, url, _, expected) = try Self.parisTeams()
        let environment = ["DATABASE_URL": url]
        let directory = try TestSupport.temporaryDirectory()
        let output = directory.appendingPathComponent("teams.csv").path
        var arguments = Self.parisTeamsArguments
        arguments[arguments.firstIndex(of: "Europe/Paris")!] = "europe/paris"
        let export = try TestSupport.runCLI(arguments + ["--output", output], environment: environment)
        #expect(export.status == 0, "\(export.standardError)")
        #expect(FileManager.default.contents(atPath: output) == expected, "the bytes of the hand-checked Paris export")
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: output + ".manifest.json")))
        #expect(manifest.parameters.timeZone == "Europe/Paris")

        let add = try TestSupport.runCLI(["schedule", "add", "--name", "lower", "--type", "teams", "--frequency", "daily", "--tz", "europe/paris",
                                          "--destination", directory.path], environment: environment)
        #expect(add.status == 0, "\(add.standardError)")
        #expect(try connection.execute("select time_zone from warehouse.export_schedules where name = 'lower'").scalar == "Europe/Paris")

        try connection.execute("select export.set_parameters(from_date => '2026-03-28', to_date => '2026-03-30', time_zone => 'europe/paris')")
        #expect(try connection.execute("select export.time_zone()").scalar == "Europe/Paris")

        // An unknown zone: psql users and the command line get the same message, from the same code.
        let sqlMessage: String
        do {
            try connection.execute("select export.set_parameters(from_date => '2026-03-28', to_date => '2026-03-30', time_zone => 'Mars/Olympus')")
            Issue.record("set_parameters accepted Mars/Olympus")
            return
        } catch let error as PostgresError {
            #expect(error.sqlState == .invalidParameterValue)
            sqlMessage = error.message
        }
        arguments[arguments.firstIndex(of: "europe/paris")!] = "Mars/Olympus"
        let refused = try TestSupport.runCLI(arguments + ["--output", output + ".2"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.standardError == "inbox-warehouse: error: \(sqlMessage)\n")
        #expect(sqlMessage == "unknown time zone \"Mars/Olympus\" (use an IANA name such as Europe/Paris)")
    }
}

/// Reads a FIFO (or a descriptor) to its end on a thread of its own.
final class FIFOReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    convenience init(path: String) {
        self.init(opening: { open(path, O_RDONLY) })
    }

    convenience init(descriptor: Int32) {
        self.init(opening: { descriptor })
    }

    private init(opening: @escaping @Sendable () -> Int32) {
        let thread = Thread { [self] in
            let descriptor = opening()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while descriptor >= 0 {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                data.append(contentsOf: buffer[0..<count])
            }
            if descriptor >= 0 { close(descriptor) }
            done.signal()
        }
        thread.start()
    }

    /// Everything read, once the writer closed its end; nil if that takes longer than `timeout`.
    func wait(timeout: TimeInterval) -> Data? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return data
    }
}
