import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// business-hours.md, "Input": the `business_hours` record through the loader (every reject rule,
/// the stored form, the re-delivery rule), and the Python reference rejecting the same lines.
@Suite("Business hours: the business_hours record")
struct BusinessHoursLoaderTests {
    static func record(_ fields: String, channel: String = "ch-x") -> String {
        #"{"type":"business_hours","channel_id":"\#(channel)","valid_from":"2026-01-01T00:00:00Z",\#(fields)}"#
    }

    /// One line per case; `nil` means the line must load, else (a substring of) the reject reason.
    static let lines: [(line: String, reason: String?)] = [
        (record(#""time_zone":"Europe/Paris","weekly":[{"day":"MON","start":"09:00","end":"17:00"}]"#, channel: "ok-1"), nil),
        // names match ignoring ASCII case; extra members of a shift are ignored; touching shifts
        (record(#""time_zone":"america/NEW_york","weekly":[{"day":"TUE","start":"12:00","end":"17:00","note":"pm"},{"day":"TUE","start":"09:00","end":"12:00"}]"#,
                channel: "ok-2"), nil),
        // closed all week; 00:00-24:00; duplicate closed dates
        (record(#""time_zone":"UTC","weekly":[]"#, channel: "ok-3"), nil),
        (record(#""time_zone":"UTC","weekly":[{"day":"SUN","start":"00:00","end":"24:00"}],"closed_dates":["2026-12-25","2024-02-29","2026-12-25"]"#,
                channel: "ok-4"), nil),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":null"#, channel: "ok-5"), nil),
        // unknown zones (a KELVIN SIGN is no k; posix/ copies are no IANA names)
        (record(#""time_zone":"Europe/Pariss","weekly":[]"#), "is not a known IANA time zone"),
        (record(#""time_zone":"Europe/\u212Aiev","weekly":[]"#), "is not a known IANA time zone"),
        (record(#""time_zone":"posix/Europe/Paris","weekly":[]"#), "is not a known IANA time zone"),
        (record(#""time_zone":"","weekly":[]"#), "is not a known IANA time zone"),
        (record(#""time_zone":7,"weekly":[]"#), "field \"time_zone\" must be a string"),
        // bad days
        (record(#""time_zone":"UTC","weekly":[{"day":"Mon","start":"09:00","end":"17:00"}]"#), "shift 1 has no day"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MONDAY","start":"09:00","end":"17:00"}]"#), "shift 1 has no day"),
        (record(#""time_zone":"UTC","weekly":[{"start":"09:00","end":"17:00"}]"#), "shift 1 has no day"),
        (record(#""time_zone":"UTC","weekly":[{"day":1,"start":"09:00","end":"17:00"}]"#), "shift 1 has no day"),
        // times that are not HH:MM
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"9:00","end":"17:00"}]"#), "shift 1's start is not a time HH:MM"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:00","end":"17:00:00"}]"#), "shift 1's end is not a time HH:MM"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:60","end":"17:00"}]"#), "shift 1's start is not a time HH:MM"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:00","end":"\u0661\u0667:00"}]"#), "shift 1's end is not a time HH:MM"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":540,"end":"17:00"}]"#), "shift 1's start is not a time HH:MM"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:00"}]"#), "shift 1's end is not a time HH:MM"),
        // start >= end, end after 24:00
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"17:00","end":"09:00"}]"#), "shift 1 starts at or after its end (17:00-09:00)"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:00","end":"09:00"}]"#), "shift 1 starts at or after its end"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"24:00","end":"24:00"}]"#), "shift 1 starts at or after its end"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"22:00","end":"24:30"}]"#), "shift 1's end 24:30 is after 24:00"),
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"22:00","end":"25:00"}]"#), "shift 1's end 25:00 is after 24:00"),
        // overlapping shifts (of one day; the same hours on two days are fine, see ok-2)
        (record(#""time_zone":"UTC","weekly":[{"day":"WED","start":"09:00","end":"12:00"},{"day":"THU","start":"09:00","end":"12:00"},{"day":"WED","start":"11:59","end":"13:00"}]"#),
         "shifts 1 and 3 overlap on WED (09:00-12:00, 11:59-13:00)"),
        (record(#""time_zone":"UTC","weekly":[{"day":"FRI","start":"09:00","end":"17:00"},{"day":"FRI","start":"10:00","end":"11:00"}]"#),
         "shifts 1 and 2 overlap on FRI"),
        (record(#""time_zone":"UTC","weekly":[{"day":"SAT","start":"09:00","end":"10:00"},{"day":"SAT","start":"09:00","end":"10:00"}]"#),
         "shifts 1 and 2 overlap on SAT"),
        // not an array / not an object
        (record(#""time_zone":"UTC","weekly":{"day":"MON","start":"09:00","end":"17:00"}"#), "field \"weekly\" must be an array of shifts"),
        (record(#""time_zone":"UTC","weekly":"MON 09:00-17:00""#), "field \"weekly\" must be an array of shifts"),
        (record(#""time_zone":"UTC","weekly":["MON"]"#), "shift 1 is not an object"),
        (record(#""time_zone":"UTC""#), "missing required field \"weekly\""),
        // bad dates
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":["2026-02-30"]"#), "\"closed_dates\" holds something that is not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":["2025-02-29"]"#), "not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":["2026-12-25T00:00:00Z"]"#), "not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":["26-12-25"]"#), "not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":["0000-01-01"]"#), "not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":[null]"#), "not a date"),
        (record(#""time_zone":"UTC","weekly":[],"closed_dates":"2026-12-25""#), "must be an array of dates"),
        // a NUL in an ignored member of a shift still rejects the record
        (record(#""time_zone":"UTC","weekly":[{"day":"MON","start":"09:00","end":"17:00","note":"a\u0000b"}]"#), "contains a NUL character"),
        // the usual rules: valid_from is a timestamp
        (#"{"type":"business_hours","channel_id":"ch-x","valid_from":"2026-01-01","time_zone":"UTC","weekly":[]}"#, "is not an RFC 3339 timestamp"),
    ]

    @Test("every reject rule of the spec, with its reason; the accepted records' stored form")
    func rejectsAndStoredForm() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let log = try TestSupport.writeLog(Self.lines.map(\.line))
        let summary = try Loader(connection: connection).load([.file(log)])
        let rejects = try connection.execute("select line_number, kind, reason from warehouse.load_rejects order by line_number")
        var rejected: [Int: String] = [:]
        for row in 0..<rejects.rowCount {
            rejected[Int(rejects.value(row, 0)!)!] = rejects.value(row, 2)!
            #expect(rejects.value(row, 1) == "business_hours")
        }
        for (index, expectation) in Self.lines.enumerated() {
            let line = index + 1
            if let reason = expectation.reason {
                #expect(rejected[line]?.contains(reason) == true, "line \(line): \(rejected[line] ?? "loaded")")
            } else {
                #expect(rejected[line] == nil, "line \(line) rejected: \(rejected[line] ?? "")")
            }
        }
        #expect(summary.rejected == Int64(Self.lines.filter { $0.reason != nil }.count))
        #expect(summary.loadedByKind["business_hours"] == 5)

        let stored = try connection.execute("""
            select channel_id, time_zone, weekly::text, closed_dates::text from inbox.business_hours order by channel_id
            """).rows
        #expect(stored == [
            ["ok-1", "Europe/Paris", #"[{"day": "MON", "end": "17:00", "start": "09:00"}]"#, "{}"],
            ["ok-2", "America/New_York",
             #"[{"day": "TUE", "end": "12:00", "start": "09:00"}, {"day": "TUE", "end": "17:00", "start": "12:00"}]"#, "{}"],
            ["ok-3", "UTC", "[]", "{}"],
            ["ok-4", "UTC", #"[{"day": "SUN", "end": "24:00", "start": "00:00"}]"#, "{2024-02-29,2026-12-25}"],
            ["ok-5", "UTC", "[]", "{}"],
        ])
    }

    @Test("the Python reference rejects exactly the same lines")
    func referenceAgrees() throws {
        let rejectedLines = try TestSupport.referenceRejectedLines(Self.lines.map(\.line))
        let expected = Self.lines.enumerated().filter { $0.element.reason != nil }.map { $0.offset + 1 }
        #expect(rejectedLines == expected)
    }

    @Test("re-delivery: keyed by channel and valid_from as an instant; an older updated_at never wins")
    func redelivery() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        func load(_ lines: [String]) throws {
            let summary = try Loader(connection: connection).load([.file(try TestSupport.writeLog(lines))])
            #expect(summary.rejected == 0)
        }
        func stored() throws -> [[String?]] {
            try connection.execute("""
                select channel_id, to_char(valid_from at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), weekly->0->>'start'
                from inbox.business_hours order by 1, 2
                """).rows
        }
        let shift = { (start: String) in #"[{"day":"MON","start":"\#(start)","end":"17:00"}]"# }
        try load([
            #"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2026-01-01T00:00:00Z","weekly":\#(shift("08:00")),"updated_at":"2026-01-02T00:00:00Z"}"#,
            // the same instant written with another offset: the same key; older: ignored
            #"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2026-01-01T01:00:00+01:00","weekly":\#(shift("09:00")),"updated_at":"2026-01-01T00:00:00Z"}"#,
            // another valid_from: another schedule of the channel
            #"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2026-02-01T00:00:00Z","weekly":\#(shift("10:00"))}"#,
        ])
        #expect(try stored() == [["ch-1", "2026-01-01 00:00", "08:00"], ["ch-1", "2026-02-01 00:00", "10:00"]])
        try load([
            // newer: replaces
            #"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2025-12-31T19:00:00-05:00","weekly":\#(shift("07:00")),"updated_at":"2026-01-03T00:00:00Z"}"#,
            // no updated_at on either: the later-loaded one wins
            #"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2026-02-01T00:00:00Z","weekly":\#(shift("11:00"))}"#,
        ])
        #expect(try stored() == [["ch-1", "2026-01-01 00:00", "07:00"], ["ch-1", "2026-02-01 00:00", "11:00"]])
        // without updated_at, never over one that has it
        try load([#"{"type":"business_hours","channel_id":"ch-1","time_zone":"UTC","valid_from":"2026-01-01T00:00:00Z","weekly":\#(shift("06:00"))}"#])
        #expect(try stored() == [["ch-1", "2026-01-01 00:00", "07:00"], ["ch-1", "2026-02-01 00:00", "11:00"]])
    }
}
