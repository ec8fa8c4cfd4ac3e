import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A message the server sent outside a result: NOTICE, WARNING, INFO, ...
public struct PostgresNotice: Sendable {
    public let severity: String
    public let sqlState: SQLState
    public let message: String
}

/// A `NOTIFY` received on a channel the connection listens on.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The backend process that sent it.
    public let processID: Int32
}

/// One connection to a PostgreSQL server through libpq.
///
/// The connection owns its `PGconn*`; `close()` releases it early and `deinit` releases it at the
/// latest. A connection is used by one thread at a time (it is not `Sendable`); the
/// `cancelHandle()` it hands out may be used from any thread.
public final class Connection {
    private var handle: OpaquePointer?
    private let noticeBox = NoticeBox()
    private var copyInProgress = false

    /// Connects with a libpq connection string: a URI (`postgresql://...`) or `key=value` pairs.
    ///
    /// Everything libpq reads itself applies, as in psql: the `PG*` environment variables fill
    /// what the string leaves out, `~/.pgpass` supplies passwords, `sslmode` and friends work.
    /// `overrides` are extra keywords (e.g. `connect_timeout`, `application_name`) that win over
    /// the string; an empty `conninfo` means "all from the environment".
    public init(conninfo: String, overrides: [String: String] = [:]) throws {
        var keys: [String] = ["dbname"]
        var values: [String] = [conninfo]
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            keys.append(key)
            values.append(value)
        }
        let connection: OpaquePointer? = withCStringArray(keys) { keyPointers in
            withCStringArray(values) { valuePointers in
                // expand_dbname = 1: the first `dbname` may itself be a URI or keyword string.
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresClientError.connectionFailed("out of memory")
        }
        if PQstatus(connection) != CONNECTION_OK {
            let message = String(cString: PQerrorMessage(connection)).trimmingTrailingNewlines()
            PQfinish(connection)
            throw PostgresClientError.connectionFailed(message)
        }
        handle = connection
        let context = Unmanaged.passUnretained(noticeBox).toOpaque()
        PQsetNoticeReceiver(connection, { context, result in
            guard let context, let result else { return }
            let box = Unmanaged<NoticeBox>.fromOpaque(context).takeUnretainedValue()
            guard let handler = box.handler else { return }
            func field(_ code: UInt8) -> String? {
                guard let pointer = PQresultErrorField(result, Int32(code)) else { return nil }
                return String(cString: pointer)
            }
            handler(PostgresNotice(
                severity: field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S")) ?? "NOTICE",
                sqlState: SQLState(field(UInt8(ascii: "C")) ?? "00000"),
                message: field(UInt8(ascii: "M")) ?? ""))
        }, context)
    }

    deinit { close() }

    /// Closes the connection. Further use throws.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Receives the server's notices (NOTICE, WARNING, ...). By default they are dropped.
    public var noticeHandler: ((PostgresNotice) -> Void)? {
        get { noticeBox.handler }
        set { noticeBox.handler = newValue }
    }

    /// The server's version as an integer (150004 for 15.4).
    public var serverVersion: Int {
        guard let handle else { return 0 }
        return Int(PQserverVersion(handle))
    }

    /// The backend process id serving this connection.
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    /// A connection parameter as libpq resolved it (`host`, `port`, `dbname`, `user`).
    public func parameter(_ name: String) -> String? {
        guard let handle else { return nil }
        let pointer: UnsafeMutablePointer<CChar>?
        switch name {
        case "host": pointer = PQhost(handle)
        case "port": pointer = PQport(handle)
        case "dbname": pointer = PQdb(handle)
        case "user": pointer = PQuser(handle)
        default: return serverParameter(name)
        }
        return pointer.map { String(cString: $0) }
    }

    /// A run-time parameter the server reported (`server_version`, `TimeZone`, ...).
    public func serverParameter(_ name: String) -> String? {
        guard let handle, let pointer = PQparameterStatus(handle, name) else { return nil }
        return String(cString: pointer)
    }

    func liveHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresClientError.misuse("the connection is closed") }
        if copyInProgress { throw PostgresClientError.misuse("a COPY is in progress on this connection") }
        return handle
    }

    // MARK: Statements

    /// Runs one statement with typed parameters (`$1`, `$2`, ...) sent separately from the SQL
    /// text, each with its type OID: `execute("... where job_id = $1", binds: [jobID])`.
    ///
    /// Only one statement is allowed, so a value can never smuggle in another statement.
    @discardableResult
    public func execute(_ sql: String, binds: [any PostgresBindable]) throws -> QueryResult {
        let handle = try liveHandle()
        let values = binds.map(\.postgresBind)
        let types = values.map { Oid($0.type.rawValue) }
        let result: OpaquePointer? = withOptionalCStringArray(values.map(\.text)) { valuePointers in
            types.withUnsafeBufferPointer { typePointer in
                PQexecParams(handle, sql, Int32(values.count), values.isEmpty ? nil : typePointer.baseAddress,
                             valuePointers, nil, nil, 0)
            }
        }
        return try checked(result, sql: sql)
    }

    /// Runs one statement with untyped text parameters (the server infers their types); `nil` is
    /// SQL NULL. Kept for the loader and the embedded cluster; new code passes typed `binds:`.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        let handle = try liveHandle()
        let result: OpaquePointer? = withOptionalCStringArray(parameters) { valuePointers in
            PQexecParams(handle, sql, Int32(parameters.count), nil, valuePointers, nil, nil, 0)
        }
        return try checked(result, sql: sql)
    }

    /// Runs a script of several statements (the simple query protocol), e.g. a migration file.
    /// Takes no parameters: use it only for SQL text that ships with the program.
    public func executeScript(_ sql: String) throws {
        let handle = try liveHandle()
        let result = PQexec(handle, sql)
        _ = try checked(result, sql: sql)
    }

    private func checked(_ result: OpaquePointer?, sql: String) throws -> QueryResult {
        guard let result else {
            throw PostgresClientError.connectionLost(currentErrorMessage())
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(result)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            let error = PostgresError(result: result, sql: sql)
            PQclear(result)
            throw error
        default:
            let status = String(cString: PQresStatus(PQresultStatus(result)))
            PQclear(result)
            throw PostgresClientError.unexpectedResult(status)
        }
    }

    func currentErrorMessage() -> String {
        guard let handle else { return "connection closed" }
        return String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
    }

    /// Runs `body` inside `BEGIN` ... `COMMIT`; rolls back if it throws.
    ///
    /// `mode` is appended to BEGIN (e.g. `ISOLATION LEVEL REPEATABLE READ, READ ONLY`); it is SQL
    /// text, so pass only constants.
    public func transaction<T>(_ mode: String = "", _ body: () throws -> T) throws -> T {
        try execute(mode.isEmpty ? "begin" : "begin \(mode)")
        do {
            let value = try body()
            try execute("commit")
            return value
        } catch {
            if let handle, !copyInProgress, PQtransactionStatus(handle) != PQTRANS_IDLE {
                _ = try? execute("rollback")
            }
            throw error
        }
    }

    /// Whether the connection is inside a transaction block.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    // MARK: Quoting (only for statements that cannot take parameters, such as COPY)

    /// Quotes an identifier (`"my table"`), through `PQescapeIdentifier`.
    public func escapeIdentifier(_ identifier: String) throws -> String {
        let handle = try liveHandle()
        guard let pointer = PQescapeIdentifier(handle, identifier, identifier.utf8.count) else {
            throw PostgresClientError.misuse(currentErrorMessage())
        }
        defer { PQfreemem(pointer) }
        return String(cString: pointer)
    }

    /// Quotes a literal (`'it''s'`), through `PQescapeLiteral`.
    public func escapeLiteral(_ literal: String) throws -> String {
        let handle = try liveHandle()
        guard let pointer = PQescapeLiteral(handle, literal, literal.utf8.count) else {
            throw PostgresClientError.misuse(currentErrorMessage())
        }
        defer { PQfreemem(pointer) }
        return String(cString: pointer)
    }

    // MARK: COPY

    /// Runs `COPY ... FROM STDIN`, letting `body` write the data, and returns the row count.
    ///
    /// If `body` throws, the COPY is ended with an error message (the server rolls the COPY back)
    /// and the caller's error is rethrown. A server-side failure (bad data, constraint) surfaces as
    /// a `PostgresError` carrying its SQLSTATE.
    @discardableResult
    public func copyIn(_ sql: String, bufferSize: Int = 128 * 1024,
                       _ body: (CopyInWriter) throws -> Void) throws -> Int {
        let handle = try liveHandle()
        let start = PQexec(handle, sql)
        guard let start else { throw PostgresClientError.connectionLost(currentErrorMessage()) }
        if PQresultStatus(start) != PGRES_COPY_IN {
            _ = try checked(start, sql: sql)
            throw PostgresClientError.unexpectedResult("\(sql.prefix(60)) did not start COPY FROM STDIN")
        }
        PQclear(start)
        copyInProgress = true
        let writer = CopyInWriter(handle: handle, capacity: bufferSize)
        var bodyError: Error?
        do {
            try body(writer)
            try writer.flush()
        } catch {
            bodyError = error
        }
        copyInProgress = false
        let endMessage = bodyError.map { "COPY aborted by the client: \($0)" }
        let ended = PQputCopyEnd(handle, endMessage)
        var serverError: Error?
        var rows = 0
        // Always drain every result, so the connection is usable afterwards.
        while let result = PQgetResult(handle) {
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK:
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
                PQclear(result)
            case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
                if serverError == nil { serverError = PostgresError(result: result, sql: sql) }
                PQclear(result)
            case PGRES_COPY_IN:
                // Still in COPY (putCopyEnd failed): end it again and keep draining.
                PQclear(result)
                _ = PQputCopyEnd(handle, "COPY aborted by the client")
            default:
                PQclear(result)
            }
        }
        if let bodyError { throw bodyError }
        if let serverError { throw serverError }
        if ended != 1 { throw PostgresClientError.connectionLost(currentErrorMessage()) }
        return rows
    }

    /// Runs `COPY ... TO STDOUT` and hands every chunk libpq receives (one data row each, for the
    /// text and csv formats) to `sink` without parsing it. Returns the row count.
    ///
    /// If `sink` throws, the query is cancelled on the server, the connection is drained and the
    /// caller's error is rethrown.
    @discardableResult
    public func copyOut(_ sql: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let handle = try liveHandle()
        let start = PQexec(handle, sql)
        guard let start else { throw PostgresClientError.connectionLost(currentErrorMessage()) }
        if PQresultStatus(start) != PGRES_COPY_OUT {
            _ = try checked(start, sql: sql)
            throw PostgresClientError.unexpectedResult("\(sql.prefix(60)) did not start COPY TO STDOUT")
        }
        PQclear(start)
        copyInProgress = true
        defer { copyInProgress = false }
        var sinkError: Error?
        var buffer: UnsafeMutablePointer<CChar>?
        while true {
            let length = PQgetCopyData(handle, &buffer, 0)
            if length > 0, let chunk = buffer {
                if sinkError == nil {
                    do {
                        try sink(UnsafeRawBufferPointer(start: chunk, count: Int(length)))
                    } catch {
                        sinkError = error
                        cancelHandle()?.cancel()
                    }
                }
                PQfreemem(chunk)
                buffer = nil
            } else {
                break  // -1: done; -2: error, reported by PQgetResult below
            }
        }
        var serverError: Error?
        var rows = 0
        while let result = PQgetResult(handle) {
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK:
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
            case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
                if serverError == nil { serverError = PostgresError(result: result, sql: sql) }
            default:
                break
            }
            PQclear(result)
        }
        if let sinkError { throw sinkError }
        if let serverError { throw serverError }
        return rows
    }

    // MARK: Notifications

    /// Starts listening on a `NOTIFY` channel (the name is quoted as an identifier).
    public func listen(_ channel: String) throws {
        try execute("listen \(try escapeIdentifier(channel))")
    }

    /// The notifications that arrived on the channels this connection listens on: those already
    /// received, else whatever arrives within `timeout` seconds (none when nothing came). Waits
    /// on the connection's socket (`poll`), so a listener can look at a stop flag between waits.
    public func waitForNotifications(timeout: Double) throws -> [PostgresNotification] {
        let handle = try liveHandle()
        var received = drainNotifications(handle)
        if !received.isEmpty { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw PostgresClientError.connectionLost("the connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, min(timeout, 3600)) * 1000))
        if ready < 0 && errno != EINTR {
            throw PostgresClientError.connectionLost("poll failed: errno \(errno)")
        }
        if PQconsumeInput(handle) == 0 {
            throw PostgresClientError.connectionLost(currentErrorMessage())
        }
        received = drainNotifications(handle)
        return received
    }

    private func drainNotifications(_ handle: OpaquePointer) -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let notification = PQnotifies(handle) {
            let item = notification.pointee
            received.append(PostgresNotification(channel: String(cString: item.relname),
                                                 payload: item.extra.map { String(cString: $0) } ?? "",
                                                 processID: item.be_pid))
            PQfreemem(notification)
        }
        return received
    }

    // MARK: Cancellation

    /// A handle that can ask the server to cancel the statement running on this connection,
    /// from any thread (for example a signal handler's).
    public func cancelHandle() -> CancelHandle? {
        guard let handle, let cancel = PQgetCancel(handle) else { return nil }
        return CancelHandle(cancel)
    }
}

/// Buffers COPY data and hands it to libpq in large chunks.
public final class CopyInWriter {
    private let handle: OpaquePointer
    private var buffer: [UInt8]
    private let capacity: Int

    init(handle: OpaquePointer, capacity: Int) {
        self.handle = handle
        self.capacity = capacity
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    /// Appends bytes to the COPY stream.
    public func write<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    /// Appends a string's UTF-8 bytes to the COPY stream.
    public func write(_ text: String) throws {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= capacity { try flush() }
    }

    /// Appends one byte.
    public func write(byte: UInt8) throws {
        buffer.append(byte)
        if buffer.count >= capacity { try flush() }
    }

    /// Sends what is buffered to the server.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { chars in
                PQputCopyData(handle, chars.baseAddress, Int32(chars.count))
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if status != 1 {
            throw PostgresClientError.connectionLost(String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines())
        }
    }
}

/// Asks the server to cancel the statement in progress on the connection it came from.
public final class CancelHandle: @unchecked Sendable {
    // PGcancel is documented as safe to use from another thread (and from a signal handler).
    private let cancelObject: OpaquePointer

    init(_ cancelObject: OpaquePointer) { self.cancelObject = cancelObject }
    deinit { PQfreeCancel(cancelObject) }

    /// Sends the cancel request; returns whether it was sent (not whether a statement stopped).
    @discardableResult
    public func cancel() -> Bool {
        var errorBuffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancelObject, &errorBuffer, Int32(errorBuffer.count)) == 1
    }
}

final class NoticeBox {
    var handler: ((PostgresNotice) -> Void)?
}

// MARK: C string arrays

func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if strings.isEmpty { return body(nil) }
    let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
