import CLibPQ

/// A libpq connection string taken apart by libpq itself (`PQconninfoParse`): a URI
/// (`postgresql://user@host/db?sslmode=require`) or `key=value` pairs, read exactly as a
/// connection would read it. Only the string: no environment variable, password file or service
/// file is consulted.
public struct ConnectionString: Sendable {
    /// The keywords the string sets, with their values (`host`, `dbname`, `password`, ...).
    public let keywords: [String: String]

    /// Parses `conninfo`; nil when libpq does not read it as a connection string. libpq's
    /// message is not kept: it may quote part of the string, and the string may hold a password.
    public init?(parsing conninfo: String) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var keywords: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { keywords[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.keywords = keywords
    }

    /// Whether the string itself carries a (non-empty) password.
    public var hasPassword: Bool {
        !(keywords["password"] ?? "").isEmpty
    }
}
