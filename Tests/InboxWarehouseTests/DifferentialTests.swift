import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// The SQL views against an independent implementation of the export spec
/// (tools/reference/inbox_reference.py, written without reading the views), on generated logs
/// with re-deliveries: every export must be byte-identical, for several zones, ranges, channel
/// filters and as-of moments.
@Suite("Differential: SQL views vs the Python reference")
struct DifferentialTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let seed: UInt64
        let from: String?
        let to: String?
        let zone: String
        let asOf: String
        let channelCount: Int  // how many of the log's channels to filter on (0 = all)
        let locale: HeaderLocale
        var start = "2026-03-01"  // the generated log's first day (it spans ten days)
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "paris, all channels, T after the data", seed: 11, from: "2026-03-02", to: "2026-03-09",
                 zone: "Europe/Paris", asOf: "2026-03-20T00:00:00Z", channelCount: 0, locale: .en),
        Scenario(name: "new york, two channels, T inside the range (ongoing locks and presence)", seed: 12,
                 from: "2026-03-03", to: "2026-03-06", zone: "America/New_York", asOf: "2026-03-05T15:30:00Z",
                 channelCount: 2, locale: .fr),
        Scenario(name: "kolkata, instants", seed: 13, from: "2026-03-02T06:00:00+05:30", to: "2026-03-08T18:30:00+05:30",
                 zone: "Asia/Kolkata", asOf: "2026-03-12T00:00:00Z", channelCount: 1, locale: .en),
        Scenario(name: "utc, one day, T on the range end", seed: 14, from: "2026-03-04", to: "2026-03-04",
                 zone: "UTC", asOf: "2026-03-05T00:00:00Z", channelCount: 0, locale: .en),
        Scenario(name: "auckland, whole log", seed: 15, from: "2026-02-28", to: "2026-03-11",
                 zone: "Pacific/Auckland", asOf: "2026-03-08T09:00:00Z", channelCount: 3, locale: .en),
        // exports.md, "Days in a zone": midnight twice on 2026-10-25 in the Azores (a 25-hour day),
        // with T inside it (ongoing intervals, applications after T).
        Scenario(name: "azores, the 25-hour day, T inside it", seed: 16, from: "2026-10-25", to: "2026-10-25",
                 zone: "Atlantic/Azores", asOf: "2026-10-25T12:00:00Z", channelCount: 0, locale: .en, start: "2026-10-20"),
        // Havana: the range ends where midnight occurs twice (2026-11-01), and starts the day after
        // clocks went back in the Azores, in another zone, for good measure.
        Scenario(name: "havana, range ending on a repeated midnight", seed: 17, from: "2026-10-26", to: "2026-10-31",
                 zone: "America/Havana", asOf: "2026-11-02T00:00:00Z", channelCount: 2, locale: .fr, start: "2026-10-24"),
    ]

    @Test("every export is byte-identical to the reference implementation's", arguments: scenarios)
    func matchesReference(_ scenario: Scenario) throws {
        let directory = try TestSupport.temporaryDirectory()
        let log = directory.appendingPathComponent("log.ndjson")
        let options = GeneratorOptions(conversations: 300, days: 10, start: GeneratorOptions.startDate(parsing: scenario.start)!,
                                       seed: scenario.seed, redeliveryFraction: 0.05)
        let (bytes, _) = try EventLogGenerator(options: options).generateBytes()
        try Data(bytes).write(to: log)

        let (connection, _) = try TestSupport.freshDatabase()
        let summary = try Loader(connection: connection, options: LoadOptions(batchLines: 997)).load([.file(log.path)])
        #expect(summary.rejected == 0)
        // The generated channels have business hours (a split shift, a 24/7 channel, a holiday, a
        // change halfway): the data must exercise them, not only calendar time.
        let inBusinessTime = try connection.execute("""
            select count(*) filter (where first_response_seconds < first_response_calendar_seconds),
                   count(*) filter (where first_response_seconds = 0 and first_response_calendar_seconds > 0)
            from facts.conversations
            """).rows.first ?? []
        #expect((Int(inBusinessTime.first.flatMap { $0 } ?? "0") ?? 0) > 5, "\(inBusinessTime)")
        let channels = try connection.execute("select channel_id from inbox.channels order by channel_id").rows
            .prefix(scenario.channelCount).compactMap { $0[0] }

        let parameters = ExportParameters(from: scenario.from.flatMap(RangeBound.init), to: scenario.to.flatMap(RangeBound.init),
                                          timeZone: scenario.zone, channelIDs: channels, asOf: Instant(scenario.asOf),
                                          headerLocale: scenario.locale)
        let ours = directory.appendingPathComponent("ours").path
        _ = try Exporter(connection: connection, schemaVersion: 1).exportAll(parameters, directory: ours)

        let theirs = directory.appendingPathComponent("reference").path
        var arguments = [TestSupport.repositoryRoot.appendingPathComponent("tools/reference/inbox_reference.py").path,
                         "--log", log.path, "--all", "--tz", scenario.zone, "--as-of", scenario.asOf,
                         "--header-locale", scenario.locale.rawValue, "--output-dir", theirs]
        if let from = scenario.from, let to = scenario.to { arguments += ["--from", from, "--to", to] }
        for channel in channels { arguments += ["--channel", channel] }
        let status = Subprocess.wait(try Subprocess.spawn("python3", arguments, standardInput: "/dev/null",
                                                          standardError: directory.appendingPathComponent("python.err").path))
        let pythonErrors = (try? String(contentsOfFile: directory.appendingPathComponent("python.err").path, encoding: .utf8)) ?? ""
        try #require(status == 0, "the reference implementation failed: \(pythonErrors)")

        var nonEmpty = 0
        for type in ExportType.all {
            let mine = try String(contentsOfFile: "\(ours)/\(type.slug).csv", encoding: .utf8)
            let reference = try String(contentsOfFile: "\(theirs)/\(type.slug).csv", encoding: .utf8)
            #expect(mine == reference, "\(type.slug) differs:\n\(firstDifference(mine, reference))")
            if mine.split(separator: "\n").count > 1 { nonEmpty += 1 }
        }
        // The generated data must exercise the exports, not compare twelve empty files.
        #expect(nonEmpty >= 10, "only \(nonEmpty) exports had rows")
    }
}
