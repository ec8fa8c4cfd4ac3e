import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// Generates a log of bad lines of every sort mixed with valid ones, and what the loader must
/// say about each: the expected reason (a substring) of every bad line, by line number.
struct FuzzLog {
    var bytes = Data()
    var lineNumber = 0
    var expected: [Int: String] = [:]     // line -> reason substring ("" = any reason)
    var validLines: [Data] = []
    var sampledRaw: [Int: Data] = [:]     // lines whose stored raw bytes are checked
    var categories: [String: Int] = [:]
    var random: SeededRandom
    var longestValidLine = 0
    /// How many lines of several MiB may still be generated.
    var megabyteBudget = 0

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func int(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    mutating func append(_ line: Data) {
        bytes.append(line)
        bytes.append(0x0A)
        lineNumber += 1
    }

    mutating func bad(_ category: String, _ line: Data, reason: String) {
        append(line)
        expected[lineNumber] = reason
        categories[category, default: 0] += 1
        if sampledRaw.count < 400 && line.count < 10_000 && int(20) == 0 { sampledRaw[lineNumber] = line }
    }

    mutating func bad(_ category: String, _ line: String, reason: String) {
        bad(category, Data(line.utf8), reason: reason)
    }

    mutating func valid(_ line: String) { valid(Data(line.utf8)) }

    mutating func valid(_ line: Data) {
        append(line)
        validLines.append(line)
        longestValidLine = max(longestValidLine, line.count)
    }

    /// An ASCII valid record of a random kind with id `id`.
    mutating func template(_ id: String) -> String {
        switch int(6) {
        case 0: return #"{"type":"message","id":"\#(id)","conversation_id":"cv-1","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND","content":"hello world"}"#
        case 1: return #"{"type":"channel","id":"\#(id)","medium":"SMS","name":"Channel name"}"#
        case 2: return #"{"type":"csat","id":"\#(id)","conversation_id":"cv-1","sent_at":"2026-03-01T09:00:00+01:00","status":"COMPLETED","score":4}"#
        case 3: return #"{"type":"presence","id":"\#(id)","agent_id":"ag-1","presence":"AWAY","started_at":"2026-03-01T09:00:00.123456Z","away_state":"Lunch"}"#
        case 4: return #"{"type":"tag","id":"\#(id)","name":"Urgent","active":false}"#
        default: return #"{"type":"status_change","id":"\#(id)","conversation_id":"cv-1","at":"2026-03-01T09:00:00Z","status":"RESOLVED","resolved_by":"AGENT"}"#
        }
    }

    mutating func addBad(_ index: Int) {
        let id = "b-\(index)"
        switch int(24) {
        case 0, 1:
            let line = Array(template(id).utf8)
            bad("truncated JSON", Data(line[0..<(1 + int(line.count - 1))]), reason: "not valid JSON")
        case 2, 3:
            var line = Array(template(id).utf8)
            let sequences: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFE]]
            let position = line.firstIndex(of: UInt8(ascii: ":"))! + 2  // inside the first value
            line.insert(contentsOf: sequences[int(sequences.count)], at: position)
            bad("invalid UTF-8", Data(line), reason: "not valid UTF-8")
        case 4:
            let wrong = ["123", "true", "[\"a\"]", "{\"a\":1}", "1.5"][int(5)]
            bad("wrong type", #"{"type":"message","id":\#(wrong),"conversation_id":"cv-1","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND"}"#,
                reason: "field \"id\" must be a string, got")
        case 5:
            let score = ["0", "6", "4.5", "-1", "1e400", "-1e400", "5.000001", "\"5\"", "1e-300", "100000000000000000000000"][int(10)]
            bad("number out of range", #"{"type":"csat","id":"\#(id)","conversation_id":"cv-1","sent_at":"2026-03-01T09:00:00Z","status":"SENT","score":\#(score)}"#,
                reason: score.hasPrefix("\"") ? "must be a number" : "is out of range: must be an integer from 1 to 5")
        case 6:
            let number = int(2) == 0 ? "1e\(1001 + int(100_000))" : String(repeating: "9", count: 1001 + int(5000))
            bad("number too large for JSON reader", #"{"type":"tag","id":"\#(id)","name":"x","weight":\#(number)}"#, reason: "not valid JSON: number out of range")
        case 7:
            let long = String(repeating: "x", count: 201 + int(5000))
            bad("identifier too long", #"{"type":"tag","id":"\#(long)","name":"x"}"#, reason: "is longer than 200 characters")
        case 8:
            var line = Array(template(id).utf8)
            let quote = line.lastIndex(of: UInt8(ascii: "\""))!
            line.insert(0x00, at: quote)  // a raw NUL inside the last string
            bad("raw NUL byte", Data(line), reason: "not valid JSON: control character in a string")
        case 9:
            let place = int(3)
            let line = place == 0
                ? #"{"type":"message","id":"\#(id)","conversation_id":"cv-1","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND","content":"a\u0000b"}"#
                : place == 1
                ? #"{"type":"tag","id":"\#(id)","name":"x","extra":{"deep":["\u0000"]}}"#
                : #"{"type":"tag","id":"\#(id)","name":"x","bad\u0000key":1}"#
            bad("\\u0000 escape", line, reason: place == 0 ? "contains a NUL character" : "contains \\u0000")
        case 10:
            let type = ["ticket", "Message", "message ", "", "MESSAGE", "channel\\n", "mess\\u0000age"][int(7)]
            bad("unknown kind", #"{"type":"\#(type)","id":"\#(id)"}"#, reason: "unknown type")
        case 11:
            let line = [#"{"id":"\#(id)"}"#, #"{"type":null,"id":"\#(id)"}"#, #"{}"#][int(3)]
            bad("missing type", line, reason: "missing required field \"type\"")
        case 12:
            bad("not an object", ["[1,2]", "\"message\"", "42", "null", "true", "[{\"type\":\"tag\"}]"][int(6)], reason: "the record is not a JSON object")
        case 13:
            let depth = 256 + int(int(10) == 0 ? 200_000 : 500)
            let line = #"{"type":"tag","id":"\#(id)","name":"x","n":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            bad("deep nesting", line, reason: "nesting deeper than 256 levels")
        case 14:
            let stamp = ["2026-03-01T09:00:00", "2026-02-30T09:00:00Z", "0000-01-01T00:00:00Z", "2026-03-01T24:00:00Z", "yesterday",
                         "2026-03-01T09:00:00+24:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-3-1T09:00:00Z",
                         "2026-03-01T09:00:00.Z", "١٢٣٤-03-01T09:00:00Z", "2026-03-01T09:00:00Z ", "2016-12-31T23:59:60Z",
                         "2026-03-01 09:00:00Z"][int(14)]
            bad("bad timestamp", #"{"type":"team","id":"\#(id)","name":"x","created_at":"\#(stamp)"}"#, reason: "is not an RFC 3339 timestamp")
        case 15:
            bad("closed enumeration", #"{"type":"agent","id":"\#(id)","name":"x","kind":"\#(["ROBOT", "human", "", "HUMAN "][int(4)])"}"#, reason: "outside HUMAN, VIRTUAL")
        case 16:
            bad("missing required field", #"{"type":"message","id":"\#(id)","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND"}"#, reason: "missing required field \"conversation_id\"")
        case 17:
            bad("empty identifier", #"{"type":"tag","id":"","name":"x"}"#, reason: "must be a non-empty identifier")
        case 18:
            bad("trailing data", template(id) + [" x", "{}", ",", "]"][int(4)], reason: "not valid JSON: unexpected data after the JSON object")
        case 19:
            let escape = [#"\x"#, #"\u12"#, #"\ud800"#, #"\udc00x"#, #"\ud800\u0041"#, #"\U0041"#][int(6)]
            bad("invalid escape", #"{"type":"tag","id":"\#(id)","name":"a\#(escape)"}"#, reason: "not valid JSON")
        case 20:
            var noise = [UInt8(ascii: "#")]
            for _ in 0..<int(400) {
                var byte = UInt8(truncatingIfNeeded: random.next())
                if byte == 0x0A { byte = 0x0B }
                noise.append(byte)
            }
            bad("random bytes", Data(noise), reason: "")
        case 21:
            bad("byte-order mark", Data([0xEF, 0xBB, 0xBF]) + Data(template(id).utf8), reason: "not valid JSON")
        case 22:
            bad("raw control character", #"{"type":"tag","id":"\#(id)","name":"a"# + "\t" + #"b"}"#, reason: "not valid JSON: control character in a string")
        default:
            if megabyteBudget > 0 && int(50) == 0 {
                megabyteBudget -= 1
                // A line of several MiB: a huge string in a record that is not closed.
                let huge = String(repeating: "é", count: (2 + int(3)) * 1_048_576 / 2)
                bad("several-MiB line", #"{"type":"tag","id":"\#(id)","name":"\#(huge)""#, reason: "not valid JSON: unterminated")
            } else {
                bad("wrong type (boolean)", #"{"type":"tag","id":"\#(id)","name":"x","active":"yes"}"#, reason: "field \"active\" must be a boolean, got a string")
            }
        }
    }

    mutating func addValid(_ index: Int) {
        let id = "v-\(index)"
        switch int(40) {
        case 0: valid(#"{"ty\u0070e":"tag","id":"\#(id)","name":"escaped key","active":true}"#)
        case 1: valid(Data((template(id) + "\r").utf8))  // CRLF line end
        case 2: valid(#"{"type":"tag","id":"\#(id)","name":1,"name":"later duplicate wins"}"#)
        case 3: valid(#"{"type":"message","id":"\#(id)","conversation_id":"cv-1","created_at":"2016-12-31T23:59:59.9999995Z","direction":"OUTBOUND","content":"\ud83d\ude00 \u00e9 \"q\" \\ \/ \b\f\n\r\t"}"#)
        case 4:
            let nest = String(repeating: "[", count: 255) + String(repeating: "]", count: 255)
            valid(#"{"type":"tag","id":"\#(id)","name":"deepest allowed","n":\#(nest)}"#)
        case 5: valid(#"  {"type" : "channel" , "id" : "\#(id)" , "medium" : "NEW_MEDIUM" , "name" : "spaces" , "big" : 1e1000 , "tiny":-1E-1000}  "#)
        case 6: valid(#"{"type":"tag","id":"\#(String(repeating: "z", count: 192))\#(String(format: "%08d", index))","name":"identifier of exactly 200 characters"}"#)
        default: valid(template(id))
        }
    }
}

extension ReliabilityTests {
    @Suite("Reliability: loader fuzzing")
    struct Fuzz {
        @Test("bad lines of every sort mixed with valid ones: no crash, no hang, every bad line rejected with a reason, every valid line loaded")
        func fuzzLoader() throws {
            let badCount = Reliability.count(ci: 20_000, full: 120_000)
            let validCount = Reliability.count(ci: 8_000, full: 40_000)
            var log = FuzzLog(seed: 99)
            log.megabyteBudget = Reliability.count(ci: 3, full: 24)
            var bad = 0, valid = 0
            while bad < badCount || valid < validCount {
                if valid < validCount && (bad >= badCount || log.int(3) == 0) {
                    log.addValid(valid); valid += 1
                } else {
                    log.addBad(bad); bad += 1
                }
                if log.int(500) == 0 { log.append(Data(" \t\r".utf8)) }  // blank lines: skipped, neither loaded nor rejected
            }
            // The limits: a valid line with the largest field we try, and a line past 64 MiB.
            let fieldBytes = Reliability.count(ci: 8, full: 60) * 1_048_576
            log.valid(#"{"type":"message","id":"v-largest","conversation_id":"cv-1","created_at":"2026-03-01T09:00:00Z","direction":"INBOUND","content":"\#(String(repeating: "a", count: fieldBytes))"}"#)
            valid += 1
            let tooLong = Data(#"{"type":"message","content":""#.utf8) + Data(repeating: UInt8(ascii: "b"), count: LineReader.defaultMaximumLineBytes + 10) + Data(#""}"#.utf8)
            log.bad("line over 64 MiB", tooLong, reason: "line longer than 67108864 bytes (line of \(tooLong.count) bytes, sha256 ")
            let tooLongLine = log.lineNumber
            bad += 1
            log.valid(#"{"type":"tag","id":"v-after-the-longest","name":"the line after a truncated line still loads"}"#)
            valid += 1

            let directory = try TestSupport.temporaryDirectory()
            let path = directory.appendingPathComponent("fuzz.ndjson")
            try log.bytes.write(to: path)
            let rejectsPath = directory.appendingPathComponent("rejects.ndjson").path
            let url = try TestServer.shared.makeDatabase()
            // Default batch size (50,000 lines), as a user would run it.
            let run = try runCLI(["load", "--json", "--rejects", rejectsPath, path.path], environment: ["DATABASE_URL": url],
                                 timeout: Reliability.isFull ? 1_800 : 300)
            try #require(run.status != nil, "the loader hung (killed after the timeout)")
            #expect(run.status == 2, "\(run.standardError)")
            let summary = try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any]
            #expect(summary?["rejected"] as? Int == bad)
            #expect(summary?["loaded"] as? Int == valid)

            // Every bad line rejected, at its line number, with the expected reason; nothing else.
            let connection = try Connection(conninfo: url)
            let rejects = try connection.execute("select line_number, reason from warehouse.load_rejects order by line_number")
            var found: [Int: String] = [:]
            for row in 0..<rejects.rowCount {
                found[Int(rejects.value(row, 0) ?? "") ?? -1] = rejects.value(row, 1) ?? ""
            }
            #expect(found.count == bad)
            #expect(Set(found.keys) == Set(log.expected.keys))
            var mismatches: [String] = []
            for (line, reason) in log.expected {
                guard let actual = found[line] else { continue }
                if actual.isEmpty || (!reason.isEmpty && !actual.contains(reason)) {
                    mismatches.append("line \(line): expected \"\(reason)\", got \"\(actual.prefix(120))\"")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) wrong reasons, e.g. \(mismatches.prefix(5))")
            // The rejects file has one NDJSON line per reject.
            let rejectLines = try Data(contentsOf: URL(fileURLWithPath: rejectsPath)).split(separator: 0x0A).count
            #expect(rejectLines == bad)
            // Raw bytes are kept exactly (bytea when not valid UTF-8 or holding a NUL, text otherwise).
            for (line, raw) in log.sampledRaw {
                let stored = try connection.execute("select encode(coalesce(raw_bytes, convert_to(raw, 'UTF8')), 'hex') from warehouse.load_rejects where line_number = $1", [String(line)])
                let hex = raw.map { String(format: "%02x", $0) }.joined()
                let expectedHex = raw.last == 0x0D ? String(hex.dropLast(2)) : hex
                #expect(stored.scalar == expectedHex, "raw bytes of line \(line)")
            }
            // A reject keeps the first 64 KiB of its line (docs/reliability.md, "Huge lines").
            #expect(try connection.execute("select octet_length(raw) from warehouse.load_rejects where line_number = $1", [String(tooLongLine)]).scalar
                    == String(Loader.maximumRejectRawBytes))

            // The loaded rows are exactly the valid lines (compared with a load of only those).
            let referenceURL = try TestServer.shared.makeDatabase()
            let validPath = directory.appendingPathComponent("valid.ndjson")
            try log.validLines.reduce(into: Data()) { $0.append($1); $0.append(0x0A) }.write(to: validPath)
            let reference = try Connection(conninfo: referenceURL)
            let referenceSummary = try Loader(connection: reference).load([.file(validPath.path)])
            #expect(referenceSummary.rejected == 0 && referenceSummary.loaded == Int64(valid))
            let loaded = try ReliabilityDatabase.contents(url)
            #expect(loaded == (try ReliabilityDatabase.contents(referenceURL)))
            #expect(loaded.values.reduce(0) { $0 + $1.count } == valid, "every valid line has a key of its own")
            #expect(try connection.execute("select octet_length(content) from inbox.messages where message_id = 'v-largest'").scalar == String(fieldBytes))

            let categories = log.categories.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            Reliability.figure("fuzz: \(log.lineNumber) lines (\(bad) bad, \(valid) valid, \(log.bytes.count / 1_048_576) MiB) loaded in \(String(format: "%.1f", run.seconds)) s; every bad line rejected with its reason, every valid line loaded; largest field \(fieldBytes / 1_048_576) MiB; categories: \(categories)")
        }
    }
}
