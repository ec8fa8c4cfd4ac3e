import Foundation
import PostgresLibPQ

/// Where the warehouse's database is: a server the user names, or the embedded cluster.
public enum DatabaseTarget: Sendable {
    /// A libpq connection string or URI (`--database-url`, `DATABASE_URL`).
    case url(String)
    /// libpq's own defaults: `PG*` variables, `~/.pgpass`, the local socket (`--no-embedded`).
    case environment
    /// The private cluster under this home, started on demand.
    case embedded(EmbeddedCluster)

    /// The target the CLI uses: the explicit URL, else `DATABASE_URL`, else libpq's environment
    /// when `embedded` is false, else the embedded cluster under `INBOX_WAREHOUSE_HOME`.
    public static func resolve(url: String?, embedded: Bool = true,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> DatabaseTarget {
        if let url, !url.isEmpty { return .url(url) }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return .url(url) }
        if !embedded { return .environment }
        return .embedded(EmbeddedCluster(home: EmbeddedCluster.defaultHome(environment: environment)))
    }

    /// Opens a connection, starting the embedded cluster first when needed. With
    /// `startingStoppedCluster` false, an embedded cluster stopped with `db stop` stays stopped
    /// and `EmbeddedCluster.StoppedOnPurpose` is thrown (the scheduler waits on it).
    public func connect(applicationName: String = "inbox-warehouse", startingStoppedCluster: Bool = true) throws -> Connection {
        switch self {
        case .url(let url):
            return try PostgresConnectionFactory.connect(url, applicationName: applicationName)
        case .environment:
            return try PostgresConnectionFactory.connect("", applicationName: applicationName)
        case .embedded(let cluster):
            try cluster.ensureRunning(startingStoppedCluster: startingStoppedCluster)
            return try PostgresConnectionFactory.connect(cluster.url, applicationName: applicationName)
        }
    }

    /// The connection string for display: passwords are replaced by `****`.
    public var displayURL: String {
        switch self {
        case .url(let url): return redactPassword(url)
        case .environment: return "(libpq environment: PGHOST, PGDATABASE, ...)"
        case .embedded(let cluster): return cluster.url
        }
    }
}

/// Replaces the password in a libpq URI (`postgresql://user:secret@host`) or keyword string
/// (`password=secret`) by `****`.
public func redactPassword(_ conninfo: String) -> String {
    var text = conninfo
    if let schemeRange = text.range(of: "://") {
        let rest = text[schemeRange.upperBound...]
        if let at = rest.firstIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
            text.replaceSubrange(text.index(after: colon)..<at, with: "****")
        }
    }
    if let regex = try? NSRegularExpression(pattern: "(password\\s*=\\s*)('([^'\\\\]|\\\\.)*'|[^\\s&]+)", options: [.caseInsensitive]) {
        let range = NSRange(text.startIndex..., in: text)
        text = regex.stringByReplacingMatches(in: text, range: range, withTemplate: "$1****")
    }
    return text
}
