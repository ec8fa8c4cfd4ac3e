/// A PostgreSQL type OID (`pg_type.oid`), as sent with a query parameter.
public struct PostgresDataType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let bool = PostgresDataType(rawValue: 16)
    public static let int8 = PostgresDataType(rawValue: 20)
    public static let int4 = PostgresDataType(rawValue: 23)
    public static let text = PostgresDataType(rawValue: 25)
    public static let float8 = PostgresDataType(rawValue: 701)
    public static let textArray = PostgresDataType(rawValue: 1009)
    public static let timestamptz = PostgresDataType(rawValue: 1184)
    public static let jsonb = PostgresDataType(rawValue: 3802)
}

/// One query parameter: its text form (nil for SQL NULL) and its type, sent apart from the SQL
/// text by `PQexecParams`. Callers never format parameters themselves: they pass values that know
/// their own form (`PostgresBindable`), after psycopg's adapters and postgres-nio's binds.
public struct PostgresBind: Sendable, Equatable {
    public let text: String?
    public let type: PostgresDataType

    public init(text: String?, type: PostgresDataType) {
        self.text = text
        self.type = type
    }

    /// SQL NULL of a type.
    public static func null(_ type: PostgresDataType) -> PostgresBind { PostgresBind(text: nil, type: type) }
}

/// A Swift value that can be a query parameter.
public protocol PostgresBindable {
    /// The value's text form and type.
    var postgresBind: PostgresBind { get }
    /// The type of the value's SQL NULL (an absent optional of this type).
    static var postgresNullType: PostgresDataType { get }
}

extension PostgresBindable {
    public static var postgresNullType: PostgresDataType { .text }
}

extension PostgresBind: PostgresBindable {
    public var postgresBind: PostgresBind { self }
}

extension String: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: self, type: .text) }
}

extension Substring: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self), type: .text) }
}

extension Int: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self), type: .int8) }
}

extension Int64: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self), type: .int8) }
}

extension Int32: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self), type: .int4) }
}

extension Bool: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: self ? "t" : "f", type: .bool) }
}

extension Double: PostgresBindable {
    /// Swift's shortest round-trip form, which PostgreSQL's float8 input reads back exactly;
    /// infinities and NaN in PostgreSQL's spelling.
    public var postgresBind: PostgresBind {
        let text: String
        if isNaN {
            text = "NaN"
        } else if isInfinite {
            text = self < 0 ? "-Infinity" : "Infinity"
        } else {
            text = String(self)
        }
        return PostgresBind(text: text, type: .float8)
    }
}

extension Array: PostgresBindable where Element == String {
    /// A `text[]` literal: every element double-quoted, `\` and `"` escaped, so any text
    /// (commas, braces, quotes, `NULL`) is one element.
    public var postgresBind: PostgresBind {
        let elements = map { element -> String in
            var quoted = "\""
            for character in element {
                if character == "\\" || character == "\"" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return PostgresBind(text: "{" + elements.joined(separator: ",") + "}", type: .textArray)
    }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public static var postgresNullType: PostgresDataType { Wrapped.postgresNullType }

    /// The wrapped value, or SQL NULL of the wrapped type.
    public var postgresBind: PostgresBind {
        switch self {
        case .some(let value): return value.postgresBind
        case .none: return PostgresBind.null(Wrapped.postgresNullType)
        }
    }
}

extension Int { public static var postgresNullType: PostgresDataType { .int8 } }
extension Int64 { public static var postgresNullType: PostgresDataType { .int8 } }
extension Int32 { public static var postgresNullType: PostgresDataType { .int4 } }
extension Bool { public static var postgresNullType: PostgresDataType { .bool } }
extension Double { public static var postgresNullType: PostgresDataType { .float8 } }
extension Array where Element == String { public static var postgresNullType: PostgresDataType { .textArray } }
