import Foundation
import PostgresLibPQ

/// How every connection of the tool is opened (the CLI's targets in Database.swift, the embedded
/// cluster's administration connection): a file of its own, so that neither of those two files
/// depends on the other for it.
enum PostgresConnectionFactory {
    /// Connects with a short, settable connect timeout so an unreachable server is an error, not
    /// a hang (`PGCONNECT_TIMEOUT` or `connect_timeout` in the URL win over the default).
    static func connect(_ conninfo: String, applicationName: String = "inbox-warehouse") throws -> Connection {
        var overrides = ["fallback_application_name": applicationName]
        let environment = ProcessInfo.processInfo.environment
        if environment["PGCONNECT_TIMEOUT"] == nil && !conninfo.contains("connect_timeout") {
            overrides["connect_timeout"] = environment["INBOX_WAREHOUSE_CONNECT_TIMEOUT"] ?? "10"
        }
        return try Connection(conninfo: conninfo, overrides: overrides)
    }
}
