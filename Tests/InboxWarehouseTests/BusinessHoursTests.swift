import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// business-hours.md: First Response Time in each channel's business hours, kept in the facts
/// (facts.business_seconds over facts.business_calendar) whatever the order in which schedules
/// and conversations arrive, and read by the exports.
@Suite("Business hours: First Response Time in working time")
struct BusinessHoursTests {
    static func shifts(_ days: [String], _ spans: [(String, String)]) -> String {
        "[" + days.flatMap { day in spans.map { #"{"day":"\#(day)","start":"\#($0.0)","end":"\#($0.1)"}"# } }
            .joined(separator: ",") + "]"
    }

    static let weekdays = ["MON", "TUE", "WED", "THU", "FRI"]
    static let everyDay = weekdays + ["SAT", "SUN"]

    /// One worked example: a conversation on `channel`, its inbound message (and, when given, a VA
    /// handover), its first human response, and the spec's First Response Time.
    struct Example: Sendable {
        let id: String
        let channel: String
        let inbound: String
        let handover: String?
        let response: String
        let expected: Int
        let calendar: Int
    }

    /// The spec's worked examples (business-hours.md) in one zone: timestamps carry the zone's
    /// offset at that wall time.
    struct Zone: Sendable, CustomTestStringConvertible {
        let name: String
        let examples: [Example]
        var testDescription: String { name }
    }

    static let zones: [Zone] = [
        Zone(name: "Europe/Paris", examples: [
            Example(id: "cv-1", channel: "ch-wd", inbound: "2026-03-02T08:00:00+01:00", handover: nil,
                    response: "2026-03-02T09:20:00+01:00", expected: 1200, calendar: 4800),
            Example(id: "cv-2", channel: "ch-wd", inbound: "2026-03-06T16:45:00+01:00", handover: nil,
                    response: "2026-03-09T09:15:00+01:00", expected: 1800, calendar: 232_200),
            Example(id: "cv-3", channel: "ch-wd", inbound: "2026-12-24T16:50:00+01:00", handover: nil,
                    response: "2026-12-28T09:10:00+01:00", expected: 1200, calendar: 318_000),
            Example(id: "cv-4", channel: "ch-wd", inbound: "2026-03-07T10:00:00+01:00", handover: nil,
                    response: "2026-03-07T11:00:00+01:00", expected: 0, calendar: 3600),
            Example(id: "cv-5", channel: "ch-wd", inbound: "2026-03-03T11:00:00+01:00", handover: "2026-03-03T11:02:00+01:00",
                    response: "2026-03-03T11:30:00+01:00", expected: 1680, calendar: 1680),
            Example(id: "cv-6", channel: "ch-split", inbound: "2026-03-04T11:50:00+01:00", handover: nil,
                    response: "2026-03-04T13:10:00+01:00", expected: 1200, calendar: 4800),
            // clocks jump from 02:00 to 03:00 on 2026-03-29
            Example(id: "cv-7", channel: "ch-247", inbound: "2026-03-28T23:00:00+01:00", handover: nil,
                    response: "2026-03-29T04:00:00+02:00", expected: 14400, calendar: 14400),
        ]),
        // West of UTC: New York jumps from 02:00 to 03:00 on 2026-03-08, between cv-2's two ends.
        Zone(name: "America/New_York", examples: [
            Example(id: "cv-1", channel: "ch-wd", inbound: "2026-03-02T08:00:00-05:00", handover: nil,
                    response: "2026-03-02T09:20:00-05:00", expected: 1200, calendar: 4800),
            Example(id: "cv-2", channel: "ch-wd", inbound: "2026-03-06T16:45:00-05:00", handover: nil,
                    response: "2026-03-09T09:15:00-04:00", expected: 1800, calendar: 228_600),
            Example(id: "cv-3", channel: "ch-wd", inbound: "2026-12-24T16:50:00-05:00", handover: nil,
                    response: "2026-12-28T09:10:00-05:00", expected: 1200, calendar: 318_000),
            Example(id: "cv-4", channel: "ch-wd", inbound: "2026-03-07T10:00:00-05:00", handover: nil,
                    response: "2026-03-07T11:00:00-05:00", expected: 0, calendar: 3600),
            Example(id: "cv-5", channel: "ch-wd", inbound: "2026-03-03T11:00:00-05:00", handover: "2026-03-03T11:02:00-05:00",
                    response: "2026-03-03T11:30:00-05:00", expected: 1680, calendar: 1680),
            Example(id: "cv-6", channel: "ch-split", inbound: "2026-03-04T11:50:00-05:00", handover: nil,
                    response: "2026-03-04T13:10:00-05:00", expected: 1200, calendar: 4800),
            Example(id: "cv-7", channel: "ch-247", inbound: "2026-03-07T23:00:00-05:00", handover: nil,
                    response: "2026-03-08T04:00:00-04:00", expected: 14400, calendar: 14400),
        ]),
    ]

    /// The schedules of the worked examples in `zone`, valid from `validFrom`.
    static func scheduleLines(zone: String, validFrom: String = "2026-01-01T00:00:00Z") -> [String] {
        [
            #"{"type":"business_hours","channel_id":"ch-wd","time_zone":"\#(zone)","valid_from":"\#(validFrom)","weekly":\#(shifts(weekdays, [("09:00", "17:00")])),"closed_dates":["2026-12-25"]}"#,
            #"{"type":"business_hours","channel_id":"ch-split","time_zone":"\#(zone)","valid_from":"\#(validFrom)","weekly":\#(shifts(weekdays, [("09:00", "12:00"), ("13:00", "17:00")]))}"#,
            #"{"type":"business_hours","channel_id":"ch-247","time_zone":"\#(zone)","valid_from":"\#(validFrom)","weekly":\#(shifts(everyDay, [("00:00", "24:00")]))}"#,
        ]
    }

    /// Channels, an agent, a team, and each example's conversation and messages.
    static func conversationLines(_ examples: [Example]) -> [String] {
        var lines = [
            #"{"type":"channel","id":"ch-wd","medium":"WHATSAPP","name":"Weekdays"}"#,
            #"{"type":"channel","id":"ch-split","medium":"FACEBOOK","name":"Split"}"#,
            #"{"type":"channel","id":"ch-247","medium":"WEBCHAT","name":"Always"}"#,
            #"{"type":"channel","id":"ch-none","medium":"EMAIL","name":"None"}"#,
            #"{"type":"agent","id":"ag-1","name":"Ann","kind":"HUMAN"}"#,
            #"{"type":"team","id":"tm-1","name":"Tier 1","created_at":"2025-01-01T00:00:00Z"}"#,
        ]
        for example in examples {
            lines.append(#"{"type":"conversation","id":"\#(example.id)","channel_id":"\#(example.channel)","contact_id":"ct-1","created_at":"\#(example.inbound)"}"#)
            lines.append(#"{"type":"message","id":"\#(example.id)-in","conversation_id":"\#(example.id)","created_at":"\#(example.inbound)","direction":"INBOUND"}"#)
            if let handover = example.handover {
                lines.append(#"{"type":"queue_entry","id":"\#(example.id)-q","conversation_id":"\#(example.id)","at":"\#(handover)","started_by":"VA_HANDED_OVER_CONVERSATION"}"#)
            }
            lines.append(#"{"type":"message","id":"\#(example.id)-out","conversation_id":"\#(example.id)","created_at":"\#(example.response)","direction":"OUTBOUND","agent_id":"ag-1","team_id":"tm-1"}"#)
        }
        return lines
    }

    static func load(_ lines: [String], into connection: Connection, batchLines: Int = 50_000) throws {
        let summary = try Loader(connection: connection, options: LoadOptions(batchLines: batchLines))
            .load([.file(try TestSupport.writeLog(lines))])
        #expect(summary.rejected == 0)
    }

    /// conversation id -> (First Response Time, calendar), whole seconds, from the facts.
    static func firstResponseTimes(_ connection: Connection) throws -> [String: [String?]] {
        let result = try connection.execute("""
            select conversation_id, round(first_response_seconds)::text, round(first_response_calendar_seconds)::text
            from facts.conversations order by 1
            """)
        var times: [String: [String?]] = [:]
        for row in result.rows { times[row[0] ?? ""] = [row[1], row[2]] }
        return times
    }

    @Test("the spec's worked examples, in Paris and west of UTC: facts, typed functions (with calendar time beside) and CSV",
          arguments: zones)
    func workedExamples(_ zone: Zone) throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try Self.load(Self.scheduleLines(zone: zone.name) + Self.conversationLines(zone.examples), into: connection)
        #expect(try Facts.differences(connection) == [])

        let times = try Self.firstResponseTimes(connection)
        for example in zone.examples {
            #expect(times[example.id] == [String(example.expected), String(example.calendar)], "\(zone.name) \(example.id)")
        }

        // The typed function: business time and calendar time side by side.
        let typed = try connection.execute("""
            select conversation_id, first_response_seconds, first_response_time_calendar
            from export.open_conversations_between(null, null, $1, as_of => '2027-01-01T00:00:00Z')
            order by conversation_id
            """, [zone.name]).rows
        #expect(typed == zone.examples.map { [$0.id, String($0.expected), String($0.calendar)] })

        // The CSV: column 22 of open-conversations (the 25th of resolved-conversations less three).
        let parameters = ExportParameters(timeZone: zone.name, asOf: Instant("2027-01-01T00:00:00Z"))
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("open.csv").path
        _ = try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named("open-conversations")!, parameters, to: path)
        let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(Dictionary(uniqueKeysWithValues: rows.map { (String($0[0]), String($0[21])) })
                == Dictionary(uniqueKeysWithValues: zone.examples.map { ($0.id, String($0.expected)) }))

        // teams: the average of the business values, and of the calendar values beside it.
        let team = try connection.execute("""
            select average_first_response_seconds, average_first_response_time_calendar
            from export.teams_between(date '2026-01-01', date '2026-12-31', $1, as_of => '2027-01-01T00:00:00Z')
            """, [zone.name]).rows
        let average = { (values: [Int]) in String(Int((Double(values.reduce(0, +)) / Double(values.count)).rounded())) }
        #expect(team == [[average(zone.examples.map(\.expected)), average(zone.examples.map(\.calendar))]])
    }

    @Test("business time across clock changes: a shift's real length, 00:00 and 24:00 as the first instants of their dates")
    func clockChanges() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try Self.load([
            // Paris 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00) are Sundays.
            #"{"type":"business_hours","channel_id":"ch-gap","time_zone":"Europe/Paris","valid_from":"2026-01-01T00:00:00Z","weekly":\#(Self.shifts(["SUN"], [("02:30", "04:00")]))}"#,
            #"{"type":"business_hours","channel_id":"ch-day","time_zone":"Europe/Paris","valid_from":"2026-01-01T00:00:00Z","weekly":\#(Self.shifts(["SUN"], [("00:00", "24:00")]))}"#,
            // two shifts that do not overlap in wall time but do in real time on the jump: 01:00-02:45
            // runs 00:00Z-01:45Z and 03:00-04:00 runs 01:00Z-02:00Z: their union is 00:00Z-02:00Z
            #"{"type":"business_hours","channel_id":"ch-both","time_zone":"Europe/Paris","valid_from":"2026-01-01T00:00:00Z","weekly":\#(Self.shifts(["SUN"], [("01:00", "02:45"), ("03:00", "04:00")]))}"#,
            // a repeated midnight: Atlantic/Azores 2026-10-25 00:00-01:00 happens twice
            #"{"type":"business_hours","channel_id":"ch-azores","time_zone":"Atlantic/Azores","valid_from":"2026-01-01T00:00:00Z","weekly":\#(Self.shifts(["SUN"], [("00:00", "00:30")]))}"#,
            // a conversation of each channel whose reply on 2026-10-26 makes the calendars cover both Sundays
        ] + ["ch-gap", "ch-day", "ch-both", "ch-azores"].flatMap { channel in [
            #"{"type":"conversation","id":"cv-\#(channel)","channel_id":"\#(channel)","contact_id":"ct-1","created_at":"2026-03-01T00:00:00Z"}"#,
            #"{"type":"message","id":"in-\#(channel)","conversation_id":"cv-\#(channel)","created_at":"2026-03-01T00:00:00Z","direction":"INBOUND"}"#,
            #"{"type":"message","id":"out-\#(channel)","conversation_id":"cv-\#(channel)","created_at":"2026-10-26T00:00:00Z","direction":"OUTBOUND","agent_id":"ag-1"}"#,
        ] } + [#"{"type":"agent","id":"ag-1","name":"Ann","kind":"HUMAN"}"#], into: connection)
        #expect(try Facts.differences(connection) == [])

        func seconds(_ channel: String, _ from: String, _ to: String) throws -> String? {
            try connection.execute("select round(business_seconds)::text from facts.business_seconds($1, $2, $3)", [channel, from, to]).scalar
        }
        // "02:30-04:00 runs 01:30Z-02:00Z, 30 minutes"
        #expect(try seconds("ch-gap", "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z") == "1800")
        #expect(try connection.execute("""
            select to_char(opens_at at time zone 'UTC', 'HH24:MI') || '-' || to_char(closes_at at time zone 'UTC', 'HH24:MI')
            from facts.business_calendar where channel_id = 'ch-gap' and opens_at >= '2026-03-29T00:00:00Z' order by opens_at limit 1
            """).scalar == "01:30-02:00")
        // 00:00-24:00 lasts 23 h on the day clocks jump forward, 25 h on the day they fall back
        #expect(try seconds("ch-day", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z") == "82800")
        #expect(try seconds("ch-day", "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z") == "90000")
        // overlapping in real time: counted once
        #expect(try seconds("ch-both", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z") == "7200")
        // 00:00 is the first occurrence of the repeated midnight (00:00Z), 00:30 is read with the
        // offset after the change (01:30Z): the shift runs 00:00Z-01:30Z
        #expect(try seconds("ch-azores", "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z") == "5400")
        // half-open: an instant on the close of a shift is outside it; one inside counts to the second
        #expect(try seconds("ch-gap", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z") == "0")
        #expect(try seconds("ch-gap", "2026-03-29T01:45:00Z", "2026-03-29T01:45:01Z") == "1")
        // a null end: null (a conversation without a first response)
        #expect(try connection.execute("select business_seconds from facts.business_seconds('ch-gap', '2026-03-29T01:45:00Z', null)").scalar == nil)
    }

    @Test("no schedule, or before the first one: calendar time; the schedule in force at the reference rules the whole interval")
    func scheduleInForce() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let examples = [
            // ch-none has no schedule
            Example(id: "cv-none", channel: "ch-none", inbound: "2026-03-07T10:00:00Z", handover: nil,
                    response: "2026-03-09T09:15:00Z", expected: 170_100, calendar: 170_100),
            // before ch-wd's first valid_from (2026-03-05): open around the clock
            Example(id: "cv-before", channel: "ch-wd", inbound: "2026-03-02T08:00:00Z", handover: nil,
                    response: "2026-03-02T09:20:00Z", expected: 4800, calendar: 4800),
            // the reference falls under the first schedule (MON-FRI 09-17), which is used for the
            // whole interval although the second (from 03-10, 10-16) takes over before the response:
            // Fri 16:00-17:00 + Mon 03-09 full day 8 h + Tue 03-10 09:00-09:30 = 3600 + 28800 + 1800
            Example(id: "cv-across", channel: "ch-wd", inbound: "2026-03-06T16:00:00Z", handover: nil,
                    response: "2026-03-10T09:30:00Z", expected: 34200, calendar: 322_200),
            // under the second schedule
            Example(id: "cv-second", channel: "ch-wd", inbound: "2026-03-10T09:00:00Z", handover: nil,
                    response: "2026-03-10T10:30:00Z", expected: 1800, calendar: 5400),
        ]
        try Self.load(Self.conversationLines(examples) + [
            #"{"type":"business_hours","channel_id":"ch-wd","time_zone":"UTC","valid_from":"2026-03-05T00:00:00Z","weekly":\#(Self.shifts(Self.weekdays, [("09:00", "17:00")]))}"#,
            #"{"type":"business_hours","channel_id":"ch-wd","time_zone":"UTC","valid_from":"2026-03-10T00:00:00Z","weekly":\#(Self.shifts(Self.weekdays, [("10:00", "16:00")]))}"#,
        ], into: connection)
        let times = try Self.firstResponseTimes(connection)
        for example in examples {
            #expect(times[example.id] == [String(example.expected), String(example.calendar)], "\(example.id)")
        }
        #expect(try Facts.differences(connection) == [])
    }

    /// The worked examples plus two schedule changes of ch-wd: a later schedule mid-month and a
    /// re-delivered version of the first one.
    static func changingLog() -> (conversations: [String], schedules: [String]) {
        let zone = zones[0]
        let examples = zone.examples + [
            Example(id: "cv-8", channel: "ch-wd", inbound: "2026-03-17T08:00:00+01:00", handover: nil,
                    response: "2026-03-17T10:00:00+01:00", expected: 1800, calendar: 7200),
        ]
        let schedules = scheduleLines(zone: zone.name) + [
            // from 03-16 on, ch-wd opens 09:30-18:00
            #"{"type":"business_hours","channel_id":"ch-wd","time_zone":"Europe/Paris","valid_from":"2026-03-16T00:00:00+01:00","weekly":\#(shifts(weekdays, [("09:30", "18:00")]))}"#,
            // the first schedule re-delivered, later: ch-wd closed on Fridays from the start
            #"{"type":"business_hours","channel_id":"ch-wd","time_zone":"Europe/Paris","valid_from":"2026-01-01T00:00:00Z","weekly":\#(shifts(["MON", "TUE", "WED", "THU"], [("09:00", "17:00")])),"closed_dates":["2026-12-25"],"updated_at":"2026-03-20T00:00:00Z"}"#,
        ]
        return (conversationLines(examples), schedules)
    }

    @Test("a schedule loaded after its conversations, a change mid-month, a re-delivered schedule: the facts and exports of a load in the other order")
    func schedulesArriveLate() throws {
        let log = Self.changingLog()
        // Schedules first, in one batch.
        let (first, _) = try TestSupport.freshDatabase()
        try Self.load(log.schedules + log.conversations, into: first)
        let expected = try FactsTests.factContents(first)
        let times = try Self.firstResponseTimes(first)
        // cv-2 (Fri 16:45 -> Mon 09:15) under the re-delivered first schedule (no Fridays): 15 min;
        // cv-8 (Tue 03-17 08:00 -> 10:00) under the second one: 09:30-10:00
        #expect(times["cv-2"] == ["900", "232200"])
        #expect(times["cv-8"] == ["1800", "7200"])
        #expect(times["cv-1"] == ["1200", "4800"])
        let exports = try Self.exports(first)

        // Conversations first, then each schedule in a batch of its own (a load per line).
        let (late, _) = try TestSupport.freshDatabase()
        try Self.load(log.conversations, into: late)
        #expect(try Self.firstResponseTimes(late)["cv-1"] == ["4800", "4800"])
        for line in log.schedules {
            try Self.load([line], into: late)
            #expect(try Facts.differences(late) == [])
        }
        #expect(try FactsTests.factContents(late) == expected)
        #expect(try Self.exports(late) == exports)

        // Shuffled, in batches of 3 lines; then everything again.
        let (shuffled, _) = try TestSupport.freshDatabase()
        try Self.load(FactsTests.shuffled(log.schedules + log.conversations, seed: 3), into: shuffled, batchLines: 3)
        #expect(try FactsTests.factContents(shuffled) == expected)
        try Self.load(log.conversations + log.schedules, into: shuffled, batchLines: 5)
        #expect(try Facts.differences(shuffled) == [])
        #expect(try FactsTests.factContents(shuffled) == expected)
        #expect(try Self.exports(shuffled) == exports)

        // A full rebuild computes what the loads kept.
        try shuffled.transaction { try Facts.rebuild(shuffled) }
        #expect(try FactsTests.factContents(shuffled) == expected)
        #expect(try Facts.differences(shuffled) == [])
    }

    @Test("db check-facts sees a business calendar that differs from its schedule")
    func checkFactsSeesTheCalendar() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        try Self.load(Self.scheduleLines(zone: "Europe/Paris") + Self.conversationLines(Self.zones[0].examples), into: connection)
        #expect(try Facts.differences(connection) == [])
        try connection.execute("""
            update facts.business_calendar set closes_at = closes_at + interval '1 minute'
            where channel_id = 'ch-split' and opens_at = '2026-03-04T08:00:00Z'
            """)
        try connection.execute("update facts.business_calendar_coverage set covered_until = '2026-03-02T00:00:00Z' where channel_id = 'ch-247'")
        #expect(try Facts.differences(connection).map(\.description) == [
            "facts.business_calendar ch-247 2026-01-01T00:00:00.000000Z: missing",
            "facts.business_calendar ch-split 2026-01-01T00:00:00.000000Z 2026-03-04T08:00:00.000000Z: different",
        ])
        try connection.transaction { try Facts.rebuild(connection) }
        #expect(try Facts.differences(connection) == [])
    }

    /// resolved-conversations, open-conversations and teams for March in Paris.
    static func exports(_ connection: Connection) throws -> [String: String] {
        var outputs: [String: String] = [:]
        let directory = try TestSupport.temporaryDirectory()
        for slug in ["open-conversations", "teams"] {
            let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-12-31"),
                                              timeZone: "Europe/Paris", asOf: Instant("2027-01-01T00:00:00Z"))
            let path = directory.appendingPathComponent("\(slug).csv").path
            _ = try Exporter(connection: connection, schemaVersion: 1).export(ExportType.named(slug)!, parameters, to: path)
            outputs[slug] = try String(contentsOfFile: path, encoding: .utf8)
        }
        return outputs
    }
}
