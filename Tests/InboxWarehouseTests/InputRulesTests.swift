import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// input-format.md, "Common rules", as settled by issue 16 (cases 6 to 9): timestamp spellings,
/// integers decided on their exact decimal value, U+0000 and sub-microsecond rounding. The loader
/// and the Python reference (tools/reference/) must reject exactly the same lines.
@Suite("Input rules (issue 16)")
struct InputRulesTests {
    /// Microseconds since the Unix epoch of a UTC wall time, for readable expectations.
    static func micros(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, _ micro: Int64 = 0) -> Int64 {
        Int64(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micro
    }

    @Test("case 6: a seconds field of 60 is rejected (no leap seconds), 59 is the last second")
    func leapSecondRejected() {
        #expect(Instant.parse("2026-03-02T10:30:60Z", .inputFormat) == nil)
        #expect(Instant.parse("2026-03-02T23:59:60Z", .inputFormat) == nil)
        #expect(Instant.parse("2016-12-31T23:59:60+00:00", .inputFormat) == nil)
        #expect(Instant.parse("2026-03-02T23:59:59Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 2, 23, 59, 59))
    }

    @Test("one parser, two spellings: what the log may not carry, the command line may (as PostgreSQL reads it)")
    func lenientSpellingForTheCommandLine() {
        let cases: [(text: String, micros: Int64)] = [
            ("2026-03-02 10:00:00Z", Self.micros(2026, 3, 2, 10, 0, 0)),
            ("2026-03-02 11:00:00+01", Self.micros(2026, 3, 2, 10, 0, 0)),
            ("2026-03-02T11:30:00+0130", Self.micros(2026, 3, 2, 10, 0, 0)),
            ("2026-03-02T23:59:60Z", Self.micros(2026, 3, 3, 0, 0, 0)),
        ]
        for (text, micros) in cases {
            #expect(Instant.parse(text, .inputFormat) == nil, "\(text)")
            #expect(Instant(text)?.microseconds == micros, "\(text)")
        }
        // Both: the same instant, the same literal back.
        let strict = Instant.parse("2026-03-02T10:00:00.1234565+00:00", .inputFormat)
        #expect(strict != nil && strict == Instant("2026-03-02 10:00:00.1234565+00"))
        #expect(strict?.postgresLiteral == "2026-03-02 10:00:00.123457+00")
        #expect(strict?.rfc3339 == "2026-03-02T10:00:00.123457Z")
        // Neither: no offset, a dangling colon, a year outside 0001-9999 in UTC.
        for text in ["2026-03-02T10:00:00", "2026-03-02T10:00:00+01:", "0001-01-01T00:30:00+01:00"] {
            #expect(Instant.parse(text, .inputFormat) == nil, "\(text)")
            #expect(Instant(text) == nil, "\(text)")
        }
    }

    @Test("case 7: a space instead of T is rejected; T and t are the separators")
    func spaceSeparatorRejected() {
        #expect(Instant.parse("2026-03-02 10:00:00Z", .inputFormat) == nil)
        #expect(Instant.parse("2026-03-02 10:00:00+01:00", .inputFormat) == nil)
        #expect(Instant.parse("2026-03-02T10:00:00Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 2, 10, 0, 0))
        #expect(Instant.parse("2026-03-02t10:00:00z", .inputFormat)?.microseconds == Self.micros(2026, 3, 2, 10, 0, 0))
    }

    @Test("case 9: fractional seconds past the microsecond are rounded half up")
    func subMicrosecondRounding() {
        // 59.9999995: the seventh digit 5 rounds up, into the next second (and here the next day).
        #expect(Instant.parse("2026-03-01T23:59:59.9999995Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 2, 0, 0, 0))
        #expect(Instant.parse("2026-03-01T23:59:59.9999994Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 1, 23, 59, 59, 999_999))
        #expect(Instant.parse("2026-03-01T10:00:00.0000015Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 1, 10, 0, 0, 2))
        #expect(Instant.parse("2026-03-01T10:00:00.00000149999Z", .inputFormat)?.microseconds == Self.micros(2026, 3, 1, 10, 0, 0, 1))
    }

    @Test("case 8: an integer is decided on the exact decimal text, never through a Double", arguments: [
        ("5", Int64?(5)), ("5.0", 5), ("5e0", 5), ("5E+0", 5), ("50e-1", 5), ("0.5e1", 5), ("1.000", 1),
        ("4.5", nil), ("4.9999999999999999999", nil), ("0.99999999999999999999", nil), ("5.0000000000000000001", nil),
        ("1e-300", nil), ("6", nil), ("0", nil), ("-0", nil), ("-1", nil), ("1e400", nil), ("100000000000000000000000", nil),
    ])
    func exactIntegers(_ text: String, _ expected: Int64?) {
        #expect(JSONNumber(text: text).integer(in: 1...5) == expected, "\(text)")
    }

    /// One line per case; `nil` means the line must load, else the reject reason (a substring).
    static let lines: [(line: String, reason: String?)] = [
        (#"{"type":"team","id":"t-60a","name":"x","created_at":"2026-03-02T10:30:60Z"}"#, "is not an RFC 3339 timestamp"),
        (#"{"type":"team","id":"t-60b","name":"x","created_at":"2026-03-02T23:59:60Z"}"#, "is not an RFC 3339 timestamp"),
        (#"{"type":"team","id":"t-space","name":"x","created_at":"2026-03-02 10:00:00Z"}"#, "is not an RFC 3339 timestamp"),
        (#"{"type":"team","id":"t-lower","name":"x","created_at":"2026-03-02t10:00:00z"}"#, nil),
        (#"{"type":"team","id":"t-round","name":"x","created_at":"2026-03-01T23:59:59.9999995Z"}"#, nil),
        (#"{"type":"csat","id":"cs-int","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":5}"#, nil),
        (#"{"type":"csat","id":"cs-dot","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":5.0}"#, nil),
        (#"{"type":"csat","id":"cs-exp","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":5e0}"#, nil),
        (#"{"type":"csat","id":"cs-half","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":4.5}"#,
         "field \"score\" is out of range: must be an integer from 1 to 5, got 4.5"),
        (#"{"type":"csat","id":"cs-nines","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":4.9999999999999999999}"#,
         "must be an integer from 1 to 5, got 4.9999999999999999999"),
        (#"{"type":"csat","id":"cs-one","conversation_id":"cv","sent_at":"2026-03-01T10:00:00Z","status":"COMPLETED","score":0.99999999999999999999}"#,
         "must be an integer from 1 to 5, got 0.99999999999999999999"),
        (#"{"type":"tag","id":"tg-nul","name":"a\u0000b"}"#, "contains a NUL character"),
    ]

    @Test("cases 6 to 9 through the loader: rejects with their reasons, stored values of the accepted lines")
    func loaderAppliesTheRules() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let log = try TestSupport.writeLog(Self.lines.map(\.line))
        let summary = try Loader(connection: connection).load([.file(log)])
        let rejects = try connection.execute("select line_number, reason from warehouse.load_rejects order by line_number")
        var rejected: [Int: String] = [:]
        for row in 0..<rejects.rowCount { rejected[Int(rejects.value(row, 0)!)!] = rejects.value(row, 1)! }
        for (index, expectation) in Self.lines.enumerated() {
            let line = index + 1
            if let reason = expectation.reason {
                #expect(rejected[line]?.contains(reason) == true, "line \(line): \(rejected[line] ?? "loaded")")
            } else {
                #expect(rejected[line] == nil, "line \(line) rejected: \(rejected[line] ?? "")")
            }
        }
        #expect(summary.rejected == Int64(Self.lines.filter { $0.reason != nil }.count))

        try connection.execute("set timezone = 'UTC'")
        #expect(try connection.execute("select team_id, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') from inbox.teams order by 1").rows
                == [["t-lower", "2026-03-02 10:00:00.000000"], ["t-round", "2026-03-02 00:00:00.000000"]])
        #expect(try connection.execute("select survey_id, score from inbox.csat_surveys order by 1").rows
                == [["cs-dot", "5"], ["cs-exp", "5"], ["cs-int", "5"]])
    }

    @Test("the Python reference rejects exactly the same lines")
    func referenceAgrees() throws {
        let rejectedLines = try TestSupport.referenceRejectedLines(Self.lines.map(\.line))
        let expected = Self.lines.enumerated().filter { $0.element.reason != nil }.map { $0.offset + 1 }
        #expect(rejectedLines == expected)
    }
}
