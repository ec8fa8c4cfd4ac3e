import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// The loader's per-line work and its signals (issue 10, break 2). See docs/reliability.md,
/// "Huge lines" and "Cancelling a load".
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
    }
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
