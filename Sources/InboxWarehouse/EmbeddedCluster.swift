import Foundation
import PostgresLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster that the tool creates and starts itself when no database is
/// configured: data under `<home>/data`, the server's unix socket in `<home>`, no TCP.
///
/// PostgreSQL refuses to run as root; when the tool runs as root, the server runs as the
/// `postgres` system user (through `runuser`) and that user owns `<home>`.
public struct EmbeddedCluster: Sendable {
    public static let databaseName = "inbox_warehouse"
    public static let superuser = "inbox_warehouse"
    public static let port = 5432

    /// The directory holding the cluster (`data/`, the socket, `postgres.log`).
    public let home: URL

    public init(home: URL) {
        self.home = home.standardizedFileURL
    }

    /// The home named by `INBOX_WAREHOUSE_HOME`, else `./.inbox-warehouse`.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment["INBOX_WAREHOUSE_HOME"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            .appendingPathComponent(".inbox-warehouse", isDirectory: true)
    }

    public var dataDirectory: URL { home.appendingPathComponent("data", isDirectory: true) }
    public var logFile: URL { home.appendingPathComponent("postgres.log") }
    var lockFile: URL { home.appendingPathComponent("cluster.lock") }

    /// A libpq URI for the cluster's database that `psql` accepts.
    public var url: String { url(database: Self.databaseName) }

    public func url(database: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let host = home.path.addingPercentEncoding(withAllowedCharacters: allowed) ?? home.path
        let db = database.addingPercentEncoding(withAllowedCharacters: allowed) ?? database
        return "postgresql://\(Self.superuser)@/\(db)?host=\(host)&port=\(Self.port)"
    }

    public enum State: Equatable, Sendable {
        case notCreated
        case stopped
        case running
    }

    public func state() throws -> State {
        guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) else {
            return .notCreated
        }
        let binaries = try PostgresBinaries.locate()
        let result = try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "status"], allowFailure: true)
        return result.status == 0 ? .running : .stopped
    }

    /// Creates the cluster if needed, starts it if needed and makes sure the database exists.
    /// Safe to call from several processes at once (they serialize on a lock file).
    /// Returns true when this call started the server.
    @discardableResult
    public func ensureRunning() throws -> Bool {
        try prepareHome()
        return try withLock {
            let binaries = try PostgresBinaries.locate()
            if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
                try initialize(binaries)
            }
            var started = false
            let status = try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "status"], allowFailure: true)
            if status.status != 0 {
                try runAsServerUser(binaries.pgCtl, [
                    "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "120", "start",
                ])
                started = true
            }
            try createDatabaseIfMissing()
            return started
        }
    }

    /// Stops the server (fast shutdown) if it runs. Returns whether it was running.
    @discardableResult
    public func stop() throws -> Bool {
        guard try state() == .running else { return false }
        let binaries = try PostgresBinaries.locate()
        try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "120", "stop"])
        return true
    }

    // MARK: Creation

    private var runsAsRoot: Bool { geteuid() == 0 }

    private func prepareHome() throws {
        let manager = FileManager.default
        try manager.createDirectory(at: home, withIntermediateDirectories: true)
        let socketPath = home.appendingPathComponent(".s.PGSQL.\(Self.port)").path
        if socketPath.utf8.count > 107 {
            throw WarehouseError.configuration(
                "the embedded cluster's home \(home.path) is too long for a unix socket path "
                + "(\(socketPath.utf8.count) > 107 bytes); set INBOX_WAREHOUSE_HOME to a shorter path")
        }
        if runsAsRoot {
            // The server runs as `postgres`: it must own the home and reach it.
            guard let user = getpwnam("postgres") else {
                throw WarehouseError.configuration(
                    "running as root, the embedded cluster needs the `postgres` system user "
                    + "(apt-get install postgresql creates it), or run as an ordinary user")
            }
            if chown(home.path, user.pointee.pw_uid, user.pointee.pw_gid) != 0 {
                throw WarehouseError.io("cannot give \(home.path) to the postgres user: \(String(cString: strerror(errno)))")
            }
            chmod(home.path, 0o700)
            var directory = home.deletingLastPathComponent()
            while directory.path != "/" {
                var info = stat()
                if stat(directory.path, &info) == 0, info.st_mode & 0o001 == 0, info.st_uid != user.pointee.pw_uid {
                    throw WarehouseError.configuration(
                        "the postgres user cannot reach \(home.path) (\(directory.path) is not searchable by others); "
                        + "set INBOX_WAREHOUSE_HOME to a directory it can reach, e.g. under /tmp or /var/lib")
                }
                directory = directory.deletingLastPathComponent()
            }
        } else {
            chmod(home.path, 0o700)
        }
    }

    private func initialize(_ binaries: PostgresBinaries) throws {
        try runAsServerUser(binaries.initdb, [
            "-D", dataDirectory.path, "-U", Self.superuser, "-A", "trust",
            "--encoding=UTF8", "--locale=C", "--no-instructions",
        ])
        // Private socket in the home, no TCP, settings suited to bulk loads on a small machine.
        let settings = """

            # inbox-warehouse embedded cluster
            listen_addresses = ''
            unix_socket_directories = '\(home.path.replacingOccurrences(of: "'", with: "''"))'
            unix_socket_permissions = 0700
            port = \(Self.port)
            shared_buffers = 256MB
            work_mem = 32MB
            maintenance_work_mem = 256MB
            max_wal_size = 4GB
            checkpoint_timeout = 15min
            wal_level = minimal
            max_wal_senders = 0
            timezone = 'UTC'
            log_timezone = 'UTC'

            """
        let configuration = dataDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: configuration)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
    }

    private func createDatabaseIfMissing() throws {
        try ensureDatabase(named: Self.databaseName)
    }

    /// Creates a database of that name in the (running) cluster if it does not exist yet.
    public func ensureDatabase(named name: String) throws {
        let connection = try PostgresConnectionFactory.connect(url(database: "postgres"))
        defer { connection.close() }
        let exists = try connection.execute("select 1 from pg_database where datname = $1", [name])
        if exists.rowCount == 0 {
            do {
                try connection.execute("create database \(try connection.escapeIdentifier(name))")
            } catch let error as PostgresError where error.sqlState == .duplicateDatabase {
                // Another process created it meanwhile.
            }
        }
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        let descriptor = open(lockFile.path, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else {
            throw WarehouseError.io("cannot open \(lockFile.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else {
            throw WarehouseError.io("cannot lock \(lockFile.path): \(String(cString: strerror(errno)))")
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    @discardableResult
    private func runAsServerUser(_ executable: String, _ arguments: [String], allowFailure: Bool = false) throws -> ProcessResult {
        let result: ProcessResult
        if runsAsRoot {
            result = try ProcessRunner.run(PostgresBinaries.runuser(), ["-u", "postgres", "--", executable] + arguments,
                                           currentDirectory: home)
        } else {
            result = try ProcessRunner.run(executable, arguments, currentDirectory: home)
        }
        if result.status != 0 && !allowFailure {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            var message = "\(name) \(arguments.last ?? "") failed (exit \(result.status))"
            let output = (result.standardError + result.standardOutput).trimmingCharacters(in: .whitespacesAndNewlines)
            if !output.isEmpty { message += ": \(output)" }
            if name == "pg_ctl", let log = try? String(contentsOf: logFile, encoding: .utf8) {
                message += "\nlast lines of \(logFile.path):\n" + log.split(separator: "\n").suffix(10).joined(separator: "\n")
            }
            throw WarehouseError.embeddedCluster(message)
        }
        return result
    }
}

/// Where the PostgreSQL server programs are: on PATH, else the newest under /usr/lib/postgresql.
struct PostgresBinaries {
    let initdb: String
    let pgCtl: String

    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresBinaries {
        let manager = FileManager.default
        var directories: [String] = []
        if let custom = environment["INBOX_WAREHOUSE_PG_BIN"], !custom.isEmpty { directories.append(custom) }
        directories += (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let versions = try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            let sorted = versions.compactMap { Int($0) }.sorted(by: >)
            directories += sorted.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        for directory in directories {
            let initdb = directory + "/initdb"
            let pgCtl = directory + "/pg_ctl"
            if manager.isExecutableFile(atPath: initdb) && manager.isExecutableFile(atPath: pgCtl) {
                return PostgresBinaries(initdb: initdb, pgCtl: pgCtl)
            }
        }
        throw WarehouseError.configuration(
            "no PostgreSQL server programs (initdb, pg_ctl) found on PATH or under /usr/lib/postgresql; "
            + "install them (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to use your own server")
    }

    static func runuser() throws -> String {
        for candidate in ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw WarehouseError.configuration("running as root needs `runuser` (util-linux) to start PostgreSQL as the postgres user")
    }
}

struct ProcessResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

enum ProcessRunner {
    /// Runs a program to completion (posix_spawn + waitpid) with its output captured through
    /// temporary files, so a daemon it leaves behind (pg_ctl's server) can never hold a pipe open.
    static func run(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> ProcessResult {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-warehouse-\(getpid())-\(UUID().uuidString).out").path
        let errorPath = outputPath + ".err"
        defer { unlink(outputPath); unlink(errorPath) }
        let pid = try Subprocess.spawn(executable, arguments, standardInput: "/dev/null", standardOutput: outputPath,
                                       standardError: errorPath, currentDirectory: currentDirectory?.path)
        let status = Subprocess.wait(pid)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return ProcessResult(status: status, standardOutput: output, standardError: error)
    }
}

/// Thin wrappers over posix_spawn and waitpid.
enum Subprocess {
    /// Starts `executable` (searched on PATH when it has no slash). Each standard stream is
    /// either a path to open or an already open descriptor to hand over.
    static func spawn(_ executable: String, _ arguments: [String], standardInput: String? = nil,
                      standardOutput: String? = nil, standardError: String? = nil,
                      standardOutputDescriptor: Int32? = nil, currentDirectory: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput { posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0) }
        if let standardOutputDescriptor { posix_spawn_file_actions_adddup2(&actions, standardOutputDescriptor, 1) }
        if let standardOutput { posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        if let standardError { posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        var command = [executable] + arguments
        var program = executable
        if let currentDirectory {
            // posix_spawn has no portable chdir action: let a shell change directory, then exec.
            command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", currentDirectory] + command
            program = "/bin/sh"
        }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = program.contains("/")
            ? posix_spawn(&pid, program, &actions, nil, argv, environ)
            : posix_spawnp(&pid, program, &actions, nil, argv, environ)
        guard result == 0 else {
            throw WarehouseError.io("cannot run \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for the process; returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}
