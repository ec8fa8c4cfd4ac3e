import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// The loader's per-line work, its signals and its `--rejects` output (issue 10, breaks 2 to 4
/// and the strict spool of standard input). See docs/reliability.md, "Huge lines", "Cancelling a
/// load", "`--rejects` on special files", "`--rejects` write errors" and "Standard input spool".
extension ReliabilityTests {
    @Suite("Reliability: loader lines, signals and outputs")
    struct LoaderIO {
        /// The first bytes of a rejected line kept in `warehouse.load_rejects` and `--rejects`.
        static let keptBytes = 65_536

        static func sha256(of data: Data) throws -> String {
            let path = try TestSupport.temporaryDirectory().appendingPathComponent("line").path
            try data.write(to: URL(fileURLWithPath: path))
            return try sha256OfFile(path).hash
        }

        static func combiningMarks(_ count: Int) -> String {
            // Alternating combining classes (230, 220): normalizing such a run sorts it.
            String(repeating: "\u{0301}\u{0316}", count: count / 2)
        }

        @Test("huge and hostile lines are handled in linear time; a reject keeps a bounded prefix, the length and the sha256 of its line")
        func hugeLinesAreLinear() throws {
            let url = try TestServer.shared.makeDatabase()
            let directory = try TestSupport.temporaryDirectory()

            // 1. One plain file of single hostile lines, each followed by a valid line.
            let nuls = Data(count: 1_000_000)
            let marks = Self.combiningMarks(1_000_000)
            let extraMembers = (0..<200_000).map { "\"x\($0)\":\($0)" }.joined(separator: ",")
            let cases: [(name: String, line: Data, reason: String?)] = [
                ("1,000,000 NUL bytes", nuls, "not valid JSON"),
                ("1,000,000 bytes 0xFF", Data(repeating: 0xFF, count: 1_000_000), "not valid UTF-8"),
                ("500,000 NULs each followed by a combining mark", Data(String(repeating: "\u{0000}\u{0301}", count: 500_000).utf8), "not valid JSON"),
                ("a type of 1,000,000 combining marks", Data(#"{"type":"t\#(marks)","id":"x"}"#.utf8), "unknown type"),
                ("a closed enumeration value of 1,000,000 combining marks",
                 Data(#"{"type":"agent","id":"a-marks","name":"x","kind":"H\#(marks)"}"#.utf8), "outside HUMAN, VIRTUAL"),
                ("an unknown member name of 1,000,000 combining marks",
                 Data(#"{"type":"tag","id":"t-marks","name":"x","k\#(marks)":1,"k":2}"#.utf8), nil),
                ("200,000 unknown members", Data(#"{"type":"tag","id":"t-members","name":"x",\#(extraMembers)}"#.utf8), nil),
            ]
            var log = Data()
            var expectedRejects: [Int: (reason: String, line: Data)] = [:]
            for (index, item) in cases.enumerated() {
                log.append(item.line); log.append(0x0A)
                if let reason = item.reason { expectedRejects[2 * index + 1] = (reason, item.line) }
                log.append(Data(#"{"type":"tag","id":"after-\#(index)","name":"the line after still loads"}"#.utf8)); log.append(0x0A)
            }
            let path = directory.appendingPathComponent("hostile.ndjson")
            try log.write(to: path)
            let run = try runCLI(["load", "--json", "--rejects", directory.appendingPathComponent("rejects.ndjson").path, path.path],
                                 environment: ["DATABASE_URL": url], timeout: 60)
            try #require(run.status != nil, "the load of \(cases.count) hostile lines ran past 60 s (killed)")
            #expect(run.status == 2, "\(run.standardError)")
            #expect(run.seconds < 15, "the load of \(cases.count) hostile lines took \(run.seconds) s")

            let connection = try Connection(conninfo: url)
            let rejects = try connection.execute("""
                select line_number, reason, octet_length(raw), octet_length(raw_bytes), encode(coalesce(raw_bytes, convert_to(raw, 'UTF8')), 'hex')
                from warehouse.load_rejects order by line_number
                """)
            #expect(rejects.rowCount == expectedRejects.count)
            for row in 0..<rejects.rowCount {
                let line = Int(rejects.value(row, 0) ?? "") ?? -1
                guard let expected = expectedRejects[line] else {
                    Issue.record("unexpected reject on line \(line): \(rejects.value(row, 1) ?? "")")
                    continue
                }
                let reason = rejects.value(row, 1) ?? ""
                #expect(reason.contains(expected.reason), "line \(line): \(reason.prefix(200))")
                #expect(reason.utf8.count < 2_000, "line \(line): a reason of \(reason.utf8.count) bytes")
                // Every hostile line is longer than the kept prefix: the reason names its length and hash.
                let hash = try Self.sha256(of: expected.line)
                #expect(reason.contains("line of \(expected.line.count) bytes, sha256 \(hash)"), "line \(line): \(reason.prefix(300))")
                let stored = bytesFromHex(rejects.value(row, 4) ?? "")
                #expect(stored.count <= Self.keptBytes && stored.count > Self.keptBytes - 4, "line \(line): kept \(stored.count) bytes")
                #expect(expected.line.starts(with: stored), "line \(line): the kept bytes are the line's first bytes")
            }
            #expect(try connection.execute("select count(*) from inbox.tags where tag_id like 'after-%'").scalar == String(cases.count))
            #expect(try connection.execute("select count(*) from jsonb_object_keys((select extra from inbox.tags where tag_id = 't-members'))").scalar == "200000")
            #expect(try connection.execute("select extra->>'k' from inbox.tags where tag_id = 't-marks'").scalar == "2")

            // 2. A small .gz holding three lines of 65 MiB of NULs (each past the 64 MiB line limit).
            let big = 65 * 1_048_576
            let gz = directory.appendingPathComponent("zeros.ndjson.gz").path
            let made = try shell("{ for i in 1 2 3; do head -c \(big) /dev/zero; echo; done; echo '{\"type\":\"tag\",\"id\":\"after-zeros\",\"name\":\"x\"}'; } | gzip -1 > '\(gz)'")
            try #require(made.status == 0, "\(made.output)")
            let gzURL = try TestServer.shared.makeDatabase()
            let gzRun = try runCLI(["load", "--json", gz], environment: ["DATABASE_URL": gzURL], timeout: 120)
            try #require(gzRun.status != nil, "the load of three 65 MiB NUL lines ran past 120 s (killed)")
            #expect(gzRun.status == 2, "\(gzRun.standardError)")
            #expect(gzRun.seconds < 20, "three 65 MiB NUL lines took \(gzRun.seconds) s")
            let zeroHash = try Self.sha256(of: Data(count: big))
            let gzConnection = try Connection(conninfo: gzURL)
            let gzRejects = try gzConnection.execute("select line_number, reason, octet_length(raw_bytes) from warehouse.load_rejects order by 1")
            #expect(gzRejects.rows.map { $0[0] } == ["1", "2", "3"])
            for row in gzRejects.rows {
                let reason = row[1] ?? ""
                #expect(reason.hasPrefix("line longer than \(LineReader.defaultMaximumLineBytes) bytes"), "\(reason)")
                #expect(reason.contains("line of \(big) bytes, sha256 \(zeroHash)"), "\(reason)")
                #expect(row[2] == String(Self.keptBytes))
            }
            #expect(try gzConnection.execute("select count(*) from inbox.tags where tag_id = 'after-zeros'").scalar == "1")
            Reliability.figure("huge lines: \(cases.count) hostile lines (1M NULs, 1M 0xFF, NUL+combining marks, 1M combining marks in a type, an enumeration and a member name, 200,000 members) loaded in \(String(format: "%.2f", run.seconds)) s; three 65 MiB NUL lines in a \(((try? FileManager.default.attributesOfItem(atPath: gz)[.size] as? Int) ?? 0) / 1024) KiB .gz in \(String(format: "%.2f", gzRun.seconds)) s")
        }

        @Test("a canonically equivalent spelling of an enumeration value (KELVIN SIGN for K) is a reject, not a failed load")
        func kelvinSignIsRejected() throws {
            let url = try TestServer.shared.makeDatabase()
            let log = try TestSupport.writeLog([
                #"{"type":"status_change","id":"s-1","conversation_id":"cv-1","at":"2026-03-01T09:00:00Z","status":"RESOLVED","resolved_by":"BUL\u212a"}"#,
                #"{"type":"status_change","id":"s-2","conversation_id":"cv-1","at":"2026-03-01T09:00:00Z","status":"RESOLVED","resolved_by":"BULK"}"#,
            ])
            let run = try runCLI(["load", "--quiet", log], environment: ["DATABASE_URL": url])
            #expect(run.status == 2, "\(run.standardError)")
            let connection = try Connection(conninfo: url)
            #expect(try connection.execute("select line_number, reason like '%outside AGENT, VIRTUAL_AGENT, BULK, SYSTEM' from warehouse.load_rejects").rows == [["1", "t"]])
            #expect(try connection.execute("select status_change_id, resolved_by from inbox.status_changes").rows == [["s-2", "BULK"]])
        }

        @Test("SIGTERM inside a long line that is still arriving stops the load promptly with exit 1")
        func cancelInsideLongLine() throws {
            let url = try TestServer.shared.makeDatabase()
            let process = try PipedCLI(["load", "-"], environment: ["DATABASE_URL": url])
            defer { process.killIfRunning() }
            // A few valid lines, then the start of a line of 16 MiB that never ends: once the
            // write returns, the loader has read all but a pipe's buffer of it.
            try process.write(Data((#"{"type":"tag","id":"t-1","name":"x"}"# + "\n").utf8))
            try process.write(Data(#"{"type":"message","id":"m-1","content":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 16 * 1_048_576))
            let signalled = Date()
            process.signal(SIGTERM)
            let status = process.wait(timeout: 10)
            let seconds = Date().timeIntervalSince(signalled)
            try #require(status != nil, "the loader did not stop within 10 s of SIGTERM (killed)")
            #expect(status == 1, "\(process.standardError)")
            #expect(seconds < 3, "stopped \(seconds) s after SIGTERM")
            #expect(process.standardError.contains("cancelled"), "\(process.standardError)")
            // The ledger says what happened; the batch in progress was not committed.
            let connection = try Connection(conninfo: url)
            #expect(try connection.execute("select status, error like 'cancelled%' from warehouse.loads").rows == [["failed", "t"]])
            #expect(try connection.execute("select count(*) from inbox.tags").scalar == "0")
            Reliability.figure("cancel inside a long line: exit 1 \(String(format: "%.2f", seconds)) s after SIGTERM, 16 MiB into a line still arriving on standard input")
        }

        /// A log with 3 rejects among 4 valid lines.
        static func smallLogWithRejects() throws -> String {
            try TestSupport.writeLog([
                #"{"type":"tag","id":"t-1","name":"one"}"#,
                #"{"type":"tag","id":""}"#,
                #"{"type":"tag","id":"t-2","name":"two"}"#,
                #"not json"#,
                #"{"type":"tag","id":"t-3","name":"three"}"#,
                #"{"type":"ticket"}"#,
                #"{"type":"tag","id":"t-4","name":"four"}"#,
            ])
        }

        static func fileType(_ path: String, follow: Bool = false) -> (type: mode_t, rdev: UInt)? {
            var info = stat()
            guard (follow ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
            return (info.st_mode & S_IFMT, UInt(info.st_rdev))
        }

        static func rejectLines(_ text: String) -> [String] {
            text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{\"source\":") }
        }

        @Test("--rejects writes FIFOs, character devices, symlinks and the standard streams in place; it never replaces them")
        func rejectsToSpecialFiles() throws {
            try #require(geteuid() == 0, "this test creates device nodes (mknod) and needs root")
            let url = try TestServer.shared.makeDatabase()
            let log = try Self.smallLogWithRejects()
            let directory = try Reliability.shortTemporaryDirectory("iwr-rej")
            defer { try? FileManager.default.removeItem(at: directory) }
            func load(_ rejects: String) throws -> (status: Int32?, standardOutput: String, standardError: String, seconds: TimeInterval) {
                try runCLI(["load", "--rejects", rejects, log], environment: ["DATABASE_URL": url], timeout: 30)
            }

            // A FIFO, read by another process.
            let fifo = directory.appendingPathComponent("fifo").path
            try #require(mkfifo(fifo, 0o600) == 0)
            let received = directory.appendingPathComponent("received").path
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/sh")
            reader.arguments = ["-c", "exec cat \"$0\" > \"$1\"", fifo, received]
            try reader.run()
            let fifoRun = try load(fifo)
            var waited = 0
            while reader.isRunning && waited < 100 { usleep(50_000); waited += 1 }
            let readerFinished = !reader.isRunning
            if !readerFinished { kill(reader.processIdentifier, SIGKILL) }
            reader.waitUntilExit()
            #expect(fifoRun.status == 2, "\(fifoRun.standardError)")
            #expect(readerFinished, "the FIFO's reader never saw the end of the rejects")
            #expect(Self.fileType(fifo)?.type == S_IFIFO, "the FIFO was replaced")
            #expect(Self.rejectLines((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").count == 3)

            // A character device node of our own: the same device as /dev/null (1, 3).
            let null = directory.appendingPathComponent("null").path
            try #require(mknod(null, S_IFCHR | 0o666, deviceNumber(1, 3)) == 0, "mknod: \(String(cString: strerror(errno)))")
            let nullRun = try load(null)
            #expect(nullRun.status == 2, "\(nullRun.standardError)")
            #expect(Self.fileType(null)?.type == S_IFCHR && Self.fileType(null)?.rdev == UInt(deviceNumber(1, 3)), "the device node was replaced")

            // A symlink to a regular file: followed (the file is truncated), the link stays.
            let target = directory.appendingPathComponent("target.ndjson").path
            try Data(String(repeating: "previous content\n", count: 1000).utf8).write(to: URL(fileURLWithPath: target))
            let link = directory.appendingPathComponent("link.ndjson").path
            try #require(symlink(target, link) == 0)
            let linkRun = try load(link)
            #expect(linkRun.status == 2, "\(linkRun.standardError)")
            #expect(Self.fileType(link)?.type == S_IFLNK, "the symlink was replaced")
            let targetText = (try? String(contentsOfFile: target, encoding: .utf8)) ?? ""
            #expect(Self.rejectLines(targetText).count == 3 && !targetText.contains("previous content"), "\(targetText.prefix(200))")

            // A dangling symlink is refused: its target is not created through it.
            let dangling = directory.appendingPathComponent("dangling.ndjson").path
            let missing = directory.appendingPathComponent("missing.ndjson").path
            try #require(symlink(missing, dangling) == 0)
            let danglingRun = try load(dangling)
            #expect(danglingRun.status == 1, "\(danglingRun.standardError)")
            #expect(Self.fileType(dangling)?.type == S_IFLNK && Self.fileType(missing) == nil)

            // A link of our own to the process's standard error, as /dev/stderr is.
            let errorLink = directory.appendingPathComponent("stderr").path
            try #require(symlink("/proc/self/fd/2", errorLink) == 0)
            let errorRun = try load(errorLink)
            #expect(errorRun.status == 2, "\(errorRun.standardError)")
            #expect(Self.fileType(errorLink)?.type == S_IFLNK, "the link to standard error was replaced")
            #expect(Self.rejectLines(errorRun.standardError).count == 3, "\(errorRun.standardError)")
            #expect(errorRun.standardError.contains("rejects are kept in warehouse.load_rejects"), "the summary on the same stream is kept")

            // A block device is refused, untouched.
            let block = directory.appendingPathComponent("block").path
            try #require(mknod(block, S_IFBLK | 0o600, deviceNumber(7, 250)) == 0, "mknod: \(String(cString: strerror(errno)))")
            let blockRun = try load(block)
            #expect(blockRun.status == 1, "\(blockRun.standardError)")
            #expect(blockRun.standardError.contains("block device"), "\(blockRun.standardError)")
            #expect(Self.fileType(block)?.type == S_IFBLK, "the block device node was replaced")

            // Only once the private nodes are known to be safe: the real /dev/null and /dev/stderr.
            try #require(Self.fileType(null)?.type == S_IFCHR && Self.fileType(errorLink)?.type == S_IFLNK,
                         "not trying the system's /dev/null and /dev/stderr: the private ones were replaced")
            let devNull = try load("/dev/null")
            #expect(devNull.status == 2, "\(devNull.standardError)")
            #expect(Self.fileType("/dev/null")?.type == S_IFCHR && Self.fileType("/dev/null")?.rdev == UInt(deviceNumber(1, 3)))
            let stderrBefore = Self.fileType("/dev/stderr")
            let devStderr = try load("/dev/stderr")
            #expect(devStderr.status == 2, "\(devStderr.standardError)")
            #expect(Self.rejectLines(devStderr.standardError).count == 3, "\(devStderr.standardError)")
            #expect(Self.fileType("/dev/stderr")?.type == stderrBefore?.type)
            Reliability.figure("--rejects on special files: FIFO, character device node, symlink to a file, link to /proc/self/fd/2, /dev/null and /dev/stderr written in place, none replaced; a block device refused (exit 1)")
        }

        @Test("a write error of --rejects (full file system, /dev/full) fails the load with exit 1; every reject is still in warehouse.load_rejects")
        func rejectsWriteErrorsFail() throws {
            try #require(geteuid() == 0, "this test mounts a small tmpfs and creates a device node: it needs root")
            let url = try TestServer.shared.makeDatabase()
            // 400 rejects (about 60 KiB of --rejects lines) and 100 valid lines.
            var lines: [String] = []
            for index in 0..<500 {
                lines.append(index % 5 == 0
                    ? #"{"type":"tag","id":"t-\#(index)","name":"valid"}"#
                    : #"{"type":"tag","id":"t-\#(index)","name":"not a boolean","active":"yes"}"#)
            }
            let log = try TestSupport.writeLog(lines)
            let base = try Reliability.shortTemporaryDirectory("iwr-rejfull")
            let mountPoint = base.appendingPathComponent("small")
            try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
            defer {
                _ = try? shell("umount '\(mountPoint.path)'")
                try? FileManager.default.removeItem(at: base)
            }
            let mounted = try shell("mount -t tmpfs -o size=16k tmpfs '\(mountPoint.path)'")
            try #require(mounted.status == 0, "this test needs to mount a small tmpfs (root): \(mounted.output)")

            let rejectsPath = mountPoint.appendingPathComponent("rejects.ndjson").path
            let run = try runCLI(["load", "--rejects", rejectsPath, log], environment: ["DATABASE_URL": url], timeout: 60)
            #expect(run.status == 1, "\(run.standardError)")
            #expect(run.standardError.contains("No space left on device"), "\(run.standardError)")
            #expect(run.standardError.contains("warehouse.load_rejects"), "\(run.standardError)")
            #expect(!run.standardError.contains("kept in warehouse.load_rejects and"), "the message must not claim the file holds the rejects")
            let connection = try Connection(conninfo: url)
            #expect(try connection.execute("select count(*) from warehouse.load_rejects").scalar == "400")
            #expect(try connection.execute("select count(*) from inbox.tags").scalar == "100")
            // What the file holds is whole lines only.
            let written = (try? Data(contentsOf: URL(fileURLWithPath: rejectsPath))) ?? Data()
            #expect(written.isEmpty || written.last == 0x0A, "the rejects file ends mid-line")
            for line in written.split(separator: 0x0A) {
                #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil, "a cut line: \(String(decoding: line, as: UTF8.self).prefix(80))")
            }

            // A character device that fails every write: a node of our own for /dev/full (1, 7).
            let full = base.appendingPathComponent("full").path
            try #require(mknod(full, S_IFCHR | 0o666, deviceNumber(1, 7)) == 0, "mknod: \(String(cString: strerror(errno)))")
            let fullURL = try TestServer.shared.makeDatabase()
            let fullRun = try runCLI(["load", "--rejects", full, log], environment: ["DATABASE_URL": fullURL], timeout: 60)
            #expect(fullRun.status == 1, "\(fullRun.standardError)")
            #expect(fullRun.standardError.contains("No space left on device"), "\(fullRun.standardError)")
            #expect(fullRun.standardError.contains("warehouse.load_rejects"), "\(fullRun.standardError)")
            #expect(Self.fileType(full)?.type == S_IFCHR)
            #expect(try ReliabilityDatabase.scalar(fullURL, "select count(*) from warehouse.load_rejects") == "400")
            Reliability.figure("--rejects write errors: 400 rejects into a 16 KiB tmpfs and into a /dev/full node: exit 1 naming warehouse.load_rejects, all 400 rejects and 100 records stored, only whole lines in the file (\(written.split(separator: 0x0A).count) lines)")
        }

        @Test("load --strict - spools standard input to a private (0600) file that is unlinked at once: nothing remains after kill -9")
        func strictSpoolIsPrivate() throws {
            let url = try TestServer.shared.makeDatabase()
            let temporary = try TestSupport.temporaryDirectory()
            let environment = ["DATABASE_URL": url, "TMPDIR": temporary.path]

            // A complete run: loads, leaves nothing.
            let complete = try PipedCLI(["load", "--strict", "--quiet", "-"], environment: environment)
            try complete.write(Data((#"{"type":"tag","id":"t-1","name":"x"}"# + "\n").utf8))
            complete.closeInput()
            #expect(complete.wait(timeout: 30) == 0, "\(complete.standardError)")
            #expect(directoryListing(temporary).isEmpty, "\(directoryListing(temporary))")

            // Killed while spooling: find the spool among the process's descriptors.
            let process = try PipedCLI(["load", "--strict", "-"], environment: environment)
            defer { process.killIfRunning() }
            try process.write(Data((#"{"type":"tag","id":"t-2","name":"x"}"# + "\n").utf8))
            var spool: (link: String, mode: mode_t)?
            let deadline = Date().addingTimeInterval(15)
            while spool == nil && Date() < deadline {
                for entry in directoryListing(URL(fileURLWithPath: "/proc/\(process.pid)/fd")) {
                    let fd = "/proc/\(process.pid)/fd/\(entry)"
                    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: fd), link.hasPrefix(temporary.path) else { continue }
                    var info = stat()
                    if stat(fd, &info) == 0 { spool = (link, info.st_mode & 0o7777) }
                }
                if spool == nil { usleep(50_000) }
            }
            try #require(spool != nil, "no spool file of the loader found under \(temporary.path)")
            #expect(spool?.mode == 0o600, "spool mode \(String(spool?.mode ?? 0, radix: 8))")
            #expect(spool?.link.hasSuffix(" (deleted)") == true, "the spool has a name: \(spool?.link ?? "")")
            process.signal(SIGKILL)
            _ = process.wait(timeout: 10)
            #expect(directoryListing(temporary).isEmpty, "left after kill -9: \(directoryListing(temporary))")
            Reliability.figure("strict spool of standard input: mode \(String(spool?.mode ?? 0, radix: 8)), unlinked while in use, nothing left after kill -9")
        }
    }
}

/// Linux's dev_t of a major and minor device number (glibc's makedev is a macro).
func deviceNumber(_ major: UInt64, _ minor: UInt64) -> dev_t {
    dev_t((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32))
}

/// The CLI with a pipe on its standard input (CLIProcess reads /dev/null).
final class PipedCLI {
    private let process = Process()
    private let input = Pipe()
    private let errorPath: String

    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = TestSupport.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        for (key, value) in environment { env[key] = value }
        env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.repositoryRoot.appendingPathComponent("sql").path
        process.environment = env
        errorPath = try TestSupport.temporaryDirectory().appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = input
        // A loader that exits early closes the pipe: report that as a failed write, not a crash.
        Glibc.signal(SIGPIPE, SIG_IGN)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func write(_ data: Data) throws { try input.fileHandleForWriting.write(contentsOf: data) }
    func closeInput() { try? input.fileHandleForWriting.close() }
    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// The exit status, or nil when the process ran past `timeout` (it is then killed).
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            usleep(20_000)
        }
        return process.terminationStatus
    }

    func killIfRunning() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        closeInput()
    }

    var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// The bytes of a hexadecimal string (PostgreSQL's `encode(..., 'hex')`).
func bytesFromHex(_ text: String) -> Data {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count / 2)
    var high: UInt8?
    for character in text.utf8 {
        let value: UInt8 = character <= 0x39 ? character - 0x30 : (character | 0x20) - 0x61 + 10
        if let first = high { bytes.append(first << 4 | value); high = nil } else { high = value }
    }
    return Data(bytes)
}
