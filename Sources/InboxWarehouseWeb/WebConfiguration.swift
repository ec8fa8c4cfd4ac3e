import Foundation
import InboxWarehouse

/// When the session cookie carries `Secure`.
public enum SecureCookies: String, Sendable, CaseIterable {
    /// When the request came over HTTPS: only known behind a reverse proxy, so only with
    /// `--trust-user-header` configured (the proxy is then trusted) and `X-Forwarded-Proto: https`.
    case auto
    case always
    case never
}

/// Settings of `inbox-warehouse serve`.
public struct WebConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Where on-demand exports are written (one file and its manifest per job).
    public var exportsDirectory: String
    /// The destination of schedules that keep their files for download.
    public var keepDirectory: String
    /// A header set by a trusted reverse proxy with the authenticated user's name
    /// (e.g. `X-Remote-User`); nil: only the login form.
    public var trustedUserHeader: String?
    public var secureCookies = SecureCookies.auto
    /// Runs the scheduler loop in the server (`--no-scheduler`: false).
    public var runsScheduler = true
    public var schedulerInterval = 60.0
    public var runner: RunnerOptions
    public var schemaVersion: Int
    /// Failed logins allowed per user name in `loginWindowSeconds` (four times as many per
    /// client address) before logins are refused with 429.
    public var loginAttempts = 5
    public var loginWindowSeconds = 300.0
    public var sessionHours = 12
    public var pageSize = 20

    public init(exportsDirectory: String, keepDirectory: String, runner: RunnerOptions, schemaVersion: Int) {
        self.exportsDirectory = exportsDirectory
        self.keepDirectory = keepDirectory
        self.runner = runner
        self.schemaVersion = schemaVersion
    }
}
