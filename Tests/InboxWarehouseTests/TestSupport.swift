import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// The test server: `INBOX_WAREHOUSE_TEST_DATABASE_URL` when set, else a throwaway embedded
/// cluster in a temporary directory, started once per test run and stopped at exit.
/// Every test gets a database of its own, cloned from a migrated template.
final class TestServer: @unchecked Sendable {
    static let shared = TestServer()

    private let lock = NSLock()
    private var adminURL: String?
    private var templateReady = false
    private var counter = 0
    let runID = String(UUID().uuidString.prefix(8)).lowercased()

    /// A URL to the server's maintenance database.
    func administrationURL() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let adminURL { return adminURL }
        let url: String
        if let given = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_TEST_DATABASE_URL"], !given.isEmpty {
            url = given
        } else {
            let home = URL(fileURLWithPath: "/tmp/iw-test-\(runID)", isDirectory: true)
            let cluster = EmbeddedCluster(home: home)
            try cluster.ensureRunning()
            testClusterHome = home.path
            atexit { stopTestCluster() }
            url = cluster.url(database: "postgres")
        }
        adminURL = url
        return url
    }

    /// Creates a fresh, migrated database and returns its URL.
    func makeDatabase() throws -> String {
        let admin = try administrationURL()
        let connection = try Connection(conninfo: admin)
        defer { connection.close() }
        let template = "iw_template_\(runID)"
        lock.lock()
        defer { lock.unlock() }
        if !templateReady {
            try connection.execute("create database \(try connection.escapeIdentifier(template))")
            let templateConnection = try Connection(conninfo: admin, overrides: ["dbname": template])
            try Migrator(resources: try TestSupport.sqlResources()).migrate(templateConnection)
            templateConnection.close()
            templateReady = true
        }
        counter += 1
        let name = "iw_test_\(runID)_\(counter)"
        try connection.execute("create database \(try connection.escapeIdentifier(name)) template \(try connection.escapeIdentifier(template))")
        return try databaseURL(admin: admin, database: name)
    }

    private func databaseURL(admin: String, database: String) throws -> String {
        // Keep the admin URL's host/port/user and swap the database name.
        if admin.hasPrefix("postgres://") || admin.hasPrefix("postgresql://") {
            var components = URLComponents(string: admin)!
            components.path = "/" + database
            return components.string!
        }
        return admin + " dbname=" + database
    }
}

nonisolated(unsafe) private var testClusterHome: String?

private func stopTestCluster() {
    guard let home = testClusterHome else { return }
    let cluster = EmbeddedCluster(home: URL(fileURLWithPath: home, isDirectory: true))
    _ = try? cluster.stop()
    try? FileManager.default.removeItem(atPath: home)
}

enum TestSupport {
    /// The repository's top folder (two levels above this file's folder).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sqlResources() throws -> SQLResources {
        try SQLResources(directory: repositoryRoot.appendingPathComponent("sql"))
    }

    static func fixture(_ path: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests/InboxWarehouseTests/Fixtures").appendingPathComponent(path)
    }

    /// A connection to a new, migrated database of its own.
    static func freshDatabase() throws -> (connection: Connection, url: String) {
        let url = try TestServer.shared.makeDatabase()
        return (try Connection(conninfo: url), url)
    }

    /// A new empty temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("iw-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `lines` as an NDJSON file and returns its path.
    /// The line numbers (1-based) the Python reference (tools/reference/) rejects in `lines`,
    /// for the tests that check it rejects exactly what the loader rejects.
    static func referenceRejectedLines(_ lines: [String]) throws -> [Int] {
        let directory = try temporaryDirectory()
        let log = try writeLog(lines)
        let rejectsPath = directory.appendingPathComponent("rejects.tsv").path
        let arguments = [repositoryRoot.appendingPathComponent("tools/reference/inbox_reference.py").path,
                         "--log", log, "--export", "open-conversations", "--as-of", "2026-03-05T00:00:00Z",
                         "--rejects", rejectsPath, "--output", directory.appendingPathComponent("open.csv").path]
        let status = Subprocess.wait(try Subprocess.spawn("python3", arguments, standardInput: "/dev/null",
                                                          standardError: directory.appendingPathComponent("python.err").path))
        try #require(status == 0)
        return try String(contentsOfFile: rejectsPath, encoding: .utf8).split(separator: "\n")
            .map { Int($0.split(separator: "\t")[1])! }
    }

    static func writeLog(_ lines: [String], name: String = "log.ndjson") throws -> String {
        let path = try temporaryDirectory().appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Every row of every `inbox` table, as text, in key order: a fingerprint of the loaded state.
    static func tableContents(_ connection: Connection) throws -> [String: [String]] {
        var contents: [String: [String]] = [:]
        for kind in RecordKind.all {
            let key = kind.keyColumns.joined(separator: ", ")
            let result = try connection.execute("select t::text from inbox.\(kind.table) t order by \(key)")
            contents[kind.table] = (0..<result.rowCount).map { result.value($0, 0) ?? "" }
        }
        return contents
    }

    /// The built command-line tool (beside the test bundle), or `INBOX_WAREHOUSE_TEST_EXECUTABLE`
    /// (to run the command-line tests against another build, e.g. to show a regression test
    /// failing on an older binary).
    static var executable: URL {
        if let given = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_TEST_EXECUTABLE"], !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        let bundle = Bundle.main.bundleURL
        var directory = bundle
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("inbox-warehouse")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/inbox-warehouse")
    }

    /// The SQL folder the command-line tool is pointed at: the repository's, or
    /// `INBOX_WAREHOUSE_TEST_SQL_DIR` (with `INBOX_WAREHOUSE_TEST_EXECUTABLE`, an older build's).
    static var cliSQLDirectory: String {
        if let given = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_TEST_SQL_DIR"], !given.isEmpty { return given }
        return repositoryRoot.appendingPathComponent("sql").path
    }

    struct CommandResult {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Runs the CLI with arguments and environment additions.
    static func runCLI(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        for (key, value) in environment { env[key] = value }
        env["INBOX_WAREHOUSE_SQL_DIR"] = cliSQLDirectory
        process.environment = env
        let directory = try temporaryDirectory()
        let outPath = directory.appendingPathComponent("stdout").path
        let errPath = directory.appendingPathComponent("stderr").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                             standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

/// Instants written as literals in tests (`runDue(now: "2026-03-30T12:00:00+02:00")`); a literal
/// that is not an instant stops the test run at once.
extension Instant: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        guard let instant = Instant(text) else { fatalError("not an instant: \(text)") }
        self = instant
    }
}
