import Foundation

/// One column of an export: the view's column name and its English and French headers.
public struct ExportColumn: Sendable, Equatable {
    public let name: String
    public let en: String
    public let fr: String
}

/// One of the exports of ../shared/spec/exports.md: its catalogue entry and headers, declared
/// beside its view in `sql/exports/<view>.headers.tsv`. The view in schema `export` produces
/// the rows; the exporter writes these headers above them.
public struct ExportType: Sendable, Equatable {
    /// The slug used on the command line (`resolved-conversations`).
    public let slug: String
    /// A title for people.
    public let title: String
    /// The view in schema `export` that defines the rows.
    public let view: String
    /// The columns in the view's order, with their headers.
    public let columns: [ExportColumn]
    /// Whether the range may be omitted (open-conversations: the range then filters nothing).
    public let isRangeOptional: Bool
    /// Where the export sits among the others (`--all` writes them in this order).
    public let position: Int

    public static func == (lhs: ExportType, rhs: ExportType) -> Bool { lhs.slug == rhs.slug }

    /// Headers in a locale.
    public func headers(locale: HeaderLocale) -> [String] {
        columns.map { locale == .fr ? $0.fr : $0.en }
    }

    public static func named(_ slug: String) -> ExportType? {
        all.first { $0.slug == slug }
    }

    /// Every export, in catalogue order: from the header files of the SQL in use
    /// (`SQLResources.bundled()`: `INBOX_WAREHOUSE_SQL_DIR`, else the SQL compiled in). When the
    /// override cannot be read, the compiled-in catalogue stands (the migration step then reports
    /// the override's problem).
    public static let all: [ExportType] = {
        if let resources = try? SQLResources.bundled(), let catalog = try? resources.exportCatalog(), !catalog.isEmpty {
            return catalog
        }
        do {
            return try SQLResources.embedded.exportCatalog()
        } catch {
            fatalError("the export catalogue compiled into inbox-warehouse is invalid: \(error)")
        }
    }()

    /// Parses a header file: `#` comments, then the catalogue fields (`position`, `slug`,
    /// `title`, `range`: name, tab, value), then `column en fr` and one line per column
    /// (name, English header, French header).
    init(headersFile text: String, view: String, source: String) throws {
        func invalid(_ line: Int, _ why: String) -> WarehouseError {
            .schema("\(source) line \(line): \(why)")
        }
        var fields: [String: String] = [:]
        var columns: [ExportColumn] = []
        var inColumns = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if inColumns {
                guard cells.count == 3, cells.allSatisfy({ !$0.isEmpty && $0 == $0.trimmingCharacters(in: .whitespaces) }) else {
                    throw invalid(number, "a column line is: name, English header, French header, separated by single tabs")
                }
                columns.append(ExportColumn(name: cells[0], en: cells[1], fr: cells[2]))
            } else if cells == ["column", "en", "fr"] {
                inColumns = true
            } else {
                guard cells.count == 2, ["position", "slug", "title", "range"].contains(cells[0]), fields[cells[0]] == nil else {
                    throw invalid(number, "expected one of the catalogue fields position, slug, title, range (once each), or `column en fr`")
                }
                fields[cells[0]] = cells[1]
            }
        }
        guard let slug = fields["slug"], !slug.isEmpty, slug.allSatisfy({ $0.isLowercase || $0 == "-" }) else {
            throw WarehouseError.schema("\(source): `slug` is missing or not lower-case letters and hyphens")
        }
        guard let positionText = fields["position"], let position = Int(positionText) else {
            throw WarehouseError.schema("\(source): `position` is missing or not a number")
        }
        guard let range = fields["range"], range == "required" || range == "optional" else {
            throw WarehouseError.schema("\(source): `range` must be required or optional")
        }
        guard !columns.isEmpty else { throw WarehouseError.schema("\(source): no columns") }
        self.slug = slug
        self.title = fields["title"] ?? slug
        self.view = view
        self.columns = columns
        self.isRangeOptional = range == "optional"
        self.position = position
    }
}

/// The language of an export's header row.
public enum HeaderLocale: String, Sendable, CaseIterable, Codable {
    case en
    case fr
}
