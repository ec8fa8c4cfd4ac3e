import Foundation
import HTTPTypes
import Hummingbird
import InboxWarehouse
import NIOCore
import NIOPosix
import PostgresLibPQ

/// One row of the on-demand job list.
struct JobRow: Sendable {
    let jobID: Int64
    let exportType: String
    let from: String?
    let to: String?
    let timeZone: String
    let channelIDs: [String]
    let requestedBy: String?
    let requestedAt: String
    let state: String
    let rows: Int64?
    let bytes: Int64?
    let isDownloadable: Bool
    let error: String?
    let fileName: String?
}

/// A channel of the database, for the channel pickers.
struct ChannelOption: Sendable {
    let channelID: String
    let label: String
}

/// What the export form holds: the posted values when it is shown again with an error.
struct ExportFormValues: Sendable {
    var exportType = "resolved-conversations"
    var timeZone: String?
    var from = ""
    var to = ""
    var channelIDs: [String] = []
    var language: Language?
}

extension WebServer {
    // MARK: On-demand

    func onDemandPage(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        if let response = requireSession(state) { return response }
        let page = max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1)
        let created = request.uri.queryParameters["created"].flatMap { Int64(String($0)) }
        return try await renderOnDemand(state, page: page, flash: created != nil, formError: nil, values: ExportFormValues(), status: .ok,
                                        watchJob: created)
    }

    func renderOnDemand(_ state: RequestState, page: Int, flash: Bool, formError: String?, values: ExportFormValues,
                        status: HTTPResponse.Status, watchJob: Int64? = nil) async throws -> Response {
        let pageSize = configuration.pageSize
        let (jobs, channels) = try await pool.with { connection in
            (try Self.jobRows(connection, limit: pageSize + 1, offset: (page - 1) * pageSize), try Self.channels(connection))
        }
        let zones = try await self.zones.get(pool)
        let body = Pages.onDemand(state: state, jobs: Array(jobs.prefix(pageSize)), page: page, hasNext: jobs.count > pageSize,
                                  channels: channels, zones: zones, flash: flash, formError: formError, values: values, watchJob: watchJob)
        return Self.html(status, body)
    }

    static func jobRows(_ connection: Connection, limit: Int, offset: Int) throws -> [JobRow] {
        let result = try connection.execute("""
            select j.job_id, j.export_type, j.parameters ->> 'from', j.parameters ->> 'to', coalesce(j.parameters ->> 'time_zone', 'UTC'),
                   coalesce(j.parameters -> 'channel_ids', '[]')::text, j.requested_by,
                   to_char(j.requested_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), j.state, j.rows, j.bytes,
                   j.state = 'succeeded' and j.file_path like '/%', left(j.error, 300), j.file_path
            from warehouse.export_jobs j
            where j.schedule_id is null and j.schedule_name is null
            order by j.job_id desc
            limit $1 offset $2
            """, binds: [limit, offset])
        return try (0..<result.rowCount).map { row in
            JobRow(jobID: Int64(result.value(row, 0) ?? "") ?? 0, exportType: result.value(row, 1) ?? "",
                   from: result.value(row, 2), to: result.value(row, 3), timeZone: result.value(row, 4) ?? "UTC",
                   channelIDs: try JSONDecoder().decode([String].self, from: Data((result.value(row, 5) ?? "[]").utf8)),
                   requestedBy: result.value(row, 6), requestedAt: result.value(row, 7) ?? "", state: result.value(row, 8) ?? "",
                   rows: result.value(row, 9).flatMap(Int64.init), bytes: result.value(row, 10).flatMap(Int64.init),
                   isDownloadable: result.value(row, 11) == "t", error: result.value(row, 12),
                   fileName: result.value(row, 13).map { URL(fileURLWithPath: $0).lastPathComponent })
        }
    }

    static func channels(_ connection: Connection) throws -> [ChannelOption] {
        let result = try connection.execute("""
            select channel_id, coalesce(nullif(display_name, ''), name) || ' (' || medium || ')'
            from inbox.channels order by 2, 1
            """)
        return (0..<result.rowCount).map { ChannelOption(channelID: result.value($0, 0) ?? "", label: result.value($0, 1) ?? "") }
    }

    /// "Generate export": checks the parameters exactly as `inbox-warehouse export` does (the
    /// database's resolver, the 18-month span and retention limits, the same messages), records
    /// a queued job and wakes the worker.
    func createExport(_ request: Request, _ context: WebContext) async throws -> Response {
        let checked = try await adminPost(request, context)
        guard case .passed(let state, let session, let form) = checked else { return checked.refusal! }
        var values = ExportFormValues()
        values.exportType = form["export_type"] ?? ""
        values.timeZone = form["time_zone"]
        values.from = form["from"] ?? ""
        values.to = form["to"] ?? ""
        values.channelIDs = form.all("channel").filter { !$0.isEmpty }
        values.language = form["language"].flatMap(Language.init(rawValue:))
        let parameters: ExportParameters
        let type: ExportType
        do {
            (type, parameters) = try Self.exportRequest(values, interfaceLanguage: state.language)
        } catch let error as WarehouseError {
            return try await renderOnDemand(state, page: 1, flash: false, formError: error.description, values: values, status: .unprocessableContent)
        }
        let name = session.user.name
        let outcome: Result<Int64, WarehouseError> = try await pool.with { connection in
            do {
                let exporter = Exporter(connection: connection, schemaVersion: 0, limits: .standard)
                _ = try exporter.resolve(parameters, for: [type])
                return .success(try JobRunner.enqueue(type, parameters, requestedBy: name, on: connection))
            } catch let error as WarehouseError {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let jobID):
            worker.wake()
            log("serve: job \(jobID) (\(type.slug)) queued by \(name)")
            return Self.redirect("/exports/on-demand?created=\(jobID)")
        case .failure(let error):
            return try await renderOnDemand(state, page: 1, flash: false, formError: error.description, values: values, status: .unprocessableContent)
        }
    }

    /// The export type and parameters of the form, as the command line builds them: the dates
    /// parsed as `--from`/`--to` are, the content policy from `INBOX_WAREHOUSE_CONTENT_POLICY`.
    static func exportRequest(_ values: ExportFormValues, interfaceLanguage: Language) throws -> (ExportType, ExportParameters) {
        guard let type = ExportType.named(values.exportType) else {
            throw WarehouseError.invalidParameter("unknown export type \"\(values.exportType.prefix(100))\"")
        }
        func bound(_ text: String, _ option: String) throws -> RangeBound? {
            if text.isEmpty { return nil }
            guard let bound = RangeBound(text) else {
                throw WarehouseError.invalidParameter("\(option) \"\(text.prefix(100))\" is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp")
            }
            return bound
        }
        let policy = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_CONTENT_POLICY"].flatMap(ContentPolicy.init(rawValue:)) ?? .twitter
        let parameters = ExportParameters(from: try bound(values.from, "--from"), to: try bound(values.to, "--to"),
                                          timeZone: values.timeZone ?? "UTC", channelIDs: values.channelIDs,
                                          headerLocale: (values.language ?? interfaceLanguage).headerLocale, contentPolicy: policy)
        return (type, parameters)
    }

    // MARK: Download

    /// Streams a finished job's file: by job id only (1 to 19 digits, no leading zero), the
    /// path read from the job row, never from the request. Constant memory: read in chunks.
    func download(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        if let response = requireSession(state) { return response }
        let idText = context.parameters.get("id") ?? ""
        guard idText.range(of: "^[1-9][0-9]{0,18}$", options: .regularExpression) != nil, let jobID = Int64(idText) else {
            return errorPage(.notFound, .notFound, state)
        }
        let job = try await pool.with { connection -> (String, String?, Int64?)? in
            let result = try connection.execute("""
                select file_path, sha256, bytes from warehouse.export_jobs
                where job_id = $1 and state = 'succeeded' and file_path like '/%'
                """, binds: [jobID])
            guard result.rowCount == 1, let path = result.value(0, 0) else { return nil }
            return (path, result.value(0, 1), result.value(0, 2).flatMap(Int64.init))
        }
        guard let (path, recordedSHA, recordedBytes) = job, let file = DownloadFile.open(path) else {
            return errorPage(.notFound, .notFound, state)
        }
        // The manifest beside the file names it and gives its SHA-256; the job row must agree.
        let manifest = (try? Data(contentsOf: URL(fileURLWithPath: path + ".manifest.json")))
            .flatMap { try? JSONDecoder().decode(ExportManifest.self, from: $0) }
        let sha = manifest?.sha256 ?? recordedSHA
        guard let sha, sha.count == 64, recordedSHA == nil || recordedSHA == sha,
              (manifest?.bytes ?? recordedBytes ?? file.size) == file.size, let digest = Self.bytes(hex: sha) else {
            file.close()
            return errorPage(.notFound, .notFound, state)
        }
        let fileName = manifest?.file ?? URL(fileURLWithPath: path).lastPathComponent
        let etag = "\"sha256-\(sha)\""
        var headers = HTTPFields()
        headers[.eTag] = etag
        headers[HTTPField.Name("Digest")!] = "sha-256=\(Data(digest).base64EncodedString())"
        headers[.cacheControl] = "private, no-cache"
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            file.close()
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentLength] = String(file.size)
        headers[.contentDisposition] = Self.contentDisposition(fileName)
        log("serve: job \(jobID) downloaded by \(state.session!.user.name)")
        return Response(status: .ok, headers: headers, body: file.body(pacedOn: context.eventLoop))
    }

    static func contentDisposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 32 ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "._-"))) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    static func bytes(hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    // MARK: Events

    /// Server-Sent Events: `job` and `progress`, from the server's one LISTEN connection.
    /// On connect, once, it replays what the page may have missed between being made and
    /// listening: the jobs finished since `since` (the page's time) and the state of `job` (the
    /// one just asked for, which may have finished before the page opened its stream).
    func events(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        guard state.session != nil else { return errorPage(.forbidden, .forbidden, state) }
        let (id, stream) = hub.subscribe()
        let since = request.uri.queryParameters["since"].map(String.init)
            .flatMap { $0.range(of: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}Z$", options: .regularExpression) != nil ? $0 : nil }
        let watched = request.uri.queryParameters["job"].map(String.init)
            .flatMap { $0.range(of: "^[1-9][0-9]{0,18}$", options: .regularExpression) != nil ? Int64($0) : nil }
        let replay = since == nil && watched == nil ? []
            : (try? await pool.with { try Self.finishedJobs(since: since, job: watched, $0) }) ?? []
        let hub = self.hub
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { hub.unsubscribe(id) }
            try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n" + replay.map(\.wireFormat).joined()))
            for await event in stream {
                try await writer.write(ByteBuffer(string: event.wireFormat))
            }
            try await writer.finish(nil)
        })
    }

    /// The `job` events of the jobs finished after `since` (at most 50) and of `job` if it has
    /// finished, oldest first, as their NOTIFY payloads would have said.
    static func finishedJobs(since: String?, job: Int64?, _ connection: Connection) throws -> [ServerEvent] {
        let result = try connection.execute("""
            select jsonb_build_object('job_id', j.job_id, 'state', j.state, 'type', j.export_type, 'schedule_id', j.schedule_id,
                                      'file', j.file_path, 'rows', j.rows, 'bytes', j.bytes)::text
            from warehouse.export_jobs j
            where j.state in ('succeeded', 'failed')
              and (j.finished_at > $1::timestamptz or j.job_id = $2::bigint)
            order by j.finished_at
            limit 50
            """, binds: [since, job])
        return (0..<result.rowCount).compactMap { row in
            result.value(row, 0).flatMap { EventTranslation.event(channel: exportJobsChannel, payload: $0) }
        }
    }
}

/// An open export file for a download: its descriptor and size, read in 1 MiB chunks on the
/// blocking-work threads while the response is written (one chunk in memory at a time).
final class DownloadFile: @unchecked Sendable {
    private var descriptor: Int32
    let size: Int64

    private init(descriptor: Int32, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    /// A regular file opened for reading (no symlink followed at the last component), or nil.
    static func open(_ path: String) -> DownloadFile? {
        let descriptor = Foundation.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            _ = Foundation.close(descriptor)
            return nil
        }
        return DownloadFile(descriptor: descriptor, size: Int64(status.st_size))
    }

    func close() {
        if descriptor >= 0 {
            _ = Foundation.close(descriptor)
            descriptor = -1
        }
    }

    deinit { close() }

    /// The response body. After each chunk it waits for one turn of the connection's event loop:
    /// the loop has then taken the chunk and, when the socket is behind, marked the connection
    /// unwritable, so the next write waits for the socket instead of queueing more chunks
    /// (without it, a busy loop let every fast download queue tens of megabytes).
    func body(pacedOn eventLoop: any EventLoop) -> ResponseBody {
        let size = Int(self.size)
        return ResponseBody(contentLength: size) { [self] writer in
            defer { close() }
            var remaining = size
            let threadPool = NIOThreadPool.singleton
            while remaining > 0 {
                let wanted = min(remaining, 1024 * 1024)
                let chunk: ByteBuffer = try await threadPool.runIfActive { [self] in
                    var buffer = ByteBufferAllocator().buffer(capacity: wanted)
                    let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                        let read = Foundation.read(descriptor, pointer.baseAddress, wanted)
                        return max(read, 0)
                    }
                    return count == 0 ? ByteBuffer() : buffer
                }
                guard chunk.readableBytes > 0 else { throw DownloadError.truncated }
                remaining -= chunk.readableBytes
                try await writer.write(chunk)
                try await eventLoop.submit {}.get()
            }
            try await writer.finish(nil)
        }
    }

    enum DownloadError: Error { case truncated }
}
