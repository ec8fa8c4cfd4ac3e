import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an export (or all twelve) as CSV.",
            discussion: """
                Types: \(ExportType.all.map(\.slug).joined(separator: ", ")).

                The range is inclusive dates read in --tz (R = [from 00:00, to+1 day 00:00)), or \
                RFC 3339 timestamps (R = [from, to)). Every timestamp is written in --tz. A regular \
                file is written under a temporary name and renamed when complete, with \
                FILE.manifest.json beside it. Standard output (-, /dev/stdout, /dev/fd/N), \
                character devices (/dev/null) and FIFOs are written in place, with no manifest: \
                they are never replaced by a file.

                Examples:
                  inbox-warehouse export resolved-conversations --from 2026-03-01 --to 2026-03-31 --tz Europe/Paris --output resolved.csv
                  inbox-warehouse export messages --from 2026-03-01 --to 2026-03-07 --channel ch-wa-1 --output -
                  inbox-warehouse export --all --from 2026-03-01 --to 2026-03-31 --output-dir out/
                """)

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: ArgumentHelp("The export type (omit with --all).", valueName: "type"))
        var type: ExportType?

        @Flag(help: "Write all twelve exports into --output-dir, from one snapshot.")
        var all = false

        @Option(help: ArgumentHelp("First day (YYYY-MM-DD) or instant (RFC 3339) of the range.", valueName: "date"))
        var from: RangeBound?

        @Option(help: ArgumentHelp("Last day (inclusive) or end instant (exclusive) of the range.", valueName: "date"))
        var to: RangeBound?

        @Option(help: ArgumentHelp("IANA time zone for the range and the timestamps, any case (europe/paris is Europe/Paris).", valueName: "zone"))
        var tz = "UTC"

        @Option(name: .customLong("channel"), help: ArgumentHelp("Only conversations of this channel (repeatable).", valueName: "id"))
        var channels: [String] = []

        @Option(name: .customLong("as-of"), help: ArgumentHelp("The moment of the export (RFC 3339 with an offset); default now.", valueName: "timestamp"))
        var asOf: Instant?

        @Option(name: .customLong("header-locale"), help: "Header language.")
        var headerLocale: HeaderLocale = .en

        @Flag(help: "Start the file with a UTF-8 byte-order mark (for spreadsheets).")
        var bom = false

        @Flag(name: .customLong("safe-spreadsheet"),
              help: "Prefix a ' to cells starting with =, +, -, @, tab or CR, so spreadsheets never run them as formulas (OWASP CSV injection). Off by default: data round-trips exactly.")
        var safeSpreadsheet = false

        @Flag(help: "Print a JSON summary (the manifests) on standard output.")
        var json = false

        @Option(name: .customLong("content-policy"),
                help: "Message content: twitter (content only for TWITTER channels, the default), all, none. Default from $INBOX_WAREHOUSE_CONTENT_POLICY.")
        var contentPolicy: ContentPolicy?

        @Option(name: .customLong("max-span-months"), help: "The longest range allowed, in calendar months.")
        var maxSpanMonths = 18

        @Option(name: .customLong("retention-months"), help: "Data older than this many months before --as-of is not exportable.")
        var retentionMonths = 18

        @Option(help: ArgumentHelp("The output file, or - for standard output. Devices, FIFOs and /dev/stdout, /dev/stderr, /dev/fd/N are written in place, without a manifest.", valueName: "file"))
        var output: String?

        @Option(name: .customLong("output-dir"), help: ArgumentHelp("With --all: the directory for <type>.csv files.", valueName: "dir"))
        var outputDirectory: String?

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            if all {
                if type != nil { throw ValidationError("give either a type or --all, not both") }
                if outputDirectory == nil { throw ValidationError("--all needs --output-dir DIR") }
            } else {
                if type == nil { throw ValidationError("name an export type, or --all") }
                if output == nil { throw ValidationError("name the output with --output FILE (or - for standard output)") }
            }
            if json, let output, output == "-" || OutputTarget.standardStreamDescriptor(output) == 1 {
                throw ValidationError("--json prints on standard output: it cannot be combined with --output \(output)")
            }
            if contentPolicy == nil, let value = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_CONTENT_POLICY"],
               ContentPolicy(rawValue: value) == nil {
                throw ValidationError("INBOX_WAREHOUSE_CONTENT_POLICY must be twitter, all or none")
            }
            if maxSpanMonths < 1 || retentionMonths < 1 { throw ValidationError("month limits must be positive") }
        }

        /// The request, built once from the parsed options.
        var request: ExportRequest {
            let policy = contentPolicy
                ?? ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_CONTENT_POLICY"].flatMap(ContentPolicy.init(rawValue:))
                ?? .twitter
            let parameters = ExportParameters(from: from, to: to, timeZone: tz, channelIDs: channels, asOf: asOf,
                                              headerLocale: headerLocale, contentPolicy: policy,
                                              includesBOM: bom, isSpreadsheetSafe: safeSpreadsheet)
            let limits = ExportLimits(maximumSpanMonths: maxSpanMonths, retentionMonths: retentionMonths)
            if all, let outputDirectory { return .all(parameters, into: outputDirectory, limits: limits) }
            return .single(type ?? ExportType.all[0], parameters, to: output ?? "-", limits: limits)
        }

        func run() throws {
            try reportingErrors {
                let request = self.request
                let (database, report) = try connection.connectMigrated()
                let quiet = self.quiet
                // Every export goes through the job runner: recorded as jobs (announced with
                // NOTIFY and the webhook, docs/scheduling.md) when the role may write them.
                let runner = JobRunner(connection: database, schemaVersion: report.schemaVersion,
                                       options: try RunnerOptions.fromEnvironment()) { message in
                    if !quiet { printStatus(message) }
                }
                let manifests = try cancellingOnInterrupt(database) { try runner.run(request).manifests }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    let data = all ? try encoder.encode(manifests) : try encoder.encode(manifests.first)
                    print(String(decoding: data, as: UTF8.self))
                } else if !quiet {
                    for manifest in manifests {
                        printStatus("\(manifest.type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(manifest.rows) rows, \(manifest.bytes) bytes -> \(manifest.file)")
                    }
                    if let outputDirectory, all { printStatus("wrote \(manifests.count) exports to \(outputDirectory)") }
                }
            }
        }
    }
}
