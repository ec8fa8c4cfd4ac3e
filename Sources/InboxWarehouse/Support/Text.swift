/// A value as quoted in a one-line message: at most 60 characters (`…` marks a cut), so a
/// hostile or mistaken input cannot flood the message. The same rule as the SQL side's
/// `export.message_text`.
func messageText(_ text: String) -> String {
    text.count <= 60 ? text : String(text.prefix(60)) + "…"
}

/// A CSV line with RFC 4180 quoting, the rule PostgreSQL's `COPY ... (FORMAT csv)` applies:
/// a cell is quoted when it holds a comma, a quote or a line break, or is empty.
func csvLine(_ cells: [String]) -> String {
    cells.map { cell in
        if cell.isEmpty || cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return cell
    }.joined(separator: ",") + "\n"
}

/// A value handed to another thread when the caller guarantees the handover is safe (one owner
/// at a time), for values the compiler cannot prove `Sendable`.
struct SendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
