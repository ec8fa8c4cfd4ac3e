import CLibPQ

/// A five-character SQLSTATE code, as reported by the server.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The class: the first two characters (`23` for integrity constraint violations).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let uniqueViolation = SQLState("23505")
    public static let checkViolation = SQLState("23514")
    public static let notNullViolation = SQLState("23502")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let badCopyFileFormat = SQLState("22P04")
    public static let invalidDatetimeFormat = SQLState("22007")
    public static let datetimeFieldOverflow = SQLState("22008")
    public static let invalidParameterValue = SQLState("22023")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedFunction = SQLState("42883")
    public static let syntaxError = SQLState("42601")
    public static let insufficientPrivilege = SQLState("42501")
    public static let readOnlySQLTransaction = SQLState("25006")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let serializationFailure = SQLState("40001")
    public static let raiseException = SQLState("P0001")
    public static let invalidCatalogName = SQLState("3D000")
    public static let duplicateDatabase = SQLState("42P04")
}

/// An error the PostgreSQL server reported, with its diagnostic fields.
///
/// The description names the SQLSTATE, the server's message and the statement that failed; it
/// never contains parameter values.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public let sqlState: SQLState
    public let severity: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    public let position: String?
    public let schema: String?
    public let table: String?
    public let column: String?
    public let constraint: String?
    public let context: String?
    /// The SQL text of the statement that failed (never its parameter values).
    public let sql: String?

    public var description: String {
        var text = "\(message) (SQLSTATE \(sqlState))"
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    init(result: OpaquePointer, sql: String?) {
        func field(_ code: Int32) -> String? {
            guard let pointer = PQresultErrorField(result, code) else { return nil }
            return String(cString: pointer)
        }
        // PG_DIAG_* codes are single characters in libpq-fe.h / postgres_ext.h.
        sqlState = SQLState(field(Int32(UInt8(ascii: "C"))) ?? "XX000")
        severity = field(Int32(UInt8(ascii: "V"))) ?? field(Int32(UInt8(ascii: "S")))
        let primary = field(Int32(UInt8(ascii: "M")))
        if let primary {
            message = primary
        } else if let raw = PQresultErrorMessage(result) {
            message = String(cString: raw).trimmingTrailingNewlines()
        } else {
            message = "unknown server error"
        }
        detail = field(Int32(UInt8(ascii: "D")))
        hint = field(Int32(UInt8(ascii: "H")))
        position = field(Int32(UInt8(ascii: "P")))
        schema = field(Int32(UInt8(ascii: "s")))
        table = field(Int32(UInt8(ascii: "t")))
        column = field(Int32(UInt8(ascii: "c")))
        constraint = field(Int32(UInt8(ascii: "n")))
        context = field(Int32(UInt8(ascii: "W")))
        self.sql = sql
    }

    public init(sqlState: SQLState, message: String, sql: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        severity = "ERROR"
        detail = nil; hint = nil; position = nil; schema = nil; table = nil
        column = nil; constraint = nil; context = nil
        self.sql = sql
    }
}

/// Failures on the client side of the connection: connecting, protocol misuse, lost connection.
public enum PostgresClientError: Error, CustomStringConvertible, Sendable {
    /// The connection could not be established; `message` is libpq's explanation (no password).
    case connectionFailed(String)
    /// The connection broke or libpq reported a failure outside a server error.
    case connectionLost(String)
    /// An operation was used in a state where it cannot run (e.g. a nested COPY).
    case misuse(String)
    /// The server returned an unexpected result status for a statement.
    case unexpectedResult(String)

    public var description: String {
        switch self {
        case .connectionFailed(let message): return "could not connect to PostgreSQL: \(message)"
        case .connectionLost(let message): return "PostgreSQL connection failed: \(message)"
        case .misuse(let message): return "database client misuse: \(message)"
        case .unexpectedResult(let message): return "unexpected result from PostgreSQL: \(message)"
        }
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
