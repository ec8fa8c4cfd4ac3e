import Foundation

/// What one written export file holds: the manifest beside it (`FILE.manifest.json`).
public struct ExportManifest: Codable, Sendable {
    /// The export's slug.
    public let type: String
    /// The file's name (no directory).
    public let file: String
    /// The parameters as resolved by the database: canonical zone, channels, as-of, and R as
    /// instants beside the range as given.
    public let parameters: ExportParameters
    public let rows: Int
    public let bytes: Int64
    public let sha256: String
    public let schemaVersion: Int
    public let startedAt: String
    public let finishedAt: String
    public let seconds: Double

    enum CodingKeys: String, CodingKey {
        case type, file, parameters, rows, bytes, sha256, schemaVersion = "schema_version",
             startedAt = "started_at", finishedAt = "finished_at", seconds
    }

    /// The JSON written beside the file: pretty, keys sorted, a final newline.
    func encodedForFile() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// An RFC 3339 timestamp with milliseconds, as the manifest's start and end times.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
