import ArgumentParser
import Dispatch
import Foundation
import InboxWarehouse
import InboxWarehouseWeb
import PostgresLibPQ

extension SecureCookies: ExpressibleByArgument {}

extension InboxWarehouseCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the Exports web page: on-demand and scheduled exports, notifications, downloads.",
            discussion: """
                Serves the page on --listen (default 127.0.0.1:8080; port 0 picks a free one). The \
                first line on standard output is `listening on http://HOST:PORT`. On-demand exports \
                run in this process as soon as they are asked for, and the scheduler loop runs here \
                too unless --no-scheduler. Accounts are made with `inbox-warehouse users add`. \
                SIGTERM or SIGINT stops it cleanly (the export in progress is finished first), \
                exit status 0. See docs/web.md.

                Examples:
                  inbox-warehouse users add alice --role admin
                  inbox-warehouse serve --listen 127.0.0.1:8080
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var runner: RunnerOptionGroup

        @Option(help: ArgumentHelp("HOST:PORT to listen on ([::1]:PORT for IPv6; port 0: any free port).", valueName: "host:port"))
        var listen = "127.0.0.1:8080"

        @Option(name: .customLong("exports-dir"),
                help: ArgumentHelp("Where the page's exports are written (default: $INBOX_WAREHOUSE_HOME/exports, else ./.inbox-warehouse/exports).", valueName: "dir"))
        var exportsDirectory: String?

        @Flag(name: .customLong("no-scheduler"), help: "Do not run the scheduler loop in this process.")
        var noScheduler = false

        @Option(name: .customLong("scheduler-interval"), help: ArgumentHelp("Seconds between two looks for due scheduled periods.", valueName: "seconds"))
        var schedulerInterval = 60.0

        @Option(name: .customLong("trust-user-header"),
                help: ArgumentHelp("Trust this request header (e.g. X-Remote-User) as the name of a user authenticated by a reverse proxy. Only behind a proxy that sets it and strips it from clients.", valueName: "name"))
        var trustUserHeader: String?

        @Option(name: .customLong("secure-cookies"),
                help: "Mark cookies Secure: always, never, or auto (when X-Forwarded-Proto is https, trusted only with --trust-user-header).")
        var secureCookies: SecureCookies = .auto

        @Option(name: .customLong("login-attempts"), help: "Failed logins per user name within 5 minutes before logins are refused (429).")
        var loginAttempts = 5

        func validate() throws {
            guard Self.parseListen(listen) != nil else { throw ValidationError("--listen must be HOST:PORT (port 0 to 65535)") }
            if schedulerInterval <= 0 { throw ValidationError("--scheduler-interval must be positive") }
            if loginAttempts < 1 { throw ValidationError("--login-attempts must be positive") }
            if let trustUserHeader, trustUserHeader.range(of: "^[A-Za-z0-9-]{1,64}$", options: .regularExpression) == nil {
                throw ValidationError("--trust-user-header must be a header name (letters, digits and -)")
            }
        }

        static func parseListen(_ text: String) -> (String, Int)? {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            var host = String(text[..<colon])
            guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            return (host, port)
        }

        func run() throws {
            try reportingErrors {
                let (database, report) = try connection.connectMigrated()
                database.close()
                let target = connection.target
                let base = exportsDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL }
                    ?? EmbeddedCluster.defaultHome().appendingPathComponent("exports", isDirectory: true)
                let absolute = base.path.hasPrefix("/") ? base : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(base.path)
                var configuration = WebConfiguration(
                    exportsDirectory: absolute.appendingPathComponent("on-demand").standardizedFileURL.path,
                    keepDirectory: absolute.appendingPathComponent("scheduled").standardizedFileURL.path,
                    runner: try runner.runnerOptions(), schemaVersion: report.schemaVersion)
                let (host, port) = Self.parseListen(listen)!
                configuration.host = host
                configuration.port = port
                configuration.runsScheduler = !noScheduler
                configuration.schedulerInterval = schedulerInterval
                configuration.trustedUserHeader = trustUserHeader
                configuration.secureCookies = secureCookies
                configuration.loginAttempts = loginAttempts
                let server = WebServer(configuration: configuration, connect: { try target.connect(applicationName: "inbox-warehouse serve") },
                                       log: { printStatus($0) })
                server.startBackground()
                let stop = StopSignal()
                let outcome = ServeOutcome()
                handlingInterrupts({ _ in
                    printStatus("inbox-warehouse serve: stopping")
                    stop.stop()
                }) {
                    let done = DispatchSemaphore(value: 0)
                    Task {
                        do {
                            try await server.serve(stop: stop) { url in
                                // Unbuffered, so a parent reading the pipe sees it at once.
                                FileHandle.standardOutput.write(Data("listening on \(url)\n".utf8))
                            }
                        } catch {
                            outcome.error = error
                        }
                        done.signal()
                    }
                    done.wait()
                }
                server.stopBackground()
                if let error = outcome.error { throw WarehouseError.io("serve: \(error)") }
                printStatus("inbox-warehouse serve: stopped")
            }
        }
    }
}

/// How the server's task ended, read after it has.
private final class ServeOutcome: @unchecked Sendable {
    var error: Error?
}
