import Foundation

/// HTML built from strings: every value that comes from data or from a request goes through
/// `escape` (text and attribute values alike), so nothing a user typed becomes markup.
enum HTML {
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// `<option value="v" selected>label</option>`.
    static func option(_ value: String, _ label: String, selected: Bool) -> String {
        "<option value=\"\(escape(value))\"\(selected ? " selected" : "")>\(escape(label))</option>"
    }

    /// A hidden CSRF field.
    static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"csrf_token\" value=\"\(escape(token))\">"
    }
}

/// An `application/x-www-form-urlencoded` body or query: every value of every name, in order.
struct FormData: Sendable {
    private(set) var pairs: [(String, String)] = []

    init(_ text: String) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            pairs.append((name, value))
        }
    }

    private static func decode(_ text: Substring) -> String {
        let plusless = text.replacingOccurrences(of: "+", with: " ")
        return plusless.removingPercentEncoding ?? plusless
    }

    subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}

/// Formatting of sizes and times on the pages.
enum Display {
    static func bytes(_ count: Int64?, language: Language) -> String {
        guard let count else { return "" }
        let units = language == .fr ? ["o", "Ko", "Mo", "Go"] : ["B", "KB", "MB", "GB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        let number = unit == 0 ? String(count) : String(format: "%.1f", value)
        return "\(language == .fr ? number.replacingOccurrences(of: ".", with: ",") : number) \(units[unit])"
    }

    /// `2026-03-01T09:00:00.123456Z` -> `2026-03-01 09:00 UTC`.
    static func time(_ rfc3339: String?) -> String {
        guard let rfc3339, rfc3339.count >= 16 else { return "" }
        let date = rfc3339.prefix(10)
        let clock = rfc3339.dropFirst(11).prefix(5)
        return "\(date) \(clock) UTC"
    }
}
