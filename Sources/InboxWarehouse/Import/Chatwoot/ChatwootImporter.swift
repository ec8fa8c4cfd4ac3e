import Foundation
import Logging
import PostgresLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `inbox-warehouse import chatwoot` is asked to do.
public struct ChatwootImportOptions: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Rows changed since the stored high-water marks (everything on the first run).
        case incremental
        /// Everything, whatever the marks say; the marks are refreshed.
        case full
        /// Rows changed at or after this instant (RFC 3339); the marks are left alone.
        case since(String)
    }

    /// The Chatwoot account (accounts.id) to import.
    public var accountID: Int64
    /// The first part of every id (`cw` in `cw:1:conversation:42`): one name per Chatwoot
    /// installation that feeds this warehouse.
    public var sourceName: String
    public var mode: Mode
    /// Chatwoot's web address (`https://app.chatwoot.com`), for conversation URLs; none without it.
    public var chatwootURL: String?
    /// Lines per loader transaction.
    public var batchLines: Int
    /// Also write every reject as an NDJSON line here (as `load --rejects`).
    public var rejectsPath: String?
    /// When another import of the same account is running: wait for it to end (a scheduled
    /// refresh, which then finds little or nothing new) instead of failing (the command line).
    public var waitsForRunningImport: Bool

    public init(accountID: Int64, sourceName: String = "cw", mode: Mode = .incremental, chatwootURL: String? = nil,
                batchLines: Int = 50_000, rejectsPath: String? = nil, waitsForRunningImport: Bool = false) {
        self.accountID = accountID
        self.sourceName = sourceName
        self.mode = mode
        self.chatwootURL = chatwootURL
        self.batchLines = batchLines
        self.rejectsPath = rejectsPath
        self.waitsForRunningImport = waitsForRunningImport
    }

    /// A source name is the first part of ids: letters, digits, `_` and `-`, at most 40.
    public static func isValidSourceName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 40 && name.unicodeScalars.allSatisfy {
            ($0.value < 128 && (CharacterSet.alphanumerics.contains($0))) || $0 == "_" || $0 == "-"
        }
    }
}

/// What one import did.
public struct ChatwootImportSummary: Sendable {
    public struct Counters: Sendable, Equatable {
        public var conversations = 0
        public var statusChanges = 0
        public var queueEntries = 0
        public var topicApplications = 0
        public var surveys = 0
        /// Private notes (messages.private): not messages to the contact, not loaded.
        public var privateNotes = 0
        /// Activity messages (message_type 2): read for status and label history, not loaded.
        public var activityMessages = 0
        /// Messages of a message_type this importer does not know.
        public var otherMessages = 0
    }

    /// `full`, `incremental` (from the stored marks) or `since <instant>`.
    public var mode: String
    /// What the loader did, all streams together (one entry in `files` per stream).
    public var load: LoadSummary
    public var counters: Counters
    /// The marks stored after the run (empty when the run leaves them alone).
    public var marks: [String: String]
}

/// Imports one Chatwoot account from its PostgreSQL database into the warehouse.
///
/// The source is read in one `REPEATABLE READ, READ ONLY` transaction on a session whose
/// transactions default to read-only, with `COPY (select …) TO STDOUT`, one statement per stream.
/// A producer thread converts each streamed row into NDJSON records (ChatwootConverter) and writes
/// them into a socket the `Loader` reads as one `LoadSource.stream`: validation, rejects,
/// re-delivery and everything else are the loader's, exactly as for `load`.
public final class ChatwootImporter {
    private let sourceConninfo: String
    private let warehouse: Connection
    private let options: ChatwootImportOptions
    private let logger: Logger

    /// Re-read this much before the stored marks: rows committed after the last import's snapshot
    /// can carry an `updated_at` (set by the application) a little older than rows it saw.
    public static let markOverlapSeconds = 600

    public init(sourceConninfo: String, warehouse: Connection, options: ChatwootImportOptions,
                logger: Logger = Logger(label: "inbox-warehouse.import.chatwoot")) {
        self.sourceConninfo = sourceConninfo
        self.warehouse = warehouse
        self.options = options
        self.logger = logger
    }

    /// The key of the session advisory lock (`pg_advisory_lock(hashtext(key))` in the warehouse)
    /// held while an account is imported.
    public static func lockKey(sourceName: String, accountID: Int64) -> String {
        "inbox-warehouse:import:chatwoot:\(sourceName):\(accountID)"
    }

    /// Tables whose marks decide an incremental run.
    static let markedTables = ["contacts", "conversations", "messages", "reporting_events", "taggings", "csat_survey_responses"]

    public func run() throws -> ChatwootImportSummary {
        guard ChatwootImportOptions.isValidSourceName(options.sourceName) else {
            throw WarehouseError.invalidParameter("--source-name must be 1 to 40 letters, digits, _ or -")
        }
        guard options.accountID > 0 else { throw WarehouseError.invalidParameter("--account-id must be a positive integer") }

        // One import of an account at a time: a scheduled refresh waits for the running one.
        let lockKey = Self.lockKey(sourceName: options.sourceName, accountID: options.accountID)
        if options.waitsForRunningImport {
            try warehouse.execute("select pg_advisory_lock(hashtext($1))", [lockKey])
        } else if try warehouse.execute("select pg_try_advisory_lock(hashtext($1))", [lockKey]).scalar != "t" {
            throw WarehouseError.configuration("another import of Chatwoot account \(options.accountID) (source \(options.sourceName)) is running")
        }
        defer { _ = try? warehouse.execute("select pg_advisory_unlock(hashtext($1))", [lockKey]) }

        let source = try openSource()
        defer { source.close() }
        let schema = try ChatwootSchema.read(source)
        guard try source.execute("select 1 from accounts where id = $1", [String(options.accountID)]).rowCount == 1 else {
            throw WarehouseError.invalidParameter("the Chatwoot source has no account \(options.accountID)")
        }

        let storedMarks = try readMarks()
        let (since, modeName) = try changedSince(source: source, marks: storedMarks)
        let queries = ChatwootQueries(schema: schema, account: options.accountID, since: since)
        let converter = ChatwootConverter(sourceName: options.sourceName, accountID: options.accountID,
                                          chatwootURL: options.chatwootURL)

        typealias RowHandler = (ChatwootConverter, [String?], ([UInt8]) throws -> Void) throws -> Void
        let single: (@escaping (ChatwootConverter) -> ([String?]) -> [UInt8]?) -> RowHandler = { convert in
            { converter, row, emit in if let line = convert(converter)(row) { try emit(line) } }
        }
        let streams: [(name: String, sql: String, handler: RowHandler)] = [
            ("inboxes", queries.inboxes, single { $0.inbox }),
            ("users", queries.users, single { $0.user }),
            ("agent_bots", queries.bots, single { $0.bot }),
            ("teams", queries.teams, single { $0.team }),
            ("labels", queries.labels, single { $0.label }),
            ("contacts", queries.contacts, single { $0.contact }),
            ("contact_attributes", queries.contactAttributes, single { $0.contactAttribute }),
        ]

        // Taken before any producer thread uses the connection; used to stop the source's query
        // when the loader fails.
        let sourceCancel = source.cancelHandle()
        // The loader would start the rejects file again at every stream: the import writes it
        // once, at the end, from warehouse.load_rejects. Opened now, so a bad path fails first.
        let rejectsFile = try options.rejectsPath.map { try RejectsFile(path: $0) }
        defer { rejectsFile?.abandon() }
        let loader = Loader(connection: warehouse, options: LoadOptions(batchLines: options.batchLines), logger: logger)
        var summary = LoadSummary()
        let started = Date()
        for stream in streams {
            try load(stream: stream.name, loader: loader, cancel: sourceCancel, into: &summary) { emit in
                try source.copyOut(stream.sql) { chunk in
                    try stream.handler(converter, CopyTextRow.decode(chunk), emit)
                }
            }
        }
        try load(stream: "conversations", loader: loader, cancel: sourceCancel, into: &summary) { emit in
            var bundle = ChatwootConverter.Bundle()
            var currentID: String?
            try source.copyOut(queries.conversations) { chunk in
                let row = CopyTextRow.decode(chunk)
                if row.first ?? nil != currentID {
                    try converter.conversation(bundle, emit: emit)
                    bundle = ChatwootConverter.Bundle()
                    currentID = row.first ?? nil
                }
                ChatwootConverter.add(row, to: &bundle)
            }
            try converter.conversation(bundle, emit: emit)
        }
        summary.seconds = Date().timeIntervalSince(started)
        try source.execute("commit")
        if let rejectsFile { try writeRejects(of: summary, to: rejectsFile) }

        var marks: [String: String] = [:]
        if case .since = options.mode {
            // A window read: the marks still say what the last complete run saw.
        } else {
            marks = try storeMarks(converter.maxima, previous: storedMarks)
        }
        return ChatwootImportSummary(mode: modeName, load: summary, counters: converter.counters, marks: marks)
    }

    // MARK: Source

    private func openSource() throws -> Connection {
        let source = try PostgresConnectionFactory.connect(sourceConninfo, applicationName: "inbox-warehouse import chatwoot")
        do {
            // Never write to the source: every transaction of this session is read-only, and the
            // snapshot is one REPEATABLE READ transaction. Instants are read in UTC.
            try source.execute("set default_transaction_read_only = on")
            try source.execute("set timezone = 'UTC'")
            try source.execute("set client_encoding = 'UTF8'")
            try source.execute("begin transaction isolation level repeatable read, read only")
            guard try source.execute("select current_setting('transaction_read_only')").scalar == "on" else {
                throw WarehouseError.configuration("the source session could not be made read-only")
            }
        } catch {
            source.close()
            throw error
        }
        return source
    }

    /// The incremental filters, or nil for a full read; and the mode's name for the summary.
    private func changedSince(source: Connection, marks: [String: (updatedAt: String?, id: Int64?)?]) throws
        -> (ChatwootQueries.ChangedSince?, String) {
        func literal(_ instant: String, overlap: Int) throws -> String {
            // The instant is parsed by the source server (timestamptz, UTC session) into the
            // `timestamp` Chatwoot's columns hold.
            let text = try source.execute("select ($1::timestamptz - make_interval(secs => $2))::timestamp::text",
                                          [instant, String(overlap)]).scalar ?? instant
            return "\(try source.escapeLiteral(text))::timestamp"
        }
        switch options.mode {
        case .full:
            return (nil, "full")
        case .since(let instant):
            let value: String
            do {
                value = try literal(instant, overlap: 0)
            } catch is PostgresError {
                throw WarehouseError.invalidParameter("--since \(instant): not an instant (use RFC 3339, e.g. 2026-03-01T00:00:00Z)")
            }
            return (ChatwootQueries.ChangedSince(contacts: value, conversations: value, messages: value, reportingEvents: value,
                                                 taggingsCreated: value, csatResponses: value, taggingsID: Int64.max), "since \(instant)")
        case .incremental:
            // Without the marks of a complete run (the first import, or marks of an older version
            // that lacks a table) read everything. A table that had no rows has a mark without a
            // value: all its rows are new.
            if marks.isEmpty { return (nil, "full (first import)") }
            if let table = Self.markedTables.first(where: { marks[$0] == nil }) { return (nil, "full (no mark for \(table))") }
            let overlap = Self.markOverlapSeconds
            func mark(_ table: String) throws -> String {
                try literal(marks[table]??.updatedAt ?? "1970-01-01T00:00:00Z", overlap: overlap)
            }
            return (ChatwootQueries.ChangedSince(
                contacts: try mark("contacts"), conversations: try mark("conversations"), messages: try mark("messages"),
                reportingEvents: try mark("reporting_events"), taggingsCreated: try mark("taggings"),
                csatResponses: try mark("csat_survey_responses"), taggingsID: marks["taggings"]??.id ?? 0), "incremental")
        }
    }

    // MARK: Streams

    /// Streams one source query through the loader: `produce` runs on a thread of its own and
    /// writes NDJSON lines; the loader reads them from a socket as one source.
    private func load(stream: String, loader: Loader, cancel: CancelHandle?, into summary: inout LoadSummary,
                      produce: @escaping (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, streamSocketType, 0, &ends) == 0 else {
            throw WarehouseError.io("cannot create a socket pair: \(String(cString: strerror(errno)))")
        }
        let readEnd = ends[0], writeEnd = ends[1]
        #if canImport(Darwin)
        var on: Int32 = 1
        _ = setsockopt(writeEnd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif
        // The loader gets a descriptor of its own (it closes it); ours lets us stop the producer
        // by shutting the socket down whatever happened to the loader's.
        let loaderEnd = dup(readEnd)
        guard loaderEnd >= 0 else {
            close(readEnd); close(writeEnd)
            throw WarehouseError.io("cannot duplicate a descriptor: \(String(cString: strerror(errno)))")
        }
        let producer = Producer(descriptor: writeEnd, produce: produce)
        let thread = Thread { producer.run() }
        thread.stackSize = 1 << 22
        thread.start()
        let name = "chatwoot:\(options.sourceName)/accounts/\(options.accountID)/\(stream)"
        var loadError: Error?
        var streamSummary: LoadSummary?
        do {
            streamSummary = try loader.load([.stream(name: name, descriptor: loaderEnd)])
        } catch {
            loadError = error
            // Stop the source's query rather than wait for its next row.
            _ = cancel?.cancel()
        }
        shutdown(readEnd, Int32(SHUT_RDWR))
        let producerError = producer.wait()
        close(readEnd)
        if let loadError { throw loadError }
        guard let streamSummary else { return }
        if let producerError {
            // The loader saw the end of a stream that was cut short: say so in its ledger.
            for file in streamSummary.files {
                _ = try? warehouse.execute(
                    "update warehouse.loads set status = 'failed', error = $2 where load_id = $1",
                    [String(file.loadID), "the Chatwoot source failed while streaming: \(producerError)"])
            }
            throw producerError
        }
        summary.files.append(contentsOf: streamSummary.files)
        for (kind, count) in streamSummary.loadedByKind { summary.loadedByKind[kind, default: 0] += count }
        for (kind, count) in streamSummary.rejectedByKind { summary.rejectedByKind[kind, default: 0] += count }
    }

    /// Copies the run's rejects from warehouse.load_rejects into the `--rejects` file, in the
    /// loader's format.
    private func writeRejects(of summary: LoadSummary, to file: RejectsFile) throws {
        let loadIDs = "{" + summary.files.map { String($0.loadID) }.joined(separator: ",") + "}"
        if summary.rejected > 0 {
            let rejects = try warehouse.execute("""
                select source, line_number, reason, raw from warehouse.load_rejects
                where load_id = any($1::bigint[]) order by load_id, line_number
                """, [loadIDs])
            for row in 0..<rejects.rowCount {
                file.write(source: rejects.value(row, 0) ?? "", line: rejects.value(row, 1).flatMap(Int64.init) ?? 0,
                           reason: Array((rejects.value(row, 2) ?? "").utf8), raw: Array((rejects.value(row, 3) ?? "").utf8))
            }
        }
        if let failure = file.close() {
            throw WarehouseError.io("could not write the rejects file \(file.path): \(failure); "
                                    + "every reject is in warehouse.load_rejects (load_id \(loadIDs.dropFirst().dropLast()))")
        }
    }

    // MARK: Marks

    /// The stored marks per table; a table read before without any row has a mark of nils.
    private func readMarks() throws -> [String: (updatedAt: String?, id: Int64?)?] {
        let result = try warehouse.execute("""
            select source_table, to_char(max_updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), max_id
            from warehouse.import_marks
            where source_kind = 'chatwoot' and source_name = $1 and account_id = $2
            """, [options.sourceName, String(options.accountID)])
        var marks: [String: (updatedAt: String?, id: Int64?)?] = [:]
        for row in 0..<result.rowCount {
            guard let table = result.value(row, 0) else { continue }
            marks[table] = (result.value(row, 1), result.value(row, 2).flatMap(Int64.init))
        }
        return marks
    }

    /// Stores, per table, the later of the previous mark and what this run saw.
    private func storeMarks(_ seen: [String: (updatedAt: String?, id: Int64?)],
                            previous: [String: (updatedAt: String?, id: Int64?)?]) throws -> [String: String] {
        var stored: [String: String] = [:]
        try warehouse.transaction {
            for table in Self.markedTables {
                let old = previous[table] ?? nil, new = seen[table]
                let updatedAt = [old?.updatedAt, new?.updatedAt].compactMap { $0 }.max()
                let id = [old?.id, new?.id].compactMap { $0 }.max()
                try warehouse.execute("""
                    insert into warehouse.import_marks (source_kind, source_name, account_id, source_table, max_updated_at, max_id)
                    values ('chatwoot', $1, $2, $3, $4::timestamptz, $5)
                    on conflict (source_kind, source_name, account_id, source_table) do update
                    set max_updated_at = excluded.max_updated_at, max_id = excluded.max_id, imported_at = clock_timestamp()
                    """, [options.sourceName, String(options.accountID), table, updatedAt, id.map(String.init)])
                stored[table] = [updatedAt, id.map { "id \($0)" }].compactMap { $0 }.joined(separator: ", ")
                if stored[table]?.isEmpty ?? true { stored[table] = "(no rows yet)" }
            }
        }
        return stored
    }
}

/// Runs a producer on its own thread, writing into a socket; reports its error when done.
private final class Producer: @unchecked Sendable {
    // `failure` is written by the producer thread before it signals `done`, read after `wait`.
    private let descriptor: Int32
    private let produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void
    private let done = DispatchSemaphore(value: 0)
    private var failure: Error?

    init(descriptor: Int32, produce: @escaping (_ emit: ([UInt8]) throws -> Void) throws -> Void) {
        self.descriptor = descriptor
        self.produce = produce
    }

    func run() {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        do {
            try produce { line in
                buffer.append(contentsOf: line)
                if buffer.count >= 1 << 16 {
                    try self.send(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try send(buffer)
        } catch {
            failure = error
        }
        close(descriptor)
        done.signal()
    }

    func wait() -> Error? {
        done.wait()
        return failure
    }

    private func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                sendWithoutSignal(descriptor, raw.baseAddress! + offset, bytes.count - offset)
            }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw WarehouseError.io("the loader stopped reading the import stream") }
                throw WarehouseError.io("writing the import stream failed: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }
}

#if canImport(Glibc)
private let streamSocketType = Int32(SOCK_STREAM.rawValue)

/// send(2) that reports a closed peer as EPIPE instead of raising SIGPIPE.
private func sendWithoutSignal(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Glibc.send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
}
#else
private let streamSocketType = SOCK_STREAM

/// send(2) on a socket with SO_NOSIGPIPE set: a closed peer is EPIPE, not SIGPIPE.
private func sendWithoutSignal(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Darwin.send(descriptor, bytes, count, 0)
}
#endif
