import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// The typed export functions (`export.<export>_between` / `_within`) on the golden log: one
/// statement each, no session parameters, typed columns, and joinable across exports. The values
/// are those of the hand-checked golden CSVs (Fixtures/golden/DERIVATION.md): cv-1's First
/// Response Time 600 and Handling Time 1500 (resolved-conversations), its longest wait before an
/// inbound message 89400 s (m1-5's Time Since Previous Message in messages), Alice's 4 replies
/// and 4 responses (agent-metrics, responses).
@Suite("Typed export functions")
struct TypedFunctionTests {
    static let asOf = "2026-04-02T12:00:00Z"

    /// Rows of every golden CSV of a case, keyed by the export's function name.
    static func goldenRowCounts(_ caseName: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for type in ExportType.all {
            let csv = try String(contentsOf: TestSupport.fixture("golden/expected/\(caseName)/\(type.slug).csv"), encoding: .utf8)
            counts[type.view] = csv.split(separator: "\n").count - 1
        }
        return counts
    }

    @Test("each of the twelve returns the golden export's rows, for all channels and for one")
    func rowCountsMatchGoldens() throws {
        let connection = try ExportTests.loadedGoldenDatabase()
        for (caseName, channels) in [("paris", "null"), ("paris-channel", "array['ch-tw']")] {
            let expected = try Self.goldenRowCounts(caseName)
            for type in ExportType.all {
                let arguments = type.view == "agent_availability"
                    ? "date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)'"
                    : "date '2026-03-28', date '2026-03-30', 'Europe/Paris', channel_ids => \(channels), as_of => '\(Self.asOf)'"
                let count = try connection.execute("select count(*) from export.\(type.view)_between(\(arguments))").scalar
                #expect(count == String(expected[type.view] ?? -1), "\(caseName) \(type.slug)")
            }
        }
        // open-conversations without a creation filter: null dates.
        let open = try connection.execute(
            "select count(*) from export.open_conversations_between(null, null, 'Europe/Paris', as_of => '\(Self.asOf)')").scalar
        let expected = try String(contentsOf: TestSupport.fixture("golden/expected/open-no-range/open-conversations.csv"), encoding: .utf8)
        #expect(open == String(expected.split(separator: "\n").count - 1))
    }

    @Test("columns are typed: timestamptz, bigint seconds, arrays, booleans; _within takes instants")
    func typedColumns() throws {
        let connection = try ExportTests.loadedGoldenDatabase()
        let row = try connection.execute("""
            select pg_typeof(r.resolved_at)::text, r.resolved_at = timestamptz '2026-03-28T08:15:00Z',
                   pg_typeof(r.first_response_seconds)::text, r.first_response_seconds,
                   pg_typeof(r.topic_ids)::text, r.topic_names = array['Delivery', 'account access'],
                   r.handling_seconds
            from export.resolved_conversations_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris',
                                                       as_of => '\(Self.asOf)') as r
            where r.conversation_id = 'cv-1'
            """)
        #expect(row.rowCount == 1)
        #expect(row.value(0, 0) == "timestamp with time zone")
        #expect(row.value(0, 1) == "t")
        #expect(row.value(0, 2) == "bigint")
        #expect(row.value(0, 3) == "600")
        #expect(row.value(0, 4) == "text[]")
        #expect(row.value(0, 5) == "t")
        #expect(row.value(0, 6) == "1500")

        let active = try connection.execute("""
            select pg_typeof(t.is_active)::text from export.topics_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris',
                                                                           as_of => '\(Self.asOf)') as t limit 1
            """).scalar
        #expect(active == "boolean")

        // The instants form gives the same rows as the dates form.
        let difference = try connection.execute("""
            select count(*) from (
                (select * from export.messages_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)')
                 except all
                 select * from export.messages_within('2026-03-28T00:00:00+01:00', '2026-03-31T00:00:00+02:00', '\(Self.asOf)'))
                union all
                (select * from export.messages_within('2026-03-28T00:00:00+01:00', '2026-03-31T00:00:00+02:00', '\(Self.asOf)')
                 except all
                 select * from export.messages_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)'))
            ) as d
            """).scalar
        #expect(difference == "0")
    }

    @Test("_between checks its arguments as the CLI does: unknown zone or channel, reversed range (22023)")
    func betweenChecksArguments() throws {
        let connection = try ExportTests.loadedGoldenDatabase()
        for call in [
            "export.teams_between(date '2026-03-28', date '2026-03-30', 'Mars/Olympus', as_of => '\(Self.asOf)')",
            "export.teams_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', array['ch-nowhere'], '\(Self.asOf)')",
            "export.messages_between(date '2026-03-30', date '2026-03-28', 'Europe/Paris', as_of => '\(Self.asOf)')",
        ] {
            #expect(Comment(rawValue: call)) {
                try connection.execute("select count(*) from \(call)")
            } throws: { error in
                (error as? PostgresError)?.sqlState == .invalidParameterValue
            }
        }
        // A zone spelled in another case is the same zone.
        let count = try connection.execute("""
            select count(*) from export.teams_between(date '2026-03-28', date '2026-03-30', 'europe/paris', as_of => '\(Self.asOf)')
            """).scalar
        #expect(count == "2")
    }

    @Test("exports join across each other in one statement (docs/sql.md)")
    func crossExportJoin() throws {
        let connection = try ExportTests.loadedGoldenDatabase()
        let result = try connection.execute("""
            select r.conversation_id,
                   r.first_response_seconds,
                   array_to_string(r.topic_names, ';'),
                   count(m.message_id) as messages_in_range,
                   max(m.seconds_since_previous_message) filter (where m.direction = 'INBOUND') as longest_customer_wait_seconds
            from export.resolved_conversations_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)') as r
            left join export.messages_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)') as m
                using (conversation_id)
            group by r.conversation_id, r.resolved_at, r.first_response_seconds, r.topic_names
            order by r.resolved_at, r.conversation_id
            """)
        let rows = result.rows.map { $0.map { $0 ?? "" }.joined(separator: "|") }
        #expect(rows == [
            "cv-3|1140||3|",
            "cv-1|600|Delivery;account access|7|89400",
            "cv-6|1800|Billing|4|63000",
            "cv-8|||1|",
            "cv-2|271|Delivery|4|50",
            "cv-4||Billing|2|",
        ])

        let agents = try connection.execute("""
            select a.user_name, a.replies, count(r.outbound_message_id) as responses,
                   percentile_cont(0.5) within group (order by r.agent_response_seconds) as median_response_seconds
            from export.agent_metrics_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)') as a
            left join export.responses_between(date '2026-03-28', date '2026-03-30', 'Europe/Paris', as_of => '\(Self.asOf)') as r
                on r.responding_agent_id = a.user_id
            group by a.user_id, a.user_name, a.replies
            order by a.user_name collate "C"
            """)
        #expect(agents.rows.map { $0.map { $0 ?? "" }.joined(separator: "|") } == [
            "Alice Martin|4|4|750", "Bob Durand|2|2|2250", "Erin Blanc|0|0|", "carol.z|0|0|",
        ])
    }
}
