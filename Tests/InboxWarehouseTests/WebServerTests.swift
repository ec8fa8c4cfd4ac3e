import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InboxWarehouseWeb
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// The web page over HTTP, without a browser: a real `WebServer` on a loopback port, on a fresh
/// database of the test cluster, with its background threads (LISTEN, job worker) running.
/// The browser tests (Tests/e2e) drive the same pages in Chromium.
@Suite("Web server")
struct WebServerTests {
    @Test("login: a wrong password is refused (401), then rate-limited (429) even with the right one; a right one opens a session")
    func loginIsCheckedAndRateLimited() async throws {
        let site = try WebSite(loginAttempts: 3)
        try await site.run { client in
            var browser = Browser(client: client)
            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            #expect(login.text.contains("id=\"login-form\""))
            let loginCookie = try #require(login.setCookies.first { $0.hasPrefix("iw_login=") })
            #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict"))

            for _ in 0..<3 {
                let wrong = try await browser.login("alice", "not-the-password")
                #expect(wrong.status == .unauthorized)
                #expect(wrong.text.contains("id=\"login-error\""))
                #expect(wrong.setCookies.allSatisfy { !$0.hasPrefix("iw_session=") })
            }
            let limited = try await browser.login("alice", "alice-password")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.text.contains("id=\"login-error\""))

            // Another account is not locked by alice's failures (a name's window is its own).
            var other = Browser(client: client)
            let ok = try await other.login("victor", "victor-password")
            #expect(ok.status == .seeOther)
            #expect(ok.headers[.location] == "/exports/on-demand")
            let session = try #require(ok.setCookies.first { $0.hasPrefix("iw_session=") })
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax") && !session.contains("Secure"))
            let page = try await other.get("/exports/on-demand")
            #expect(page.status == .ok)
            #expect(page.text.contains("id=\"jobs\""))
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'self'") == true)
            #expect(!page.text.contains("<script>"), "no inline script")

            // Without a session every page sends to the login page.
            var stranger = Browser(client: client)
            let anonymous = try await stranger.get("/exports/on-demand")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/login")

            // Logout ends the session.
            let logout = try await other.post("/logout", ["csrf_token": other.csrfToken(in: page.text)])
            #expect(logout.status == .seeOther)
            #expect(logout.headers[.location] == "/login")
            #expect(try await other.get("/exports/on-demand").status == .seeOther)
        }
    }

    @Test("every POST without its CSRF token is refused with 403, and a viewer may not create (403)")
    func csrfAndRoles() async throws {
        let site = try WebSite()
        try await site.run { client in
            var stranger = Browser(client: client)
            _ = try await stranger.get("/login")
            let noToken = try await stranger.post("/login", ["username": "alice", "password": "alice-password"])
            #expect(noToken.status == .forbidden)

            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            let form = Self.exportForm(type: "teams")
            #expect(try await admin.post("/exports/on-demand", form).status == .forbidden)
            #expect(try await admin.post("/exports/on-demand", form.merging(["csrf_token": "forged"]) { $1 }).status == .forbidden)
            #expect(try await admin.post("/exports/scheduled", ["name": "x", "export_type": "teams"]).status == .forbidden)
            #expect(try await site.count("select count(*) from warehouse.export_jobs") == 0)

            var viewer = Browser(client: client)
            #expect(try await viewer.login("victor", "victor-password").status == .seeOther)
            let page = try await viewer.get("/exports/on-demand")
            #expect(!page.text.contains("id=\"export-form\""))
            #expect(page.text.contains("id=\"viewer-note\""))
            let token = try viewer.csrfToken(in: page.text)
            let refused = try await viewer.post("/exports/on-demand", form.merging(["csrf_token": token]) { $1 })
            #expect(refused.status == .forbidden)
            let schedule = try await viewer.post("/exports/scheduled", ["csrf_token": token, "name": "weekly", "export_type": "teams",
                                                                          "frequency": "weekly", "delivery": "keep"])
            #expect(schedule.status == .forbidden)
            #expect(try await site.count("select count(*) from warehouse.export_jobs") == 0)
            #expect(try await site.count("select count(*) from warehouse.export_schedules") == 0)
        }
    }

    @Test("the form is checked with the CLI's own messages (422), nothing is queued")
    func validationMessagesAreTheCLIs() async throws {
        let site = try WebSite()
        try await site.run { client in
            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            let token = try admin.csrfToken(in: try await admin.get("/exports/on-demand").text)
            let cases: [[String: String]] = [
                ["from": "2024-01-01", "to": "2026-03-30"],
                ["from": "2026-03-05", "to": "2026-03-02"],
                ["from": "2026-03-01", "to": "2026-03-02", "time_zone": "Nowhere/City"],
            ]
            for values in cases {
                let form = Self.exportForm(type: "messages").merging(values) { $1 }.merging(["csrf_token": token]) { $1 }
                let response = try await admin.post("/exports/on-demand", form)
                #expect(response.status == .unprocessableContent)
                let message = try #require(Self.formError(response.text))
                let cli = try TestSupport.runCLI(["export", "messages", "--from", values["from"]!, "--to", values["to"]!,
                                                  "--tz", values["time_zone"] ?? "Europe/Paris", "--output", "/dev/null"],
                                                 environment: ["DATABASE_URL": site.url])
                #expect(cli.status == 1)
                #expect(cli.standardError == "inbox-warehouse: error: \(message)\n")
            }
            // (The CLI records its failed attempts as jobs; the page queued none.)
            #expect(try await site.count("select count(*) from warehouse.export_jobs where requested_by is not null") == 0)
        }
    }

    @Test("a generated export is announced over SSE and downloads with the CLI's exact bytes, its name, length and SHA-256")
    func generateNotifyAndDownload() async throws {
        let site = try WebSite(loadingGolden: true)
        try await site.run { client in
            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            let token = try admin.csrfToken(in: try await admin.get("/exports/on-demand").text)

            // A browser's event stream, open before the job is asked for.
            let events = try EventStreamReader(port: try #require(client.port), cookie: admin.cookieHeader)
            defer { events.close() }
            try await events.waitFor("connected", seconds: 30)

            let form = Self.exportForm(type: "resolved-conversations").merging(["csrf_token": token, "language": "fr"]) { $1 }
            let created = try await admin.post("/exports/on-demand", form)
            #expect(created.status == .seeOther)
            let location = try #require(created.headers[.location])
            #expect(location.hasPrefix("/exports/on-demand?created="))
            let jobID = try #require(Int64(location.split(separator: "=").last ?? ""))
            let flash = try await admin.get(location)
            #expect(flash.text.contains("id=\"flash\""))

            let event = try await events.waitFor("\"state\":\"succeeded\"", seconds: 60)
            #expect(event.contains("event: job"))
            #expect(event.contains("\"job_id\":\(jobID)"))
            #expect(event.contains("\"export_type\":\"resolved-conversations\""))

            let list = try await admin.get("/exports/on-demand")
            #expect(list.text.contains("<tr data-job-id=\"\(jobID)\" data-state=\"succeeded\">"))
            #expect(list.text.contains("href=\"/exports/jobs/\(jobID)/download\""))
            #expect(list.text.contains("<td class=\"requested-by\">alice</td>"))

            let download = try await admin.get("/exports/jobs/\(jobID)/download")
            #expect(download.status == .ok)
            let bytes = Data(buffer: download.body)
            let manifestPath = try #require(site.manifestPaths().first)
            let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
            #expect(download.headers[.contentLength] == String(bytes.count))
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(manifest.file)\"; filename*=UTF-8''\(manifest.file)")
            #expect(download.headers[.eTag] == "\"sha256-\(manifest.sha256)\"")
            let digest = try #require(Self.bytes(hex: manifest.sha256))
            #expect(download.headers[HTTPField.Name("Digest")!] == "sha-256=\(Data(digest).base64EncodedString())")
            #expect(manifest.parameters.headerLocale == .fr)

            // The CLI's export of the same parameters, at the same as-of moment: the same bytes.
            let asOf = try #require(manifest.parameters.asOf)
            let output = try TestSupport.temporaryDirectory().appendingPathComponent("cli.csv").path
            let cli = try TestSupport.runCLI(["export", "resolved-conversations", "--from", "2026-03-28", "--to", "2026-03-30",
                                              "--tz", "Europe/Paris", "--header-locale", "fr", "--as-of", asOf.description,
                                              "--output", output], environment: ["DATABASE_URL": site.url])
            #expect(cli.status == 0, "\(cli.standardError)")
            #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: output))))
            #expect(bytes.count > 200)

            // The same ETag again: 304, no body.
            let again = try await admin.get("/exports/jobs/\(jobID)/download", headers: [.ifNoneMatch: "\"sha256-\(manifest.sha256)\""])
            #expect(again.status == .notModified)

            // A viewer downloads too.
            var viewer = Browser(client: client)
            #expect(try await viewer.login("victor", "victor-password").status == .seeOther)
            #expect(Data(buffer: try await viewer.get("/exports/jobs/\(jobID)/download").body) == bytes)
        }
    }

    @Test("a job id of another shape, an unknown job, or a path in the URL: 404")
    func badJobIDsAreNotFound() async throws {
        let site = try WebSite()
        try await site.run { client in
            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            // A job that failed has no file to download.
            try await site.execute("""
                insert into warehouse.export_jobs (export_type, state, file_path) values ('teams', 'failed', '/etc/passwd')
                """)
            let failedID = try await site.count("select max(job_id) from warehouse.export_jobs")
            // A finished job whose row points at a file with no manifest and no recorded SHA-256.
            try await site.execute("""
                insert into warehouse.export_jobs (export_type, state, file_path) values ('teams', 'succeeded', '/etc/passwd')
                """)
            let strayID = try await site.count("select max(job_id) from warehouse.export_jobs")
            let paths = [
                "/exports/jobs/0/download", "/exports/jobs/01/download", "/exports/jobs/abc/download", "/exports/jobs/-1/download",
                "/exports/jobs/99999/download", "/exports/jobs/12345678901234567890/download", "/exports/jobs/\(failedID)/download", "/exports/jobs/\(strayID)/download",
                "/exports/jobs/..%2F..%2Fetc%2Fpasswd/download", "/exports/jobs/1/../../../etc/passwd",
                "/exports/jobs/%2Fetc%2Fpasswd/download", "/exports/jobs/1/download/extra", "/etc/passwd",
            ]
            for path in paths {
                let response = try await admin.get(path)
                #expect(response.status == .notFound, "\(path)")
                #expect(!response.text.contains("root:"), "\(path)")
            }
        }
    }

    // MARK: Helpers

    static func exportForm(type: String) -> [String: String] {
        ["export_type": type, "time_zone": "Europe/Paris", "from": "2026-03-28", "to": "2026-03-30", "language": "en"]
    }

    static func formError(_ html: String) -> String? {
        guard let range = html.range(of: "<p id=\"form-error\" class=\"error\" role=\"alert\">"),
              let end = html[range.upperBound...].range(of: "</p>") else { return nil }
        return String(html[range.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func bytes(hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

/// A server on a fresh database with two accounts: alice (admin) and victor (viewer).
final class WebSite: Sendable {
    let url: String
    let server: WebServer
    let directory: String

    init(loginAttempts: Int = 5, loadingGolden: Bool = false, trustedUserHeader: String? = nil,
         secureCookies: SecureCookies = .auto) throws {
        let (connection, url) = try TestSupport.freshDatabase()
        defer { connection.close() }
        self.url = url
        if loadingGolden {
            let load = try TestSupport.runCLI(["load", "--quiet", TestSupport.fixture("golden/events.ndjson").path], environment: ["DATABASE_URL": url])
            guard load.status == 0 else { throw WarehouseError.io("load failed: \(load.standardError)") }
        }
        let report = try Migrator(resources: try TestSupport.sqlResources()).migrate(connection)
        try UserStore(connection: connection).add(name: "alice", role: .admin, password: "alice-password")
        try UserStore(connection: connection).add(name: "victor", role: .viewer, password: "victor-password")
        directory = try TestSupport.temporaryDirectory().path
        var configuration = WebConfiguration(exportsDirectory: directory + "/on-demand", keepDirectory: directory + "/scheduled",
                                             runner: RunnerOptions(), schemaVersion: report.schemaVersion)
        configuration.port = 0
        configuration.runsScheduler = false
        configuration.loginAttempts = loginAttempts
        configuration.trustedUserHeader = trustedUserHeader
        configuration.secureCookies = secureCookies
        server = WebServer(configuration: configuration, connect: { try Connection(conninfo: url) })
    }

    func run(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        server.startBackground()
        defer { server.stopBackground(timeout: 30) }
        let app = server.application()
        try await app.test(.live) { client in
            try await body(client)
            server.closeEventStreams()
        }
    }

    func count(_ sql: String) async throws -> Int64 {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        return Int64(try connection.execute(sql).scalar ?? "") ?? -1
    }

    func execute(_ sql: String) async throws {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        try connection.execute(sql)
    }

    func manifestPaths() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/on-demand")
            .filter { $0.hasSuffix(".manifest.json") }.map { directory + "/on-demand/" + $0 }
    }
}

/// A client that keeps cookies, as a browser does (no redirects followed).
struct Browser {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    init(client: any TestClientProtocol) { self.client = client }

    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: ByteBuffer
        var text: String { String(buffer: body) }
        var setCookies: [String] { headers[values: .setCookie] }
    }

    var cookieHeader: String { cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

    mutating func get(_ path: String, headers extra: HTTPFields = [:]) async throws -> Page {
        var headers = extra
        if !cookies.isEmpty { headers[.cookie] = cookieHeader }
        return keep(try await client.execute(uri: path, method: .get, headers: headers))
    }

    mutating func post(_ path: String, _ form: [String: String]) async throws -> Page {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = form.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        return try await postRaw(path, body)
    }

    mutating func postRaw(_ path: String, _ body: String) async throws -> Page {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if !cookies.isEmpty { headers[.cookie] = cookieHeader }
        return keep(try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)))
    }

    /// GET /login, then POST the form with its token.
    mutating func login(_ name: String, _ password: String) async throws -> Page {
        let page = try await get("/login")
        return try await post("/login", ["csrf_token": try csrfToken(in: page.text), "username": name, "password": password])
    }

    func csrfToken(in html: String) throws -> String {
        guard let range = html.range(of: "name=\"csrf_token\" value=\""),
              let end = html[range.upperBound...].firstIndex(of: "\"") else {
            throw WarehouseError.io("no csrf_token in the page")
        }
        return String(html[range.upperBound..<end])
    }

    private mutating func keep(_ response: TestResponse) -> Page {
        for cookie in response.headers[values: .setCookie] {
            let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            if cookie.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
        }
        return Page(status: response.status, headers: response.headers, body: response.body)
    }
}

/// Reads `/events` over a plain socket, as a browser's EventSource does, on a thread of its own.
final class EventStreamReader: @unchecked Sendable {
    private let descriptor: Int32
    private let condition = NSCondition()
    private var received = ""
    private var isClosed = false

    init(port: Int, cookie: String, path: String = "/events") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw WarehouseError.io("cannot connect to the server for /events") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nCookie: \(cookie)\r\n\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                condition.lock()
                if count <= 0 {
                    isClosed = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                received += String(decoding: buffer[0..<count], as: UTF8.self)
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.start()
    }

    /// Waits until the stream holds `text`; returns the event (the lines around it). Sleeps
    /// between looks instead of blocking a thread: the server's handlers share the test's
    /// cooperative threads.
    @discardableResult
    func waitFor(_ text: String, seconds: Double) async throws -> String {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while true {
            let (current, closed) = condition.withLock { (body, isClosed) }
            if current.contains(text) {
                return current.components(separatedBy: "\n\n").first { $0.contains(text) } ?? ""
            }
            if closed || Date() > deadline {
                throw WarehouseError.io("no \(text) on /events within \(seconds) s; received: \(condition.withLock { received })")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Everything received so far (the body).
    var text: String { condition.withLock { body } }

    /// The event stream so far: the response's body, its chunked transfer coding removed.
    private var body: String {
        guard let head = received.range(of: "\r\n\r\n") else { return "" }
        var rest = Substring(received[head.upperBound...])
        var decoded = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16) {
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            guard let end = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex), size > 0 else { break }
            decoded += String(rest[start..<end])
            // (The CRLF after the chunk is one Character: step over its two bytes.)
            guard let next = utf8.index(end, offsetBy: 2, limitedBy: utf8.endIndex) else { break }
            rest = rest[next...]
        }
        return decoded
    }

    func close() { shutdown(descriptor, Int32(SHUT_RDWR)); _ = Glibc.close(descriptor) }
}
