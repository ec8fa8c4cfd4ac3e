import ArgumentParser
import InboxWarehouse

// The command line's typed values: each option is parsed once, by argument-parser, into the
// library's own type; a bad value is a usage error (exit 64) that lists what is accepted.

extension ExportType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let type = ExportType.named(argument) else { return nil }
        self = type
    }

    public static var allValueStrings: [String] { all.map(\.slug) }
    public var defaultValueDescription: String { slug }
}

extension HeaderLocale: ExpressibleByArgument {}
extension ContentPolicy: ExpressibleByArgument {}
extension Frequency: ExpressibleByArgument {}
extension JobState: ExpressibleByArgument {}

extension RangeBound: ExpressibleByArgument {
    /// `YYYY-MM-DD`, or an RFC 3339 timestamp with an offset.
    public init?(argument: String) {
        self.init(argument)
    }
}

extension Instant: ExpressibleByArgument {
    /// An RFC 3339 timestamp with an offset (`2026-04-01T00:00:00Z`).
    public init?(argument: String) {
        self.init(argument)
    }
}
