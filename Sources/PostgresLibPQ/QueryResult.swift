import CLibPQ

/// The rows of one statement's result. Owns its `PGresult*` and frees it on `deinit`.
///
/// Values are read as text (the text result format) and copied into Swift strings on access.
public final class QueryResult {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    /// Number of rows returned.
    public var rowCount: Int { Int(PQntuples(result)) }

    /// Number of columns returned.
    public var columnCount: Int { Int(PQnfields(result)) }

    /// Rows affected by an INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 when not applicable.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// Column names, in order.
    public var columnNames: [String] {
        (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
    }

    /// The value at (row, column) as text; `nil` for SQL NULL.
    public func value(_ row: Int, _ column: Int) -> String? {
        precondition(row < rowCount && column < columnCount, "result index out of range")
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
        return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    /// The value at (row, column named `name`) as text; `nil` for SQL NULL or an unknown column.
    public func value(_ row: Int, _ name: String) -> String? {
        let column = Int(PQfnumber(result, name))
        guard column >= 0 else { return nil }
        return value(row, column)
    }

    /// All rows as arrays of optional strings (for small results).
    public var rows: [[String?]] {
        (0..<rowCount).map { row in (0..<columnCount).map { value(row, $0) } }
    }

    /// The first column of the first row, if any.
    public var scalar: String? {
        rowCount > 0 && columnCount > 0 ? value(0, 0) : nil
    }
}
