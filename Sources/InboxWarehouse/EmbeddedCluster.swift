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
///
/// Creation never leaves a cluster that could start half-configured: `initdb` builds it in
/// `<home>/.data-building-*`, the tool appends its settings, writes `inbox-warehouse.ready` and
/// only then renames the directory to `<home>/data`. A directory left by a killed run is
/// discarded by the next one; a `data` directory without the marker is never started. The
/// settings that keep the server private (no TCP, socket in the home) are also passed on the
/// server's command line, where nothing in the data directory can override them.
public struct EmbeddedCluster: Sendable {
    public static let databaseName = "inbox_warehouse"
    public static let superuser = "inbox_warehouse"
    public static let port = 5432

    /// Written into a new data directory once it is complete and configured.
    static let readyMarkerName = "inbox-warehouse.ready"
    /// The first line of the block of settings appended to `postgresql.conf` (older versions
    /// wrote the same block, without the marker).
    static let settingsHeader = "# inbox-warehouse embedded cluster"
    /// A data directory being built, and one being removed.
    static let buildingPrefix = ".data-building-"
    static let discardedPrefix = ".data-discarded-"

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
    /// Present while the cluster is stopped on purpose (`db stop`), until the next start.
    var stopMarker: URL { home.appendingPathComponent("cluster.stopped") }

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

    /// Thrown by `ensureRunning(startingStoppedCluster: false)` when the cluster was stopped with
    /// `db stop`: unattended callers (the scheduler) wait instead of starting it again.
    public struct StoppedOnPurpose: Error, CustomStringConvertible, Sendable {
        public let home: URL
        public var description: String {
            "the embedded cluster in \(home.path) was stopped with `inbox-warehouse db stop`; "
                + "it stays stopped until `inbox-warehouse db start` (or a command that needs the database) starts it"
        }
    }

    public func state() throws -> State {
        let account = try ServerAccount.current()
        guard try checkHome(account, create: false),
              isRegularFile(dataDirectory.appendingPathComponent("PG_VERSION").path) else {
            return .notCreated
        }
        return try isRunning(try PostgresBinaries.locate()) ? .running : .stopped
    }

    /// Creates the cluster if needed, starts it if needed and makes sure the database exists.
    /// Safe to call from several processes at once (they serialize on a lock file).
    /// Returns true when this call started the server.
    ///
    /// With `startingStoppedCluster` false, a cluster stopped with `db stop` is left stopped and
    /// `StoppedOnPurpose` is thrown; otherwise this start ends the stop.
    @discardableResult
    public func ensureRunning(startingStoppedCluster: Bool = true) throws -> Bool {
        let account = try ServerAccount.current()
        _ = try checkHome(account, create: true)
        return try withLock(account) {
            let binaries = try PostgresBinaries.locate()
            discardUnfinishedBuilds()
            let stoppedOnPurpose = !startingStoppedCluster && entryExists(stopMarker.path)
            switch try dataDirectoryState() {
            case .missing:
                if stoppedOnPurpose { throw StoppedOnPurpose(home: home) }
                try build(binaries, account)
            case .ready:
                break
            case .configuredByOlderVersion:
                try writeReadyMarker(in: dataDirectory, account)
            case .unfinished:
                try refuseUnfinished(binaries)
            }
            var started = false
            if try !isRunning(binaries) {
                if stoppedOnPurpose { throw StoppedOnPurpose(home: home) }
                try runAsServerUser(binaries.pgCtl, [
                    "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "120",
                    "-o", Self.serverOptions(home: home), "start",
                ])
                started = true
                failpoint("started")
            }
            if startingStoppedCluster { unlink(stopMarker.path) }
            try createDatabaseIfMissing()
            return started
        }
    }

    /// Stops the server (fast shutdown) if it runs. Returns whether it was running. The cluster
    /// then counts as stopped on purpose until the next start (see `ensureRunning`).
    @discardableResult
    public func stop() throws -> Bool {
        let account = try ServerAccount.current()
        guard try checkHome(account, create: false) else { return false }
        return try withLock(account) {
            guard isRegularFile(dataDirectory.appendingPathComponent("PG_VERSION").path) else { return false }
            try markStoppedOnPurpose()
            let binaries = try PostgresBinaries.locate()
            guard try isRunning(binaries) else { return false }
            try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "120", "stop"])
            return true
        }
    }

    /// The options the server always starts with (`pg_ctl -o`, read by a shell): they win over
    /// `postgresql.conf` and `ALTER SYSTEM`, so the server never listens on TCP.
    static func serverOptions(home: URL) -> String {
        let settings = [
            "listen_addresses=",
            "port=\(port)",
            "unix_socket_directories=\(socketDirectoryList(home.path))",
            "unix_socket_permissions=0700",
        ]
        return settings.map { "-c " + shellQuoted($0) }.joined(separator: " ")
    }

    /// A one-directory value for `unix_socket_directories` (a comma-separated list whose items
    /// may be double-quoted).
    static func socketDirectoryList(_ path: String) -> String {
        guard path.contains(where: { $0 == "," || $0 == "\"" || $0.isWhitespace }) else { return path }
        return "\"" + path.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    // MARK: The home

    /// Checks the home and every directory above it, creating the missing ones when `create`
    /// (the home itself with mode 0700, given to the server's user). Returns whether the home
    /// exists. Refused: a home that is a symbolic link, that belongs to someone else or that
    /// others may write; a directory above it that an untrusted user could change (owned by
    /// someone other than root, us or the server's user, or writable by others without the
    /// sticky bit), or a symbolic link on the way that belongs to such a user. An existing home
    /// is never chowned or chmodded.
    private func checkHome(_ account: ServerAccount, create: Bool) throws -> Bool {
        let path = home.path
        if let bad = path.unicodeScalars.first(where: { "\"$`\\".unicodeScalars.contains($0) || $0.value < 0x20 || $0.value == 0x7f }) {
            throw WarehouseError.configuration(
                "the embedded cluster's home \(path) contains \(bad.escaped(asASCII: true)), which pg_ctl cannot quote; "
                + "set INBOX_WAREHOUSE_HOME to a plainer path")
        }
        let socketPath = home.appendingPathComponent(".s.PGSQL.\(Self.port)").path
        if socketPath.utf8.count > 107 {
            throw WarehouseError.configuration(
                "the embedded cluster's home \(path) is too long for a unix socket path "
                + "(\(socketPath.utf8.count) > 107 bytes); set INBOX_WAREHOUSE_HOME to a shorter path")
        }
        var info = stat()
        try checkTrustedDirectory("/", account)
        var prefix = ""
        for component in home.pathComponents.dropFirst().dropLast() {
            prefix += "/" + component
            if lstat(prefix, &info) != 0 {
                guard errno == ENOENT else { throw Self.systemError("cannot inspect \(prefix)") }
                guard create else { return false }
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw Self.systemError("cannot create \(prefix)") }
                guard lstat(prefix, &info) == 0 else { throw Self.systemError("cannot inspect \(prefix)") }
            }
            if Self.isSymbolicLink(info) {
                guard account.trusts(info.st_uid) else {
                    throw WarehouseError.configuration(
                        "\(prefix), on the way to the embedded cluster's home \(path), is a symbolic link that belongs to uid \(info.st_uid); "
                        + "refusing, as its owner could point it elsewhere")
                }
                guard let resolved = realpath(prefix, nil) else { throw Self.systemError("cannot resolve \(prefix)") }
                let target = String(cString: resolved)
                free(resolved)
                var partial = ""
                for part in URL(fileURLWithPath: target).pathComponents.dropFirst() {
                    partial += "/" + part
                    try checkTrustedDirectory(partial, account)
                }
            } else {
                try checkTrustedDirectory(prefix, account)
            }
        }

        var created = false
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else { throw Self.systemError("cannot inspect \(path)") }
            guard create else { return false }
            if mkdir(path, 0o700) == 0 {
                created = true
            } else if errno != EEXIST {
                throw Self.systemError("cannot create the embedded cluster's home \(path)")
            }
            guard lstat(path, &info) == 0 else { throw Self.systemError("cannot inspect \(path)") }
        }
        if Self.isSymbolicLink(info) {
            throw WarehouseError.configuration(
                "the embedded cluster's home \(path) is a symbolic link; refusing to use it "
                + "(set INBOX_WAREHOUSE_HOME to the real directory, or to a new path the tool creates)")
        }
        guard Self.isDirectory(info) else {
            throw WarehouseError.configuration("the embedded cluster's home \(path) exists and is not a directory")
        }
        if created {
            // Ours: give it to the server's user, private. Through a descriptor, so that what is
            // changed is the directory just made.
            let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else { throw Self.systemError("cannot open \(path)") }
            defer { close(descriptor) }
            var opened = stat()
            guard fstat(descriptor, &opened) == 0, opened.st_dev == info.st_dev, opened.st_ino == info.st_ino else {
                throw WarehouseError.configuration("the embedded cluster's home \(path) changed while it was created; refusing")
            }
            if account.isOtherUser && fchown(descriptor, account.uid, account.gid) != 0 {
                throw Self.systemError("cannot give \(path) to the \(account.name) user")
            }
            if fchmod(descriptor, 0o700) != 0 { throw Self.systemError("cannot set the mode of \(path)") }
        } else {
            if info.st_uid != account.uid {
                if account.isOtherUser && info.st_uid == geteuid() {
                    throw WarehouseError.configuration(
                        "running as root, the embedded cluster's home must belong to \(account.name), the server's user, and "
                        + "\(path) belongs to root; inbox-warehouse gives a home to \(account.name) only when it creates it. "
                        + "Remove it (the tool then creates it), or: chown \(account.name): \(Self.shellQuoted(path)) && chmod 700 \(Self.shellQuoted(path))")
                }
                throw WarehouseError.configuration(
                    "the embedded cluster's home \(path) belongs to uid \(info.st_uid), not to \(account.name) (uid \(account.uid)); "
                    + "refusing to use it. Set INBOX_WAREHOUSE_HOME to a new path: the tool creates it")
            }
            if info.st_mode & 0o022 != 0 {
                throw WarehouseError.configuration(
                    "the embedded cluster's home \(path) is writable by others (mode \(String(info.st_mode & 0o7777, radix: 8))); "
                    + "refusing to use it: chmod 700 \(Self.shellQuoted(path)), or set INBOX_WAREHOUSE_HOME to a new path")
            }
        }
        if account.isOtherUser {
            // The server's user must reach the home.
            var directory = home.deletingLastPathComponent()
            while directory.path != "/" {
                if stat(directory.path, &info) == 0, info.st_mode & 0o001 == 0, info.st_uid != account.uid {
                    throw WarehouseError.configuration(
                        "the \(account.name) user cannot reach \(path) (\(directory.path) is not searchable by others); "
                        + "set INBOX_WAREHOUSE_HOME to a new directory it can reach, e.g. /var/lib/inbox-warehouse")
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        return true
    }

    /// A directory above the home must be one that only trusted users can change.
    private func checkTrustedDirectory(_ path: String, _ account: ServerAccount) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw Self.systemError("cannot inspect \(path)") }
        guard Self.isDirectory(info) else {
            throw WarehouseError.configuration("\(path), on the way to the embedded cluster's home \(home.path), is not a directory")
        }
        guard account.trusts(info.st_uid) else {
            throw WarehouseError.configuration(
                "\(path), above the embedded cluster's home \(home.path), belongs to uid \(info.st_uid), who could replace the home; "
                + "choose a home under directories that belong to root or to you")
        }
        if info.st_mode & 0o022 != 0 && info.st_mode & 0o1000 == 0 {
            throw WarehouseError.configuration(
                "\(path), above the embedded cluster's home \(home.path), is writable by others (mode "
                + "\(String(info.st_mode & 0o7777, radix: 8)), not sticky), who could replace the home; "
                + "choose a home under directories that only root or you may write")
        }
    }

    // MARK: Creation

    private enum DataDirectoryState {
        case missing
        /// Complete and configured, with the tool's marker.
        case ready
        /// Made by an older version (no marker) that finished configuring it.
        case configuredByOlderVersion
        /// Anything else: not started.
        case unfinished
    }

    private func dataDirectoryState() throws -> DataDirectoryState {
        var info = stat()
        if lstat(dataDirectory.path, &info) != 0 {
            guard errno == ENOENT else { throw Self.systemError("cannot inspect \(dataDirectory.path)") }
            return .missing
        }
        guard Self.isDirectory(info), isRegularFile(dataDirectory.appendingPathComponent("PG_VERSION").path) else {
            return .unfinished
        }
        if isRegularFile(dataDirectory.appendingPathComponent(Self.readyMarkerName).path) { return .ready }
        // Older versions appended their settings after a successful initdb, and did nothing else.
        let configuration = readSmallFile(dataDirectory.appendingPathComponent("postgresql.conf").path) ?? ""
        if configuration.contains(Self.settingsHeader) && configuration.contains("listen_addresses = ''") {
            return .configuredByOlderVersion
        }
        return .unfinished
    }

    /// initdb into a fresh directory of the home, the settings, the marker, then the rename to
    /// `data`: a kill at any point leaves either no `data` or a complete one.
    private func build(_ binaries: PostgresBinaries, _ account: ServerAccount) throws {
        let building = home.appendingPathComponent(Self.buildingPrefix + UUID().uuidString.prefix(8).lowercased(), isDirectory: true)
        do {
            try runAsServerUser(binaries.initdb, [
                "-D", building.path, "-U", Self.superuser, "--auth-local=trust", "--auth-host=reject",
                "--encoding=UTF8", "--locale=C", "--no-instructions",
            ])
            failpoint("initdb-done")
            try appendSettings(to: building.appendingPathComponent("postgresql.conf").path, account)
            failpoint("configured")
            try writeReadyMarker(in: building, account)
            failpoint("marked")
            guard rename(building.path, dataDirectory.path) == 0 else {
                throw Self.systemError("cannot move the new cluster to \(dataDirectory.path)")
            }
        } catch {
            discard(building.path)
            throw error
        }
        try syncDirectory(home.path)
        failpoint("renamed")
    }

    /// Private socket in the home, no TCP, settings suited to bulk loads on a small machine.
    private func appendSettings(to path: String, _ account: ServerAccount) throws {
        let settings = """

            \(Self.settingsHeader)
            listen_addresses = ''
            unix_socket_directories = '\(Self.socketDirectoryList(home.path).replacingOccurrences(of: "'", with: "''"))'
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
        let descriptor = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.systemError("cannot open \(path)") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1, info.st_uid == account.uid else {
            throw WarehouseError.embeddedCluster("\(path) is not the file initdb wrote; refusing to write to it")
        }
        try Self.writeAll(descriptor, Data(settings.utf8), path: path)
        guard fsync(descriptor) == 0 else { throw Self.systemError("cannot sync \(path)") }
    }

    /// Marks a data directory as complete and configured.
    private func writeReadyMarker(in directory: URL, _ account: ServerAccount) throws {
        let path = directory.appendingPathComponent(Self.readyMarkerName).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.systemError("cannot create \(path)") }
        defer { close(descriptor) }
        let text = "created and configured by inbox-warehouse; only a data directory with this file is started\n"
        try Self.writeAll(descriptor, Data(text.utf8), path: path)
        if account.isOtherUser { _ = fchown(descriptor, account.uid, account.gid) }
        guard fsync(descriptor) == 0 else { throw Self.systemError("cannot sync \(path)") }
        try syncDirectory(directory.path)
    }

    /// A `data` directory without the marker: stop a server running on it (it runs with settings
    /// the tool did not write, possibly PostgreSQL's defaults, on TCP) and refuse to start it.
    private func refuseUnfinished(_ binaries: PostgresBinaries) throws -> Never {
        var stopped = ""
        if (try? isRunning(binaries)) == true {
            try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "120", "stop"])
            stopped = " A server was running on it with settings inbox-warehouse did not write (PostgreSQL's defaults listen on TCP); it has been stopped."
        }
        throw WarehouseError.embeddedCluster(
            "\(dataDirectory.path) was not finished by inbox-warehouse (it has no \(Self.readyMarkerName): "
            + "an older version was interrupted while creating it), so it is not started.\(stopped) "
            + "If it holds nothing you need, remove it and start again: "
            + "rm -rf \(Self.shellQuoted(dataDirectory.path)) && inbox-warehouse db start")
    }

    /// Removes the data directories that killed runs were building. Their `initdb` may still be
    /// running (it outlives a killed parent): the directory is renamed first, so that initdb
    /// fails instead of finishing it, then removed, as the server's user.
    private func discardUnfinishedBuilds() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: home.path)) ?? []
        for name in names where name.hasPrefix(Self.buildingPrefix) || name.hasPrefix(Self.discardedPrefix) {
            discard(home.appendingPathComponent(name).path)
        }
    }

    private func discard(_ path: String) {
        var target = path
        if URL(fileURLWithPath: path).lastPathComponent.hasPrefix(Self.buildingPrefix) {
            let renamed = home.appendingPathComponent(Self.discardedPrefix + UUID().uuidString.prefix(8).lowercased()).path
            if rename(path, renamed) == 0 { target = renamed }
        }
        // An orphaned initdb's backend may still add files for a moment.
        for _ in 0..<20 {
            _ = try? runAsServerUser("rm", ["-rf", "--", target], allowFailure: true)
            if !entryExists(target) { return }
            usleep(100_000)
        }
    }

    private func createDatabaseIfMissing() throws {
        try ensureDatabase(named: Self.databaseName)
    }

    /// Creates a database of that name in the (running) cluster if it does not exist yet.
    public func ensureDatabase(named name: String) throws {
        let connection = try PostgresConnectionFactory.connect(url(database: "postgres"))
        defer { connection.close() }
        let exists = try connection.execute("select 1 from pg_database where datname = $1", binds: [name])
        if exists.rowCount == 0 {
            do {
                try connection.execute("create database \(try connection.escapeIdentifier(name))")
            } catch let error as PostgresError where error.sqlState == .duplicateDatabase {
                // Another process created it meanwhile.
            }
        }
    }

    // MARK: Stopping on purpose

    private func markStoppedOnPurpose() throws {
        let path = stopMarker.path
        unlink(path)  // whatever is there; a symbolic link is removed, never followed
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.systemError("cannot create \(path)") }
        defer { close(descriptor) }
        let text = "stopped with `inbox-warehouse db stop` at \(ISO8601DateFormatter().string(from: Date())); the scheduler does not start it again\n"
        try Self.writeAll(descriptor, Data(text.utf8), path: path)
    }

    // MARK: Processes, locks, files

    private func isRunning(_ binaries: PostgresBinaries) throws -> Bool {
        try runAsServerUser(binaries.pgCtl, ["-D", dataDirectory.path, "status"], allowFailure: true).status == 0
    }

    /// Test hook: with `INBOX_WAREHOUSE_FAILPOINT=<name>`, the tool stops at that point of
    /// creating or starting the cluster and waits to be killed (docs/reliability.md).
    private func failpoint(_ name: String) {
        guard ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_FAILPOINT"] == name else { return }
        FileHandle.standardError.write(Data("inbox-warehouse: failpoint \(name) reached\n".utf8))
        while true { sleep(3600) }
    }

    private func withLock<T>(_ account: ServerAccount, _ body: () throws -> T) throws -> T {
        let path = lockFile.path
        // Not inherited by children: an orphaned initdb or the server must never hold it.
        let descriptor = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == ELOOP {
                throw WarehouseError.configuration(
                    "\(path) is a symbolic link; refusing to open it (the tool never makes one: remove it if nobody planted it)")
            }
            throw Self.systemError("cannot open \(path)")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1, account.trusts(info.st_uid) else {
            throw WarehouseError.configuration("\(path) is not a plain file of this tool (a link, or someone else's); refusing to use it")
        }
        guard flock(descriptor, LOCK_EX) == 0 else { throw Self.systemError("cannot lock \(path)") }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    private func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.systemError("cannot open \(path)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Self.systemError("cannot sync \(path)") }
    }

    private func entryExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    private func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// A file of at most 1 MiB, read without following a symbolic link.
    private func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard let data = try? handle.read(upToCount: 1 << 20) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func writeAll(_ descriptor: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw systemError("cannot write \(path)")
                }
                offset += written
            }
        }
    }

    private static func isSymbolicLink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }
    private static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    private static func systemError(_ message: String) -> WarehouseError {
        WarehouseError.io("\(message): \(String(cString: strerror(errno)))")
    }

    @discardableResult
    private func runAsServerUser(_ executable: String, _ arguments: [String], allowFailure: Bool = false) throws -> ChildProcess.Result {
        let result: ChildProcess.Result
        if geteuid() == 0 {
            result = try ChildProcess.run(PostgresBinaries.runuser(), ["-u", "postgres", "--", executable] + arguments,
                                          currentDirectory: home)
        } else {
            result = try ChildProcess.run(executable, arguments, currentDirectory: home)
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

/// The account the embedded server runs as: the tool's own, or `postgres` when the tool runs as
/// root (PostgreSQL refuses to run as root).
struct ServerAccount {
    let uid: uid_t
    let gid: gid_t
    let name: String
    /// True when the server runs as another user than the tool.
    let isOtherUser: Bool

    static func current() throws -> ServerAccount {
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else {
                throw WarehouseError.configuration(
                    "running as root, the embedded cluster needs the `postgres` system user "
                    + "(apt-get install postgresql creates it), or run as an ordinary user")
            }
            return ServerAccount(uid: user.pointee.pw_uid, gid: user.pointee.pw_gid, name: "postgres", isOtherUser: true)
        }
        let name = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        return ServerAccount(uid: geteuid(), gid: getegid(), name: name, isOtherUser: false)
    }

    /// Root, the tool's user and the server's user may own the files and directories the tool
    /// relies on.
    func trusts(_ owner: uid_t) -> Bool { owner == 0 || owner == geteuid() || owner == uid }
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
