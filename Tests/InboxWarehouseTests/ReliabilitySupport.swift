import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// The reliability and security suite (docs/reliability.md). Every test in it runs one at a time
/// (`.serialized`), because several kill processes or stop servers at chosen moments and must
/// not compete with each other for the two cores of a CI machine.
///
/// `INBOX_WAREHOUSE_FULL_RELIABILITY=1` runs the full counts (kill points, fuzz lines, injections);
/// the default is a reduced but real count that keeps the suite within a few minutes.
@Suite("Reliability", .serialized)
struct ReliabilityTests {}

enum Reliability {
    static let isFull: Bool = {
        let value = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_FULL_RELIABILITY"] ?? ""
        return !value.isEmpty && value != "0"
    }()

    /// `ci` by default, `full` with INBOX_WAREHOUSE_FULL_RELIABILITY=1.
    static func count(ci: Int, full: Int) -> Int { isFull ? full : ci }

    /// Prints one figure line (collected into docs/reliability.md).
    static func figure(_ text: String) {
        print("RELIABILITY-FIGURE [\(isFull ? "full" : "ci")] \(text)")
    }

    /// A short-path temporary directory (unix socket paths are limited to 107 bytes).
    static func shortTemporaryDirectory(_ prefix: String) throws -> URL {
        let url = URL(fileURLWithPath: "/tmp/\(prefix)-\(UUID().uuidString.prefix(8).lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        chmod(url.path, 0o755)
        return url
    }
}

// MARK: Deterministic randomness

/// SplitMix64: small, fast, deterministic (the same seed gives the same logs on every machine).
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: Event logs generated in code

/// Generates an inbox event log of every kind, with re-delivered keys: older and newer versions
/// (by `updated_at`) out of order, exact duplicates, and kinds without `updated_at` re-delivered
/// as exact copies. Optionally a few invalid lines (rejects).
enum ReliabilityLog {
    static func timestamp(day: Int, minute: Int) -> String {
        let d = 1 + (day % 28)
        return String(format: "2026-03-%02dT%02d:%02d:%02dZ", d, (minute / 60) % 24, minute % 60, (minute * 7) % 60)
    }

    /// Lines for conversations `range` (ids are unique per conversation number, so two ranges
    /// never share an id apart from the shared dimensions).
    static func lines(conversations range: Range<Int>, seed: UInt64, rejectsEvery: Int? = nil,
                      includeDimensions: Bool = true) -> [String] {
        var random = SeededRandom(seed: seed)
        var lines: [String] = []
        var versioned: [String] = []  // lines to re-deliver later
        if includeDimensions {
            for c in 0..<4 {
                let medium = ["WHATSAPP", "TWITTER", "INSTAGRAM", "SMS"][c]
                lines.append(#"{"type":"channel","id":"ch-\#(c)","medium":"\#(medium)","name":"Channel \#(c)","updated_at":"2026-02-01T00:00:00Z"}"#)
                versioned.append(#"{"type":"channel","id":"ch-\#(c)","medium":"\#(medium)","name":"Old name \#(c)","updated_at":"2026-01-01T00:00:00Z"}"#)
            }
            for a in 0..<12 {
                let kind = a < 10 ? "HUMAN" : "VIRTUAL"
                lines.append(#"{"type":"agent","id":"ag-\#(a)","name":"Agent \#(a)","kind":"\#(kind)","email":"a\#(a)@example.com","updated_at":"2026-02-02T00:00:00Z"}"#)
                versioned.append(#"{"type":"agent","id":"ag-\#(a)","name":"Stale \#(a)","kind":"\#(kind)","updated_at":"2026-01-02T00:00:00Z"}"#)
            }
            for t in 0..<3 {
                lines.append(#"{"type":"team","id":"tm-\#(t)","name":"Team \#(t)","created_at":"2025-01-01T00:00:00Z"}"#)
            }
            for t in 0..<6 {
                lines.append(#"{"type":"topic","id":"tp-\#(t)","name":"Topic \#(t)","active":\#(t != 5)}"#)
                lines.append(#"{"type":"tag","id":"tg-\#(t)","name":"Tag \#(t)","updated_at":"2026-02-03T00:00:00Z"}"#)
            }
            for p in 0..<(range.count / 4 + 1) {
                let agent = p % 10
                let day = p % 28
                let start = timestamp(day: day, minute: 480 + (p % 7) * 10)
                let end = timestamp(day: day, minute: 960 + (p % 5) * 10)
                let type = p % 3 == 0 ? "AWAY" : "AVAILABLE"
                lines.append(#"{"type":"presence","id":"pr-\#(range.lowerBound)-\#(p)","agent_id":"ag-\#(agent)","presence":"\#(type)","started_at":"\#(start)","ended_at":"\#(end)","updated_at":"2026-03-20T00:00:00Z"}"#)
                if p % 5 == 0 {
                    versioned.append(#"{"type":"presence","id":"pr-\#(range.lowerBound)-\#(p)","agent_id":"ag-\#(agent)","presence":"\#(type)","started_at":"\#(start)","updated_at":"2026-03-19T00:00:00Z"}"#)
                }
            }
        }
        for n in range {
            let channel = Int(random.next() % 4)
            let agent = Int(random.next() % 10)
            let team = Int(random.next() % 3)
            let day = Int(random.next() % 28)
            let minute = 60 + Int(random.next() % 1200)
            let contact = "ct-\(n % 997)-\(n / 997)"
            let created = timestamp(day: day, minute: minute)
            lines.append(#"{"type":"contact","id":"\#(contact)","medium":"WHATSAPP","primary_identifier":"+3360000\#(n)","created_at":"\#(created)","updated_at":"2026-03-02T00:00:00Z"}"#)
            lines.append(#"{"type":"contact_attribute","contact_id":"\#(contact)","attribute_id":"plan","name":"Plan","attribute_type":"LIST","value":"Gold \#(n % 3)","updated_at":"2026-03-05T00:00:00Z"}"#)
            versioned.append(#"{"type":"contact_attribute","contact_id":"\#(contact)","attribute_id":"plan","name":"Plan","attribute_type":"LIST","value":"Bronze","updated_at":"2026-03-04T00:00:00Z"}"#)
            let conversation = "cv-\(n)"
            lines.append(#"{"type":"conversation","id":"\#(conversation)","channel_id":"ch-\#(channel)","contact_id":"\#(contact)","created_at":"\#(created)","language":"fr","updated_at":"2026-03-10T00:00:00Z","region":{"zone":"eu","n":\#(n)}}"#)
            versioned.append(#"{"type":"conversation","id":"\#(conversation)","channel_id":"ch-\#(channel)","contact_id":"\#(contact)","created_at":"\#(created)","language":"en","updated_at":"2026-03-09T00:00:00Z"}"#)
            lines.append(#"{"type":"queue_entry","id":"q-\#(n)","conversation_id":"\#(conversation)","at":"\#(timestamp(day: day, minute: minute + 1))","started_by":"INBOUND_MESSAGE","inbound_message_id":"m-\#(n)-0"}"#)
            let messages = 2 + Int(random.next() % 4)
            for m in 0..<messages {
                let inbound = m % 2 == 0
                let at = timestamp(day: day, minute: minute + m * 3)
                if inbound {
                    lines.append(#"{"type":"message","id":"m-\#(n)-\#(m)","conversation_id":"\#(conversation)","created_at":"\#(at)","direction":"INBOUND","origin":"CONTACT","content":"Bonjour, \"commande\" n°\#(n)\tà voir\\ok","updated_at":"2026-03-11T00:00:00Z"}"#)
                } else {
                    lines.append(#"{"type":"message","id":"m-\#(n)-\#(m)","conversation_id":"\#(conversation)","created_at":"\#(at)","direction":"OUTBOUND","origin":"AGENT","outbound_type":"REPLY","agent_id":"ag-\#(agent)","team_id":"tm-\#(team)","content":"Réponse \#(m)","updated_at":"2026-03-11T00:00:00Z"}"#)
                }
                if (n + m) % 4 == 0 {
                    versioned.append(#"{"type":"message","id":"m-\#(n)-\#(m)","conversation_id":"\#(conversation)","created_at":"\#(at)","direction":"INBOUND","content":"superseded","updated_at":"2026-03-10T12:00:00Z"}"#)
                }
            }
            lines.append(#"{"type":"lock","id":"l-\#(n)","conversation_id":"\#(conversation)","agent_id":"ag-\#(agent)","team_id":"tm-\#(team)","started_at":"\#(timestamp(day: day, minute: minute + 2))","ended_at":"\#(timestamp(day: day, minute: minute + 9))","updated_at":"2026-03-12T00:00:00Z"}"#)
            versioned.append(#"{"type":"lock","id":"l-\#(n)","conversation_id":"\#(conversation)","agent_id":"ag-\#(agent)","started_at":"\#(timestamp(day: day, minute: minute + 2))","updated_at":"2026-03-11T00:00:00Z"}"#)
            lines.append(#"{"type":"topic_applied","id":"ta-\#(n)","conversation_id":"\#(conversation)","topic_id":"tp-\#(n % 6)","at":"\#(timestamp(day: day, minute: minute + 4))","agent_id":"ag-\#(agent)"}"#)
            lines.append(#"{"type":"tag_applied","id":"ga-\#(n)","message_id":"m-\#(n)-0","tag_id":"tg-\#(n % 6)","at":"\#(timestamp(day: day, minute: minute + 4))","agent_id":"ag-\#(agent)","updated_at":"2026-03-12T00:00:00Z"}"#)
            let status = n % 5 == 0 ? "PENDING" : "RESOLVED"
            let resolved = status == "RESOLVED" ? #","resolved_by":"AGENT","resolve_trigger":"HUMAN_AGENT""# : ""
            let change = #"{"type":"status_change","id":"s-\#(n)","conversation_id":"\#(conversation)","at":"\#(timestamp(day: day, minute: minute + 10))","status":"\#(status)","agent_id":"ag-\#(agent)","team_id":"tm-\#(team)"\#(resolved)}"#
            lines.append(change)
            if n % 3 == 0 { versioned.append(change) }  // no updated_at: re-delivered as an exact copy
            if status == "RESOLVED" {
                lines.append(#"{"type":"csat","id":"cs-\#(n)","conversation_id":"\#(conversation)","sent_at":"\#(timestamp(day: day, minute: minute + 11))","status":"COMPLETED","agent_id":"ag-\#(agent)","responded_at":"\#(timestamp(day: day, minute: minute + 20))","score":\#(1 + n % 5),"updated_at":"2026-03-13T00:00:00Z"}"#)
                versioned.append(#"{"type":"csat","id":"cs-\#(n)","conversation_id":"\#(conversation)","sent_at":"\#(timestamp(day: day, minute: minute + 11))","status":"SENT","updated_at":"2026-03-12T00:00:00Z"}"#)
            }
            if let every = rejectsEvery, n % every == 0 {
                lines.append(#"{"type":"message","id":"bad-\#(n)","conversation_id":"\#(conversation)","created_at":"yesterday","direction":"INBOUND"}"#)
            }
        }
        // Re-deliveries: every superseded version and duplicate, shuffled among the lines (some
        // before, some after the version that wins), plus exact duplicates of current lines.
        for _ in 0..<(lines.count / 20) {
            lines.append(lines[Int(random.next() % UInt64(lines.count))])
        }
        for line in versioned {
            let position = Int(random.next() % UInt64(lines.count + 1))
            lines.insert(line, at: position)
        }
        return lines
    }

    static func write(_ lines: [String], to url: URL) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }
}

// MARK: Running the CLI as a separate process

/// A running `inbox-warehouse` process that a test may kill, with its output in files.
final class CLIProcess {
    let process = Process()
    private let outPath: String
    private let errPath: String
    let started = Date()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = TestSupport.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        env.removeValue(forKey: "PGCONNECT_TIMEOUT")
        for (key, value) in environment { env[key] = value }
        env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.cliSQLDirectory
        process.environment = env
        let directory = try TestSupport.temporaryDirectory()
        outPath = directory.appendingPathComponent("stdout").path
        errPath = directory.appendingPathComponent("stderr").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func kill(_ signal: Int32 = SIGKILL) { Glibc.kill(pid, signal) }

    /// Waits for the process to end; kills it and returns nil when it runs past `timeout`.
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill()
                process.waitUntilExit()
                return nil
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    var terminationReason: Process.TerminationReason { process.terminationReason }
    var seconds: TimeInterval { Date().timeIntervalSince(started) }
    var standardOutput: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
}

/// Runs the CLI to completion with a timeout (a hang fails the test instead of blocking it).
func runCLI(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws
    -> (status: Int32?, standardOutput: String, standardError: String, seconds: TimeInterval) {
    let process = try CLIProcess(arguments, environment: environment)
    let status = process.wait(timeout: timeout)
    return (status, process.standardOutput, process.standardError, process.seconds)
}

// MARK: A private PostgreSQL cluster that a test may stop abruptly

/// An embedded cluster of the test's own (the shared test server must never be stopped), under a
/// short /tmp path, removed at the end. The tool creates the home itself (as root it hands only
/// a home it created to the postgres user).
final class PrivateCluster {
    let cluster: EmbeddedCluster
    let home: URL
    private let parent: URL

    init() throws {
        parent = try Reliability.shortTemporaryDirectory("iwr")
        home = parent.appendingPathComponent("h", isDirectory: true)
        cluster = EmbeddedCluster(home: home)
        try cluster.ensureRunning()
    }

    /// A new, empty database on this cluster; the CLI migrates it on first use.
    func makeDatabase(_ name: String) throws -> String {
        let admin = try Connection(conninfo: cluster.url(database: "postgres"))
        defer { admin.close() }
        try admin.execute("drop database if exists \(try admin.escapeIdentifier(name)) with (force)")
        try admin.execute("create database \(try admin.escapeIdentifier(name))")
        return cluster.url(database: name)
    }

    /// `pg_ctl stop -m immediate`: the server quits without a checkpoint, as in a power cut of
    /// the server processes; the next start runs crash recovery.
    func stopImmediately() throws {
        let binaries = try PostgresBinaries.locate()
        var arguments = [binaries.pgCtl, "-D", cluster.dataDirectory.path, "-m", "immediate", "-w", "stop"]
        var executable = binaries.pgCtl
        if geteuid() == 0 {
            executable = try PostgresBinaries.runuser()
            arguments = ["-u", "postgres", "--"] + arguments
        } else {
            arguments.removeFirst()
        }
        let result = try ChildProcess.run(executable, arguments, currentDirectory: home)
        guard result.status == 0 else {
            throw WarehouseError.embeddedCluster("pg_ctl stop -m immediate failed: \(result.standardError)")
        }
    }

    /// Starts the server again (crash recovery).
    func restart() throws {
        try cluster.ensureRunning()
    }

    func destroy() {
        _ = try? cluster.stop()
        try? FileManager.default.removeItem(at: parent)
    }
}

// MARK: Database helpers

enum ReliabilityDatabase {
    /// The loaded state, read in UTC so that two servers' settings never differ.
    static func contents(_ url: String) throws -> [String: [String]] {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        try connection.execute("set timezone = 'UTC'")
        return try TestSupport.tableContents(connection)
    }

    static func scalar(_ url: String, _ sql: String, _ parameters: [String?] = []) throws -> String? {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        return try connection.execute(sql, parameters).scalar
    }

    /// A short description of where two table states differ (for failure messages).
    static func difference(_ left: [String: [String]], _ right: [String: [String]]) -> String {
        var parts: [String] = []
        for table in Set(left.keys).union(right.keys).sorted() where left[table] != right[table] {
            let l = left[table] ?? [], r = right[table] ?? []
            let missing = Set(r).subtracting(l).count, extra = Set(l).subtracting(r).count
            parts.append("\(table): \(l.count) rows vs \(r.count) expected (\(missing) missing, \(extra) unexpected)")
        }
        return parts.isEmpty ? "no difference" : parts.joined(separator: "; ")
    }
}

/// Files of a directory, hidden ones included, sorted.
func directoryListing(_ url: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
}

func sha256Hex(ofFile path: String) -> String? {
    (try? sha256OfFile(path))?.hash
}

/// Runs a shell command (as the test's user) and returns its status and combined output.
@discardableResult
func shell(_ command: String) throws -> (status: Int32, output: String) {
    let result = try ChildProcess.run("/bin/sh", ["-c", command + " 2>&1"])
    return (result.status, result.standardOutput + result.standardError)
}
