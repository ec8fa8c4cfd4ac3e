import Crypto
import Foundation
import Logging
import PostgresLibPQ
#if canImport(Glibc)
import Glibc
#endif

public struct LoadOptions: Sendable {
    /// Load nothing from a file that has any reject.
    public var isStrict = false
    /// Also write every reject as an NDJSON line `{"source","line","reason","raw"}` here.
    public var rejectsPath: String?
    /// Lines per batch; each batch is one transaction.
    public var batchLines = 50_000

    public init(isStrict: Bool = false, rejectsPath: String? = nil, batchLines: Int = 50_000) {
        self.isStrict = isStrict
        self.rejectsPath = rejectsPath
        self.batchLines = batchLines
    }
}

/// What one load run did, per file and per record kind.
public struct LoadSummary: Sendable {
    public struct FileResult: Sendable {
        public var source: String
        public var loadID: Int64
        public var sha256: String?
        public var bytes: Int64 = 0
        public var lines: Int64 = 0
        public var loaded: Int64 = 0
        public var rejected: Int64 = 0
        /// With `--strict`, a file with rejects loads nothing.
        public var skippedByStrict = false
    }

    public var files: [FileResult] = []
    /// Records loaded per kind (`message`, ...).
    public var loadedByKind: [String: Int64] = [:]
    /// Records rejected per kind; lines whose kind could not be read count under `unknown`.
    public var rejectedByKind: [String: Int64] = [:]
    public var seconds: Double = 0

    public var loaded: Int64 { files.reduce(0) { $0 + $1.loaded } }
    public var rejected: Int64 { files.reduce(0) { $0 + $1.rejected } }
    public var lines: Int64 { files.reduce(0) { $0 + $1.lines } }
}

/// Progress of a running load, for a terminal display.
public struct LoadProgress: Sendable {
    public let source: String
    public let bytesRead: Int64
    public let totalBytes: Int64?
    public let lines: Int64
    public let rejected: Int64
}

/// A request to stop a running load, safe to make from any thread (a signal handler's queue).
public final class LoadCancellation: @unchecked Sendable {
    // `requested` is guarded by `lock`.
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public func cancel() { lock.withLock { requested = true } }

    public var isCancelled: Bool { lock.withLock { requested } }
}

/// Reads NDJSON event logs, validates every record, and upserts them into the `inbox` tables
/// in batches (COPY into temporary staging tables, then one set-based INSERT ... ON CONFLICT per
/// kind), keeping every reject with its source, line and reason.
public final class Loader {
    /// The first bytes of a rejected line that its reject keeps (`raw`, `raw_bytes`, `--rejects`).
    /// A longer line's reason ends with its length and SHA-256, which identify it in the input.
    public static let maximumRejectRawBytes = 64 * 1024
    /// A reason quoting a field is cut to this many bytes (a value may be a whole line long).
    static let maximumReasonBytes = 1024
    /// What a cancelled load says (exit 1 in the command line tool).
    public static let cancelledMessage =
        "cancelled: the batch in progress was rolled back; batches committed before stay, and running the load again is safe"

    /// Between batches, a table is analyzed once its changes since its last analyze reach this
    /// multiple of its rows (2: it has about tripled). The planner scales a table's row estimate
    /// by its current size in pages, so only the shape of the data goes stale in between, and the
    /// refresh reads each conversation through its indexes whatever the estimates; analyzing at
    /// every half again (0.5) spent about a ninth of a first load's server time in ANALYZE.
    static let analyzeBetweenBatchesGrowth = 2.0

    private let connection: Connection
    private let options: LoadOptions
    private let logger: Logger
    private var stagingReady = false
    /// The time zone names business_hours records may use: the server's (read in prepareStaging).
    private var zoneNames = TimeZoneNames.foundation
    private let facts: FactMaintenance
    public var progressHandler: ((LoadProgress) -> Void)?
    /// Cancels the load from another thread: it stops before its next read (within a quarter of
    /// a second, also inside a long line or on a quiet standard input) and throws
    /// `WarehouseError.io(Loader.cancelledMessage)`; the batch in progress is not committed.
    public let cancellation = LoadCancellation()

    public init(connection: Connection, options: LoadOptions = LoadOptions(),
                logger: Logger = Logger(label: "inbox-warehouse.loader")) {
        self.connection = connection
        self.options = options
        self.logger = logger
        self.facts = FactMaintenance(connection: connection)
    }

    /// Loads every source in turn. Throws on I/O or database failure; invalid records do not
    /// throw (they are counted and kept). When the `--rejects` file cannot be written completely,
    /// the load still runs to its end and then throws `RejectsFileError`, which carries the summary.
    public func load(_ sources: [LoadSource]) throws -> LoadSummary {
        let started = Date()
        var summary = LoadSummary()
        do {
            let cancellation = self.cancellation
            let rejectsOutput = try options.rejectsPath.map { try RejectsFile(path: $0, isCancelled: { cancellation.isCancelled }) }
            defer { rejectsOutput?.abandon() }
            // JIT compiles a statement when its estimated cost is high, whatever rows it really
            // touches: in a big warehouse the capture and refresh statements of a small batch are
            // estimated in the hundreds of thousands and each paid 0.1-0.3 s of compilation for a
            // few milliseconds of work (a 10k-record day took twice as long as into an empty
            // database). The facts functions already run with jit off; so does the whole load.
            try connection.execute("set jit = off")
            try prepareStaging()
            for source in sources {
                try loadOne(source, summary: &summary, rejectsOutput: rejectsOutput)
            }
            try analyzeChangedTables(summary.loadedByKind)
            try facts.analyzeGrownTables(fraction: 0.1)
            summary.seconds = Date().timeIntervalSince(started)
            if let rejectsOutput, let failure = rejectsOutput.close() {
                throw RejectsFileError(summary: summary, path: rejectsOutput.path, failure: failure,
                                       linesWritten: rejectsOutput.linesWritten, keepsWholeLines: rejectsOutput.keepsWholeLines)
            }
            return summary
        } catch let error where cancellation.isCancelled && !(error is RejectsFileError) {
            throw WarehouseError.io(Self.cancelledMessage)
        }
    }

    /// Refreshes the planner statistics of every table this run changed substantially (at least a
    /// tenth of its rows, or never analyzed), as autovacuum would, but before the next export:
    /// right after a first load the planner would otherwise see empty tables and pick plans that
    /// are orders of magnitude too slow. Small loads into big tables skip it.
    private func analyzeChangedTables(_ loadedByKind: [String: Int64]) throws {
        for kind in RecordKind.all {
            guard let loaded = loadedByKind[kind.type], loaded > 0 else { continue }
            let estimate = try connection.execute("select reltuples from pg_class where oid = $1::regclass",
                                                  ["inbox.\(kind.table)"]).scalar.flatMap(Double.init) ?? -1
            if estimate < 0 || Double(loaded) >= 0.1 * estimate {
                try connection.execute("analyze inbox.\(kind.table)")
            }
        }
    }

    private func loadOne(_ source: LoadSource, summary: inout LoadSummary, rejectsOutput: RejectsFile?) throws {
        // A strict load of standard input needs two passes: spool it to a temporary file first.
        // The spool is private and has no name (unlinked at once), so nothing of it remains
        // however the process ends; both passes read it through its descriptor.
        var spool: Int32?
        if options.isStrict && source == .standardInput {
            spool = try spoolStandardInput()
        }
        defer { if let spool { close(spool) } }

        let loadID = try connection.execute(
            "insert into warehouse.loads (source, is_strict) values ($1, $2) returning load_id",
            [source.name, options.isStrict ? "true" : "false"]).scalar.flatMap(Int64.init) ?? 0
        var file = LoadSummary.FileResult(source: source.name, loadID: loadID)
        do {
            if options.isStrict {
                // Pass 1 validates only; pass 2 loads when nothing was rejected.
                var check = BatchState(kindCount: RecordKind.all.count)
                try scan(source, spool: spool, loadID: loadID, state: &check, writeData: false,
                         file: &file, rejectsOutput: rejectsOutput)
                if file.rejected > 0 {
                    file.skippedByStrict = true
                    file.loaded = 0
                    for (kind, count) in check.rejectedByKind { summary.rejectedByKind[kind, default: 0] += count }
                    try finishLedger(file, status: "rejected")
                    summary.files.append(file)
                    return
                }
                file = LoadSummary.FileResult(source: source.name, loadID: loadID)
            }
            var state = BatchState(kindCount: RecordKind.all.count)
            try scan(source, spool: spool, loadID: loadID, state: &state, writeData: true,
                     file: &file, rejectsOutput: options.isStrict ? nil : rejectsOutput)
            for (index, count) in state.loadedByKind.enumerated() where count > 0 {
                summary.loadedByKind[RecordKind.all[index].type, default: 0] += count
            }
            for (kind, count) in state.rejectedByKind { summary.rejectedByKind[kind, default: 0] += count }
            try finishLedger(file, status: file.rejected > 0 ? "rejected" : "succeeded")
            summary.files.append(file)
        } catch {
            if connection.isInTransaction { _ = try? connection.execute("rollback") }
            let message = cancellation.isCancelled ? Self.cancelledMessage : String(describing: error)
            // Twice: a cancel request sent to the server for the statement of a batch may land on
            // this update instead.
            for _ in 0..<2 {
                let marked = try? connection.execute(
                    "update warehouse.loads set status = 'failed', finished_at = clock_timestamp(), error = $2 where load_id = $1",
                    [String(loadID), message])
                if marked != nil { break }
            }
            throw error
        }
    }

    /// Per-batch buffers: one COPY text buffer per kind, plus the rejects.
    private struct BatchState {
        var rows: [[UInt8]]
        var rowCounts: [Int]
        var rejects: [UInt8] = []
        var rejectCount = 0
        var linesInBatch = 0
        var loadedByKind: [Int64]
        var rejectedByKind: [String: Int64] = [:]

        init(kindCount: Int) {
            rows = Array(repeating: [], count: kindCount)
            rowCounts = Array(repeating: 0, count: kindCount)
            loadedByKind = Array(repeating: 0, count: kindCount)
        }

        /// Moves the current batch out (rows, rejects, line count) and starts an empty one;
        /// the running totals stay.
        mutating func takeBatch() -> BatchState {
            let batch = self
            rows = Array(repeating: [], count: rows.count)
            rowCounts = Array(repeating: 0, count: rowCounts.count)
            rejects = []
            rejectCount = 0
            linesInBatch = 0
            return batch
        }
    }

    /// Writes batches on its own thread, in order, at most one in flight.
    private final class BatchWriter: @unchecked Sendable {
        // Mutable state is guarded by `lock`; `write` runs only on `queue`.
        private let queue = DispatchQueue(label: "inbox-warehouse.loader.writer")
        private let slot = DispatchSemaphore(value: 1)
        private let lock = NSLock()
        private let write: (BatchState) throws -> [Int64]
        private var failure: Error?
        private var totals = (loadedByKind: [Int64](repeating: 0, count: RecordKind.all.count), loaded: Int64(0), rejected: Int64(0))

        init(write: @escaping (BatchState) throws -> [Int64]) { self.write = write }

        func submit(_ batch: BatchState) throws {
            slot.wait()
            if let failure = lock.withLock({ failure }) {
                slot.signal()
                throw failure
            }
            let box = UncheckedSendable(batch)
            queue.async {
                do {
                    let counts = try self.write(box.value)
                    self.lock.withLock {
                        for index in counts.indices { self.totals.loadedByKind[index] += counts[index] }
                        self.totals.loaded += counts.reduce(0, +)
                        self.totals.rejected += Int64(box.value.rejectCount)
                    }
                } catch {
                    self.lock.withLock { if self.failure == nil { self.failure = error } }
                }
                self.slot.signal()
            }
        }

        /// Waits for the batch in flight; returns the totals written, or the first failure.
        func finish() throws -> (loadedByKind: [Int64], loaded: Int64, rejected: Int64) {
            slot.wait()
            slot.signal()
            return try lock.withLock {
                if let failure { throw failure }
                return totals
            }
        }
    }

    /// Reads `source` (or the spool of standard input) once: validates every line and, with
    /// `writeData`, writes the batches; without, only the rejects (the first pass of `--strict`).
    private func scan(_ source: LoadSource, spool: Int32?, loadID: Int64, state: inout BatchState, writeData: Bool,
                      file: inout LoadSummary.FileResult, rejectsOutput: RejectsFile?) throws {
        let name = source.name
        let cancellation = self.cancellation
        var hash: String?
        var compressedBytes: Int64?
        if spool == nil, case .file(let path) = source, source.isCompressed {
            let digest = try sha256OfFile(path, isCancelled: { cancellation.isCancelled })
            hash = digest.hash
            compressedBytes = digest.bytes
        }
        let opened = try spool.map { try OpenedSource(rewinding: $0) } ?? OpenedSource(source)
        var hasher = SHA256()
        var bytesRead: Int64 = 0
        var lastProgress = Date()
        let reader = LineReader(descriptor: opened.descriptor, isCancelled: { cancellation.isCancelled })
        let zones = zoneNames
        var scratch: [UInt8] = []
        scratch.reserveCapacity(4096)
        var rejectedSoFar: Int64 = 0
        // Batches are written on a second thread while the next one is parsed (at most one in
        // flight, in order), so validation in Swift and the server's upserts overlap.
        let writer = writeData ? BatchWriter { [unowned self] batch in try self.writeBatch(batch, loadID: loadID) } : nil
        do {
        let lines = try reader.forEachLine(onChunk: { chunk in
            if hash == nil { hasher.update(bufferPointer: chunk) }
            bytesRead += Int64(chunk.count)
        }) { line in
            if isBlank(line.bytes) { return }
            state.linesInBatch += 1
            if line.isTruncated {
                let reason = "line longer than \(LineReader.defaultMaximumLineBytes) bytes"
                try reject(line, kind: nil, reason: reason, source: name, loadID: loadID, state: &state, rejectsOutput: rejectsOutput)
            } else {
                scratch.removeAll(keepingCapacity: true)
                do throws(RejectReason) {
                    let kind = try RecordValidator.validate(line.bytes, sequence: line.number, into: &scratch, zones: zones)
                    state.rows[kind].append(contentsOf: scratch)
                    state.rowCounts[kind] += 1
                } catch {
                    try reject(line, kind: error.kind, reason: error.reason, source: name, loadID: loadID,
                               state: &state, rejectsOutput: rejectsOutput)
                }
            }
            if state.linesInBatch >= options.batchLines {
                if let writer { try writer.submit(state.takeBatch()) } else { try flushRejectsOnly(&state, file: &file) }
                rejectedSoFar = state.rejectedByKind.values.reduce(0, +)
                if let handler = progressHandler, Date().timeIntervalSince(lastProgress) > 0.2 {
                    lastProgress = Date()
                    handler(LoadProgress(source: name, bytesRead: bytesRead, totalBytes: compressedBytes == nil ? opened.size : nil,
                                         lines: line.number, rejected: rejectedSoFar))
                }
            }
        }
        // Before gzip's status: a Ctrl-C also reaches gzip, which then fails.
        if cancellation.isCancelled { throw LoadCancelled() }
        try opened.finish(name: name)
        file.lines = lines
        file.sha256 = hash ?? hexadecimal(hasher.finalize())
        file.bytes = compressedBytes ?? bytesRead
        if let writer {
            try writer.submit(state.takeBatch())
            let totals = try writer.finish()
            for index in totals.loadedByKind.indices { state.loadedByKind[index] += totals.loadedByKind[index] }
            file.loaded += totals.loaded
            file.rejected += totals.rejected
        } else {
            try flushRejectsOnly(&state, file: &file)
        }
        } catch {
            // Let a batch in flight finish (or fail) before the connection is used again.
            _ = try? writer?.finish()
            throw error
        }
    }

    /// Records one reject: a COPY row for `warehouse.load_rejects` and a `--rejects` line.
    /// Linear in the line and bounded: only the line's first `maximumRejectRawBytes` are kept,
    /// the reason is cut to `maximumReasonBytes`, and a longer line's reason ends with the whole
    /// line's length and SHA-256.
    private func reject(_ line: LineReader.Line, kind: String?, reason: String, source: String, loadID: Int64,
                        state: inout BatchState, rejectsOutput: RejectsFile?) throws {
        state.rejectCount += 1
        state.rejectedByKind[kind ?? "unknown", default: 0] += 1
        let kept = keptPrefix(line.bytes, limit: Self.maximumRejectRawBytes)
        // A reason may quote the record (an unknown type, a field name); PostgreSQL text cannot
        // hold a NUL, so a decoded \u0000 in it is written back as the escape.
        var reasonText = storableReason(reason, limit: Self.maximumReasonBytes)
        if line.length > kept.count {
            let digest = line.truncatedSHA256 ?? hexadecimal(SHA256.hash(data: UnsafeRawBufferPointer(line.bytes)))
            reasonText.append(contentsOf: " (line of \(line.length) bytes, sha256 \(digest); the reject keeps its first \(kept.count) bytes)".utf8)
        }
        // `raw` is text: exact when the kept bytes are UTF-8 without NUL, else with U+FFFD for
        // invalid sequences and NULs, and then `raw_bytes` holds the exact bytes.
        let exact = isValidUTF8(kept) && (kept.isEmpty || memchr(kept.baseAddress!, 0, kept.count) == nil)
        let text = exact ? Array(kept) : storableText(kept)
        // The row is built apart and appended in place: copying the batch's growing reject
        // buffer for every reject made batches full of rejects quadratic.
        var row: [UInt8] = []
        row.reserveCapacity(128 + reasonText.count + text.count + (exact ? 0 : 2 * kept.count))
        appendDecimal(loadID, to: &row); row.append(0x09)
        appendCopyText(source, to: &row); row.append(0x09)
        appendDecimal(line.number, to: &row); row.append(0x09)
        if let kind { appendCopyText(kind, to: &row) } else { row.append(0x5C); row.append(UInt8(ascii: "N")) }
        row.append(0x09)
        reasonText.withUnsafeBufferPointer { appendCopyBytes($0, to: &row) }
        row.append(0x09)
        text.withUnsafeBufferPointer { appendCopyBytes($0, to: &row) }
        row.append(0x09)
        if exact {
            row.append(0x5C); row.append(UInt8(ascii: "N"))
        } else {
            row.append(0x5C); row.append(0x5C); row.append(UInt8(ascii: "x"))
            for byte in kept {
                row.append(hexDigits[Int(byte >> 4)])
                row.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        row.append(0x0A)
        state.rejects.append(contentsOf: row)
        rejectsOutput?.write(source: source, line: line.number, reason: reasonText, raw: text)
    }

    private func flushRejectsOnly(_ state: inout BatchState, file: inout LoadSummary.FileResult) throws {
        // Validation pass of a strict load: rejects are recorded, data is not.
        if state.rejectCount > 0 {
            file.rejected += Int64(state.rejectCount)
            try connection.transaction {
                try copyRejects(&state)
            }
        }
        for index in state.rows.indices { state.rows[index].removeAll(keepingCapacity: true); state.rowCounts[index] = 0 }
        state.linesInBatch = 0
    }

    /// Writes one batch in one transaction: every kind's rows, the rejects, the ledger progress.
    /// Returns the records written per kind.
    private func writeBatch(_ batch: BatchState, loadID: Int64) throws -> [Int64] {
        var state = batch
        var loadedNow: Int64 = 0
        let rejectedNow = Int64(state.rejectCount)
        try connection.transaction {
            for (index, kind) in RecordKind.all.enumerated() where state.rowCounts[index] > 0 {
                let staging = "stage_\(kind.table)"
                let columns = (kind.columns + ["load_sequence"]).joined(separator: ", ")
                try connection.copyIn("copy \(staging) (\(columns)) from stdin") { writer in
                    try writer.write(state.rows[index])
                }
                try facts.captureTouched(kind)
                try connection.execute(upsertSQL(kind))
                loadedNow += Int64(state.rowCounts[index])
            }
            // The facts of what the batch touched, in the same transaction as its rows.
            if loadedNow > 0 { try facts.refreshTouched() }
            try copyRejects(&state)
            try connection.execute("""
                update warehouse.loads set lines_read = lines_read + $2, records_loaded = records_loaded + $3,
                    records_rejected = records_rejected + $4
                where load_id = $1
                """, [String(loadID), String(state.linesInBatch), String(loadedNow), String(rejectedNow)])
        }
        if loadedNow > 0 { try facts.analyzeGrownTables(fraction: Self.analyzeBetweenBatchesGrowth) }
        return batch.rowCounts.map(Int64.init)
    }

    private func copyRejects(_ state: inout BatchState) throws {
        guard state.rejectCount > 0 else { return }
        let rows = state.rejects
        try connection.copyIn("copy warehouse.load_rejects (load_id, source, line_number, kind, reason, raw, raw_bytes) from stdin") { writer in
            try writer.write(rows)
        }
        state.rejects.removeAll(keepingCapacity: true)
        state.rejectCount = 0
    }

    private func finishLedger(_ file: LoadSummary.FileResult, status: String) throws {
        try connection.execute("""
            update warehouse.loads set status = $2, finished_at = clock_timestamp(), sha256 = $3, bytes = $4,
                lines_read = $5, records_loaded = $6, records_rejected = $7, counts = $8::jsonb
            where load_id = $1
            """, [String(file.loadID), status, file.sha256, String(file.bytes), String(file.lines),
                  String(file.loaded), String(file.rejected),
                  "{\"skipped_by_strict\": \(file.skippedByStrict)}"])
    }

    // MARK: Staging

    /// Creates one temporary staging table per kind (emptied at every commit).
    private func prepareStaging() throws {
        guard !stagingReady else { return }
        for kind in RecordKind.all {
            try connection.execute("""
                create temporary table if not exists stage_\(kind.table) on commit delete rows as
                select \(kind.columns.joined(separator: ", ")), 0::bigint as load_sequence
                from inbox.\(kind.table) with no data
                """)
        }
        try facts.prepare()
        zoneNames = try TimeZoneNames.server(connection)
        stagingReady = true
    }

    private var upsertCache: [String: String] = [:]

    /// The set-based upsert of one kind: the winner per key inside the batch (latest
    /// `updated_at`, then the later line), then ON CONFLICT with the re-delivery rule.
    func upsertSQL(_ kind: RecordKind) -> String {
        if let cached = upsertCache[kind.table] { return cached }
        let columns = kind.columns.joined(separator: ", ")
        let key = kind.keyColumns.joined(separator: ", ")
        let order = kind.hasUpdatedAt ? "\(key), updated_at desc nulls last, load_sequence desc" : "\(key), load_sequence desc"
        let updates = kind.columns.filter { !kind.keyColumns.contains($0) }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let condition = kind.hasUpdatedAt ? "\nwhere t.updated_at is null or excluded.updated_at >= t.updated_at" : ""
        let sql = """
            insert into inbox.\(kind.table) as t (\(columns))
            select \(columns) from (
                select distinct on (\(key)) * from stage_\(kind.table) order by \(order)
            ) as winners
            on conflict (\(key)) do update set \(updates)\(condition)
            """
        upsertCache[kind.table] = sql
        return sql
    }

    /// Copies standard input into a temporary file that only this process can read (mode 0600)
    /// and that has no name (unlinked right after it is created): a kill at any moment leaves
    /// nothing behind. Returns its descriptor.
    private func spoolStandardInput() throws -> Int32 {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
            + Array("inbox-warehouse-stdin-XXXXXX".utf8CString)
        // mkstemp creates the file with mode 0600, whatever the umask.
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw WarehouseError.io("cannot create a temporary file in \(directory) for standard input: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        do {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            let waitsForInput = !isRegularFile(0)
            while true {
                if cancellation.isCancelled { throw LoadCancelled() }
                if waitsForInput {
                    var entry = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&entry, 1, 250)
                    if ready == 0 || (ready < 0 && errno == EINTR) { continue }
                }
                let got = read(0, buffer.baseAddress, buffer.count)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw WarehouseError.io("reading standard input: \(String(cString: strerror(errno)))")
                }
                if got == 0 { break }
                try writeFully(descriptor, UnsafeRawBufferPointer(rebasing: buffer[0..<got]),
                               what: "the temporary file for standard input in \(directory)")
            }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Hands a value to another thread when the code guarantees only one thread uses it at a time.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

private func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    for byte in bytes where byte != 0x20 && byte != 0x09 && byte != 0x0D { return false }
    return true
}

/// Writes all of `bytes`, retrying short writes, EINTR and EAGAIN; throws the system's error.
private func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws {
    guard var next = bytes.baseAddress else { return }
    var remaining = bytes.count
    while remaining > 0 {
        let written = Glibc.write(descriptor, next, remaining)
        if written < 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN {
                var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
                continue
            }
            throw WarehouseError.io("cannot write \(what): \(String(cString: strerror(errno)))")
        }
        remaining -= written
        next += written
    }
}
