import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// exports.md, "Precise readings", *Days in a zone* (issue 16, case 1): a date bound is the first
/// instant of its local date, also where midnight occurs twice (its first occurrence) or not at
/// all (the first wall time that exists). The rule lives in `export.local_day_start`; the golden
/// cases `azores-*`, `havana`, `santiago` and `beirut` (DERIVATION.md, 18.1-18.4) show it in
/// exports.
@Suite("Days in a zone (issue 16)")
struct DaysInAZoneTests {
    /// (zone, local date, first instant in UTC, why).
    static let days: [(String, String, String, String)] = [
        ("Atlantic/Azores", "2026-10-25", "2026-10-25 00:00:00", "midnight twice (01:00 +00 -> 00:00 -01): first occurrence, 00:00+00:00"),
        ("Atlantic/Azores", "2026-10-26", "2026-10-26 01:00:00", "the day after: 00:00-01:00, so 10-25 lasts 25 hours"),
        ("Atlantic/Azores", "2026-03-29", "2026-03-29 01:00:00", "midnight missing (00:00 -01 -> 01:00 +00): 01:00+00:00"),
        ("America/Havana", "2026-03-08", "2026-03-08 05:00:00", "midnight missing: 01:00-04:00"),
        ("America/Havana", "2026-11-01", "2026-11-01 04:00:00", "midnight twice (01:00 CDT -> 00:00 CST): 00:00-04:00"),
        ("America/Santiago", "2026-09-06", "2026-09-06 04:00:00", "midnight missing: 01:00-03:00"),
        ("America/Santiago", "2026-04-05", "2026-04-05 04:00:00", "23:00-24:00 of 04-04 twice, midnight once: 00:00-04:00"),
        ("Asia/Beirut", "2026-03-29", "2026-03-28 22:00:00", "midnight missing: 01:00+03:00"),
        ("Asia/Beirut", "2026-10-25", "2026-10-24 22:00:00", "23:00-24:00 of 10-24 twice, midnight once: 00:00+02:00"),
        ("America/St_Johns", "2006-10-29", "2006-10-29 02:30:00", "clocks back at 00:01 to 23:01: midnight twice, first at 00:00-02:30"),
        ("America/Toronto", "1919-03-31", "1919-03-31 04:30:00", "a gap from 23:30 to 00:30: the day starts at 00:30-04:00"),
        ("Europe/Paris", "2026-03-28", "2026-03-27 23:00:00", "an ordinary day"),
        ("UTC", "2026-03-28", "2026-03-28 00:00:00", "UTC"),
    ]

    @Test("export.local_day_start gives the first instant of the local date")
    func firstInstant() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        // Whatever the session's own TimeZone (the exporter computes the bounds before setting it).
        for sessionZone in ["UTC", "Atlantic/Azores", "Pacific/Apia"] {
            try connection.execute("select set_config('TimeZone', $1, false)", [sessionZone])
            for (zone, day, expected, why) in Self.days {
                let instant = try connection.execute(
                    "select to_char(export.local_day_start($1::date, $2) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')", [day, zone]).scalar
                #expect(instant == expected, "\(zone) \(day) (session in \(sessionZone)): \(why)")
                // ... and it really is the first: the instant just before belongs to an earlier date.
                let before = try connection.execute(
                    "select ((export.local_day_start($1::date, $2) - interval '1 microsecond') at time zone $2)::date < $1::date", [day, zone]).scalar
                #expect(before == "t", "\(zone) \(day)")
            }
        }
    }

    @Test("the Python reference computes the same first instants")
    func referenceAgrees() throws {
        let directory = try TestSupport.temporaryDirectory()
        let script = """
                import sys
                sys.path.insert(0, sys.argv[1])
                from datetime import date
                from zoneinfo import ZoneInfo
                import inbox_reference
                for line in sys.stdin:
                    zone, day = line.split()
                    print(inbox_reference.local_day_start(date.fromisoformat(day), ZoneInfo(zone)).strftime('%Y-%m-%d %H:%M:%S'))
                """
        let input = directory.appendingPathComponent("days.txt").path
        try Self.days.map { "\($0.0) \($0.1)\n" }.joined().write(toFile: input, atomically: true, encoding: .utf8)
        let scriptPath = directory.appendingPathComponent("days.py").path
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("out.txt").path
        let status = Subprocess.wait(try Subprocess.spawn("python3", [scriptPath, TestSupport.repositoryRoot.appendingPathComponent("tools/reference").path],
                                                              standardInput: input, standardOutput: output))
        try #require(status == 0)
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == Self.days.map(\.2))
    }

    @Test("the exporter and the psql date form read date bounds the same way: Azores 2026-10-25 is 25 hours")
    func exporterBounds() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        var parameters = ExportParameters(from: RangeBound("2026-10-25"), to: RangeBound("2026-10-25"),
                                          timeZone: "Atlantic/Azores", asOf: Instant("2026-11-15T00:00:00Z"))
        let exporter = Exporter(connection: connection, schemaVersion: 1)
        let messages = ExportType.named("messages")!
        let resolved = try exporter.resolve(parameters, for: [messages])
        #expect(resolved.rangeStart == "2026-10-25 00:00:00.000000+00")
        #expect(resolved.rangeEnd == "2026-10-26 01:00:00.000000+00")
        parameters.from = RangeBound("2026-10-24")
        parameters.to = RangeBound("2026-10-24")
        let previous = try exporter.resolve(parameters, for: [messages])
        #expect(previous.rangeStart == "2026-10-24 00:00:00.000000+00")
        #expect(previous.rangeEnd == "2026-10-25 00:00:00.000000+00")

        try connection.execute("""
                select export.set_parameters(from_date => '2026-10-25', to_date => '2026-10-25', time_zone => 'atlantic/azores',
                                             as_of => '2026-11-15T00:00:00Z')
                """)
        #expect(try connection.execute("""
                select to_char(export.range_start() at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                       to_char(export.range_end() at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                       extract(epoch from export.range_end() - export.range_start())::int
                """).rows == [["2026-10-25 00:00", "2026-10-26 01:00", "90000"]])
    }
}
