import Foundation
import Testing
@testable import InboxWarehouse

/// The sample-data generator, without a database: determinism, validity of every line against the
/// loader's own validator, counts, and the re-delivery rule.
@Suite("Generator")
struct GeneratorTests {
    static func generate(conversations: Int = 300, days: Int = 14, seed: UInt64 = 42,
                         redelivery: Double = 0) throws -> (bytes: [UInt8], stats: GeneratorStats) {
        let options = GeneratorOptions(conversations: conversations, days: days, seed: seed,
                                       redeliveryFraction: redelivery)
        return try EventLogGenerator(options: options).generateBytes()
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { $0 }
    }

    static func object(_ line: ArraySlice<UInt8>) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(line))
        return try #require(value as? [String: Any])
    }

    /// A record's key per the contract.
    static func key(_ object: [String: Any]) -> String {
        let type = object["type"] as? String ?? ""
        if type == "contact_attribute" {
            return "\(type)/\(object["contact_id"] as? String ?? "")/\(object["attribute_id"] as? String ?? "")"
        }
        if type == "business_hours" {
            return "\(type)/\(object["channel_id"] as? String ?? "")/\(object["valid_from"] as? String ?? "")"
        }
        return "\(type)/\(object["id"] as? String ?? "")"
    }

    @Test("the same seed gives identical bytes")
    func sameSeedSameBytes() throws {
        let first = try Self.generate(redelivery: 0.1)
        let second = try Self.generate(redelivery: 0.1)
        #expect(first.bytes.count > 10_000)
        #expect(first.bytes == second.bytes)
        #expect(first.stats == second.stats)
    }

    @Test("a different seed gives different bytes")
    func differentSeedDifferentBytes() throws {
        let first = try Self.generate(seed: 1)
        let second = try Self.generate(seed: 2)
        #expect(first.bytes != second.bytes)
    }

    @Test("every line is JSON with a known type and passes the loader's validation")
    func everyLineIsValid() throws {
        let (bytes, stats) = try Self.generate(redelivery: 0.05)
        let lines = Self.lines(bytes)
        #expect(bytes.last == 0x0A)
        #expect(lines.count == stats.lines)
        #expect(bytes.count == stats.bytes)
        var kinds = Set<String>()
        var row: [UInt8] = []
        for (index, line) in lines.enumerated() {
            let object = try Self.object(line)
            let type = try #require(object["type"] as? String)
            #expect(RecordKind.byType[type] != nil, "line \(index + 1): unknown type \(type)")
            kinds.insert(type)
            row.removeAll(keepingCapacity: true)
            let lineBytes: [UInt8] = [UInt8](line)
            let reason = lineBytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) -> String? in
                do {
                    _ = try RecordValidator.validate(buffer, sequence: Int64(index), into: &row)
                    return nil
                } catch {
                    return (error as? RejectReason)?.reason ?? "\(error)"
                }
            }
            #expect(reason == nil, "line \(index + 1) rejected: \(reason ?? "") — \(String(decoding: line, as: UTF8.self))")
        }
        #expect(kinds == Set(RecordKind.all.map(\.type)), "every record kind occurs")
        #expect(Set(stats.linesByKind.keys) == kinds)
    }

    @Test("N conversations requested give N conversation records", arguments: [0, 1, 7, 250])
    func conversationCount(conversations: Int) throws {
        let (bytes, stats) = try Self.generate(conversations: conversations, days: 7)
        var count = 0
        var ids = Set<String>()
        for line in Self.lines(bytes) {
            let object = try Self.object(line)
            if object["type"] as? String == "conversation" {
                count += 1
                ids.insert(object["id"] as? String ?? "")
            }
        }
        #expect(count == conversations)
        #expect(ids.count == conversations)
        #expect(stats.conversations == conversations)
        #expect(stats.linesByKind["conversation", default: 0] == conversations)
    }

    @Test("event timestamps lie in the generated span; dimensions are dated before it")
    func timestampsInSpan() throws {
        let (bytes, stats) = try Self.generate(conversations: 200, days: 10)
        let start = Int64(stats.start.timeIntervalSince1970) * 1_000_000
        let end = Int64(stats.end.timeIntervalSince1970) * 1_000_000
        #expect(end - start == 10 * 86_400 * 1_000_000)
        let dimensions: Set<String> = ["channel", "agent", "team", "contact", "contact_attribute", "topic", "tag", "business_hours"]
        let timestampFields = ["created_at", "at", "started_at", "ended_at", "sent_at", "responded_at", "removed_at",
                               "deleted_at", "updated_at"]
        for line in Self.lines(bytes) {
            let object = try Self.object(line)
            let type = object["type"] as? String ?? ""
            for field in timestampFields {
                guard let text = object[field] as? String else { continue }
                let instant = try #require(Instant.parse(text, .inputFormat), "\(type).\(field) \(text)")
                #expect(text.hasSuffix("Z"))
                if dimensions.contains(type) {
                    // The deactivated topic and tag are updated halfway through the span.
                    #expect(instant.microseconds < end, "\(type).\(field) \(text)")
                } else {
                    #expect(instant.microseconds >= start && instant.microseconds < end, "\(type).\(field) \(text)")
                }
            }
        }
    }

    @Test("without re-delivery every key occurs once")
    func noRedeliveryNoDuplicates() throws {
        let (bytes, stats) = try Self.generate()
        var keys = Set<String>()
        for line in Self.lines(bytes) {
            let key = Self.key(try Self.object(line))
            #expect(keys.insert(key).inserted, "duplicate key \(key)")
        }
        #expect(stats.duplicates == 0 && stats.supersededVersions == 0)
        #expect(stats.records == stats.lines)
    }

    @Test("re-delivery duplicates keys, and the re-delivery rule gives back the log without it")
    func redeliveryConverges() throws {
        let plain = try Self.generate()
        let redelivered = try Self.generate(redelivery: 0.2)
        #expect(redelivered.stats.lines > plain.stats.lines)
        #expect(redelivered.stats.records == plain.stats.records)
        #expect(redelivered.stats.duplicates > 0 && redelivered.stats.supersededVersions > 0)

        // Apply the contract's rule: a later or equal updated_at replaces; without updated_at on
        // both sides the later line wins; a line without it never replaces one with it.
        var state: [String: (updatedAt: Int64?, line: String)] = [:]
        var occurrences: [String: Int] = [:]
        var outOfOrder = false
        var lastIndex: [String: Int] = [:]
        for (index, line) in Self.lines(redelivered.bytes).enumerated() {
            let object = try Self.object(line)
            let key = Self.key(object)
            occurrences[key, default: 0] += 1
            if let previous = lastIndex[key], index - previous > 1 { outOfOrder = true }
            lastIndex[key] = index
            let updatedAt = (object["updated_at"] as? String).flatMap { Instant.parse($0, .inputFormat) }?.microseconds
            let text = String(decoding: line, as: UTF8.self)
            if let stored = state[key] {
                switch (stored.updatedAt, updatedAt) {
                case (nil, _): state[key] = (updatedAt, text)
                case (.some, nil): break
                case (.some(let old), .some(let new)): if new >= old { state[key] = (updatedAt, text) }
                }
            } else {
                state[key] = (updatedAt, text)
            }
        }
        #expect(occurrences.values.contains { $0 > 1 }, "some keys are delivered more than once")
        #expect(outOfOrder, "re-deliveries arrive later, out of order")

        var expected: [String: String] = [:]
        for line in Self.lines(plain.bytes) {
            expected[Self.key(try Self.object(line))] = String(decoding: line, as: UTF8.self)
        }
        #expect(state.count == expected.count)
        #expect(state.mapValues(\.line) == expected)
    }

    @Test("chunks handed to the sink end at line ends")
    func chunksEndAtLineEnds() throws {
        let options = GeneratorOptions(conversations: 3000, days: 5, seed: 9)
        var chunks = 0
        var total = 0
        let stats = try EventLogGenerator(options: options).write { chunk in
            chunks += 1
            total += chunk.count
            #expect(chunk.last == 0x0A)
        }
        #expect(chunks > 1)
        #expect(total == stats.bytes)
    }

    @Test("contacts return, conversations stay open at the end, and agents are human and virtual")
    func realism() throws {
        let (bytes, _) = try Self.generate(conversations: 600, days: 14)
        var conversationsByContact: [String: Int] = [:]
        var latestStatus: [String: (at: String, id: String, status: String)] = [:]
        var agentKinds = Set<String>()
        var surveyStatuses = Set<String>()
        var startedBy = Set<String>()
        var resolvedBy = Set<String>()
        var ongoingPresence = 0
        for line in Self.lines(bytes) {
            let object = try Self.object(line)
            switch object["type"] as? String {
            case "conversation":
                conversationsByContact[object["contact_id"] as? String ?? "", default: 0] += 1
            case "status_change":
                let conversation = object["conversation_id"] as? String ?? ""
                let at = object["at"] as? String ?? ""
                let id = object["id"] as? String ?? ""
                // Same-format UTC timestamps; compare by instant.
                let instant = Instant.parse(at, .inputFormat)?.microseconds ?? 0
                if let current = latestStatus[conversation] {
                    let currentInstant = Instant.parse(current.at, .inputFormat)?.microseconds ?? 0
                    if instant < currentInstant || (instant == currentInstant && id < current.id) { break }
                }
                latestStatus[conversation] = (at, id, object["status"] as? String ?? "")
                if let by = object["resolved_by"] as? String { resolvedBy.insert(by) }
            case "agent":
                agentKinds.insert(object["kind"] as? String ?? "")
            case "csat":
                surveyStatuses.insert(object["status"] as? String ?? "")
            case "queue_entry":
                startedBy.insert(object["started_by"] as? String ?? "")
            case "presence":
                if object["ended_at"] == nil { ongoingPresence += 1 }
            default:
                break
            }
        }
        #expect(conversationsByContact.values.contains { $0 > 1 }, "returning contacts")
        let statuses = Set(latestStatus.values.map(\.status))
        #expect(statuses.contains("RESOLVED") && (statuses.contains("PENDING") || statuses.contains("NEW")))
        #expect(agentKinds == ["HUMAN", "VIRTUAL"])
        #expect(surveyStatuses.isSuperset(of: ["COMPLETED", "EXPIRED", "DECLINED"]))
        #expect(startedBy.isSuperset(of: ["INBOUND_MESSAGE", "VA_HANDED_OVER_CONVERSATION", "REOPENED", "TRANSFERRED"]))
        #expect(resolvedBy.isSuperset(of: ["AGENT", "VIRTUAL_AGENT", "SYSTEM"]))
        #expect(ongoingPresence > 0)
    }

    @Test("invalid options are refused")
    func invalidOptions() {
        #expect(throws: WarehouseError.self) {
            _ = try EventLogGenerator(options: GeneratorOptions(conversations: -1)).generateBytes()
        }
        #expect(throws: WarehouseError.self) {
            _ = try EventLogGenerator(options: GeneratorOptions(days: 0)).generateBytes()
        }
        #expect(throws: WarehouseError.self) {
            _ = try EventLogGenerator(options: GeneratorOptions(redeliveryFraction: 1.5)).generateBytes()
        }
        #expect(GeneratorOptions.startDate(parsing: "2026-03-01") == GeneratorOptions.defaultStart)
        #expect(GeneratorOptions.startDate(parsing: "2026-02-30") == nil)
        #expect(GeneratorOptions.startDate(parsing: "yesterday") == nil)
    }
}
