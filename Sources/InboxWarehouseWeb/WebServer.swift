import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import InboxWarehouse
import Logging
import NIOCore
import PostgresLibPQ
import ServiceLifecycle

/// The request context: Hummingbird's core storage and the client's address (for the login
/// rate limit).
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String?
    /// The connection's event loop (downloads pace themselves on it).
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        eventLoop = source.channel.eventLoop
    }
}

/// What a handler knows about the request once the common work is done: language, session,
/// cookies, and whether cookies should be `Secure`.
struct RequestState: Sendable {
    let language: Language
    let session: WebSession?
    let cookies: [String: String]
    let isSecure: Bool
    let path: String
    /// When the page was made (RFC 3339, UTC): its event stream replays the jobs finished since.
    let renderedAt: String
}

/// `inbox-warehouse serve`: the Exports page (docs/web.md). Holds the request handlers'
/// connection pool, the event hub, and the background threads: the LISTEN connection, the
/// on-demand job worker and, unless disabled, the scheduler loop.
public final class WebServer: Sendable {
    public let configuration: WebConfiguration
    let pool: DatabasePool
    let hub = EventHub()
    let limiter: LoginRateLimiter
    let stop = StopSignal()
    let worker: JobWorker
    let listener: EventListener
    let progress: ProgressNotifier
    let connect: @Sendable () throws -> Connection
    let log: @Sendable (String) -> Void
    /// Signs the login form's CSRF token and the tokens of proxy-authenticated users; new at
    /// every start.
    let secret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    let zones = ZoneList()
    private let background = DispatchGroup()

    public init(configuration: WebConfiguration, connect: @escaping @Sendable () throws -> Connection,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.connect = connect
        self.log = log
        pool = DatabasePool(connect: connect)
        limiter = LoginRateLimiter(limit: configuration.loginAttempts, window: configuration.loginWindowSeconds)
        let progress = ProgressNotifier(connect: connect)
        self.progress = progress
        var options = configuration.runner
        options.onProgress = { jobID, rows in progress.report(jobID: jobID, rows: rows) }
        worker = JobWorker(connect: connect, schemaVersion: configuration.schemaVersion, options: options,
                           directory: configuration.exportsDirectory, stop: stop, hub: hub, log: log)
        let (pool, secret) = (self.pool, configuration.webhookSecret)
        listener = EventListener(connect: connect, hub: hub, stop: stop, log: log, onFinished: { payload in
            ScheduleWebhooks.deliver(payload: payload, secret: secret, pool: pool, log: log)
        })
    }

    // MARK: Background work

    /// Starts the LISTEN connection, the job worker and (when configured) the scheduler, and
    /// returns once the LISTEN is in place.
    public func startBackground() {
        background.enter()
        listener.start { [background] in background.leave() }
        background.enter()
        worker.start { [background] in background.leave() }
        if configuration.runsScheduler {
            var options = configuration.runner
            let progress = self.progress
            options.onProgress = { jobID, rows in progress.report(jobID: jobID, rows: rows) }
            let (interval, schemaVersion, schedulerOptions) = (configuration.schedulerInterval, configuration.schemaVersion, options)
            let (stop, connect, log, group) = (self.stop, self.connect, self.log, background)
            group.enter()
            let thread = Thread {
                Scheduler(interval: interval, options: schedulerOptions, schemaVersion: schemaVersion).run(stop: stop, connect: connect, log: log)
                group.leave()
            }
            thread.name = "inbox-warehouse-scheduler"
            thread.start()
        }
        listener.waitUntilListening(seconds: 10)
    }

    /// Ends the SSE streams, stops the background threads (a job in progress is finished
    /// first) and closes the connections.
    public func stopBackground(timeout: Double = 600) {
        stop.stop()
        hub.close()
        worker.wake()
        _ = background.wait(timeout: .now() + timeout)
        progress.close()
        pool.close()
    }

    /// Ends every open `/events` stream (before a graceful shutdown, which waits for them).
    public func closeEventStreams() {
        hub.close()
    }

    // MARK: Application

    /// The Hummingbird application on `configuration.host:port`; `onListening` hears
    /// `http://HOST:PORT` once the socket is bound.
    public func application(onListening: @escaping @Sendable (String) -> Void = { _ in }) -> some ApplicationProtocol {
        var logger = Logger(label: "inbox-warehouse-serve")
        logger.logLevel = .warning
        return Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let host = channel.localAddress?.ipAddress ?? "127.0.0.1"
                let shown = host.contains(":") ? "[\(host)]" : host
                onListening("http://\(shown):\(port)")
            },
            logger: logger)
    }

    public func router() -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: SecurityHeadersMiddleware(server: self))
        router.get("/") { _, _ in Self.redirect("/exports/on-demand") }
        router.get("/assets/app.js") { _, _ in Self.asset(Assets.javaScript, type: "text/javascript; charset=utf-8") }
        router.get("/assets/app.css") { _, _ in Self.asset(Assets.styleSheet, type: "text/css; charset=utf-8") }
        router.get("/language") { request, context in try await self.switchLanguage(request, context) }
        router.get("/login") { request, context in try await self.loginPage(request, context) }
        router.post("/login") { request, context in try await self.login(request, context) }
        router.post("/logout") { request, context in try await self.logout(request, context) }
        router.get("/exports/on-demand") { request, context in try await self.onDemandPage(request, context) }
        router.post("/exports/on-demand") { request, context in try await self.createExport(request, context) }
        router.get("/exports/scheduled") { request, context in try await self.scheduledPage(request, context) }
        router.post("/exports/scheduled") { request, context in try await self.createSchedules(request, context) }
        router.post("/exports/scheduled/:id/:action") { request, context in try await self.changeSchedule(request, context) }
        router.get("/exports/jobs/:id/download") { request, context in try await self.download(request, context) }
        router.get("/events") { request, context in try await self.events(request, context) }
        return router
    }

    // MARK: Common request work

    /// Language, cookies and session of a request.
    func state(_ request: Request, _ context: WebContext) async throws -> RequestState {
        let cookies = Self.cookies(request)
        let language = Language.choose(cookie: cookies["iw_lang"], acceptLanguage: request.headers[.acceptLanguage])
        var session: WebSession?
        if let header = configuration.trustedUserHeader, let name = request.headers[HTTPField.Name(header)!], !name.isEmpty {
            let user = try await pool.with { try UserStore(connection: $0).named(name) }
            session = user.map { WebSession(user: $0, csrfToken: self.signed("proxy-user:" + $0.name)) }
        } else if let token = cookies["iw_session"], !token.isEmpty, token.count <= 100 {
            session = try await pool.with { try SessionStore(connection: $0).find(token) }
        }
        let isSecure: Bool
        switch configuration.secureCookies {
        case .always: isSecure = true
        case .never: isSecure = false
        case .auto: isSecure = configuration.trustedUserHeader != nil && request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return RequestState(language: language, session: session, cookies: cookies, isSecure: isSecure, path: request.uri.path,
                            renderedAt: formatter.string(from: Date()))
    }

    /// The session of a page request, or the response to send instead (303 to the login page).
    func requireSession(_ state: RequestState) -> Response? {
        state.session == nil ? Self.redirect("/login") : nil
    }

    /// An administrator's POST that passed every check, or the response to send instead.
    enum AdminPost {
        case passed(RequestState, WebSession, FormData)
        case refused(Response)

        var refusal: Response? {
            if case .refused(let response) = self { return response }
            return nil
        }
    }

    /// Checks an administrator's POST in the order every such route uses: a session (else 303
    /// to the login page), the CSRF token (else 403), then the role (else 403), so a forged form
    /// and a viewer's form are told apart.
    func adminPost(_ request: Request, _ context: WebContext) async throws -> AdminPost {
        let state = try await self.state(request, context)
        guard let session = state.session else { return .refused(Self.redirect("/login")) }
        guard let form = try await checkedForm(request, expected: session.csrfToken) else {
            return .refused(errorPage(.forbidden, .csrfRefused, state))
        }
        guard session.user.role == .admin else { return .refused(errorPage(.forbidden, .forbidden, state)) }
        return .passed(state, session, form)
    }

    /// The form of a POST when its CSRF token is right, else nil.
    func checkedForm(_ request: Request, expected: String) async throws -> FormData? {
        var request = request
        let buffer = try await request.collectBody(upTo: 256 * 1024)
        let form = FormData(String(buffer: buffer))
        guard let token = form["csrf_token"], tokensMatch(token, expected) else { return nil }
        return form
    }

    func signed(_ text: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: secret))
        return Data(code).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func cookies(_ request: Request) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let name = pair[0].trimmingCharacters(in: .whitespaces)
                if cookies[name] == nil { cookies[name] = pair[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return cookies
    }

    /// A `Set-Cookie` value: always `HttpOnly`, `SameSite`, `Path=/`; `Secure` when asked.
    static func cookie(_ name: String, _ value: String, maxAge: Int?, secure: Bool, sameSite: String = "Lax", httpOnly: Bool = true) -> String {
        var text = "\(name)=\(value); Path=/; SameSite=\(sameSite)"
        if httpOnly { text += "; HttpOnly" }
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secure { text += "; Secure" }
        return text
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    static func html(_ status: HTTPResponse.Status, _ body: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func errorPage(_ status: HTTPResponse.Status, _ text: Text, _ state: RequestState?) -> Response {
        let language = state?.language ?? .en
        let body = Pages.layout(title: language.t(text), language: language, state: state, tab: nil,
                                content: "<p id=\"error\" class=\"error\">\(HTML.escape(language.t(text)))</p>")
        return Self.html(status, body)
    }

    // MARK: Language

    func switchLanguage(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        let language = request.uri.queryParameters["lang"].flatMap { Language(rawValue: String($0)) } ?? state.language
        var back = request.uri.queryParameters["back"].map(String.init) ?? "/exports/on-demand"
        // Only a path of this site: never another host (no open redirect).
        if !back.hasPrefix("/") || back.hasPrefix("//") || back.contains("\\") || back.contains("\r") || back.contains("\n") {
            back = "/exports/on-demand"
        }
        return Self.redirect(back, cookies: [Self.cookie("iw_lang", language.rawValue, maxAge: 365 * 86400, secure: state.isSecure)])
    }
}

/// Adds the security headers to every response and renders errors as pages.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let server: WebServer

    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = server.errorPage(error.status, error.status == .notFound ? .notFound : .forbidden, nil)
            if error.status != .notFound && error.status != .forbidden {
                response = Response(status: error.status, headers: [.contentType: "text/plain; charset=utf-8"],
                                    body: ResponseBody(byteBuffer: ByteBuffer(string: "\(error.status.code) \(error.status.reasonPhrase)\n")))
            }
        }
        response.headers[HTTPField.Name("Content-Security-Policy")!] = Self.contentSecurityPolicy
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }
}

/// The IANA zone names of the server (`pg_timezone_names`), read once.
final class ZoneList: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String]?

    func get(_ pool: DatabasePool) async throws -> [String] {
        if let cached = lock.withLock({ names }) { return cached }
        let loaded = try await pool.with { connection -> [String] in
            let result = try connection.execute("""
                select name from pg_timezone_names
                where name ~ '^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)/' or name = 'UTC'
                order by name
                """)
            return (0..<result.rowCount).compactMap { result.value($0, 0) }
        }
        lock.withLock { names = loaded }
        return loaded
    }
}

extension WebServer {
    /// Serves until `stop` is raised, then shuts down gracefully: the event streams end first
    /// (a graceful shutdown waits for open responses), then the listener closes and the
    /// requests in flight finish. `onListening` hears `http://HOST:PORT` once bound.
    public func serve(stop: StopSignal, onListening: @escaping @Sendable (String) -> Void) async throws {
        let app = application(onListening: onListening)
        var logger = Logger(label: "inbox-warehouse-serve")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                while !stop.isStopped && !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 100_000_000)
                }
                if Task.isCancelled { return }
                self.closeEventStreams()
                await group.triggerGracefulShutdown()
            }
            // A failure (the address is in use) ends the wait for `stop` too.
            try await tasks.waitForAll()
        }
    }
}
