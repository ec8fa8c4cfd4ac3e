import Foundation

/// Generates a realistic inbox event log (NDJSON, the contract of
/// ../shared/spec/input-format.md) for demos, load tests and exports with real content.
///
/// Deterministic for its options (own PRNG, no clock, no hash-order iteration), streamed in
/// constant memory: dimensions first (channels, teams, agents, topics, tags, the contact pool with
/// its attributes), then each day's presence shifts and that day's conversations in creation
/// order, every conversation's records written as they are generated. See docs/generator.md.
public struct EventLogGenerator: Sendable {
    public let options: GeneratorOptions

    public init(options: GeneratorOptions = GeneratorOptions()) {
        self.options = options
    }

    /// Writes the whole log through `sink`, in chunks of about 1 MiB (every chunk ends at a line end).
    /// Throws `WarehouseError.invalidParameter` for invalid options, or what `sink` throws.
    public func write(to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> GeneratorStats {
        try options.validate()
        return try withoutActuallyEscaping(sink) { sink in
            let run = GeneratorRun(options: options, sink: sink)
            try run.generate()
            return run.stats
        }
    }

    /// The whole log in memory (for tests and small logs).
    public func generateBytes() throws -> (bytes: [UInt8], stats: GeneratorStats) {
        var bytes: [UInt8] = []
        let stats = try write { bytes.append(contentsOf: $0) }
        return (bytes, stats)
    }

    /// The record kinds in the order the statistics list them.
    public static let recordKinds = GeneratorRun.Kind.allCases.map(\.name)
}

/// One generation: all mutable state lives here, for the duration of `write(to:)`.
final class GeneratorRun {
    enum Kind: Int, CaseIterable {
        case channel, agent, team, contact, contactAttribute, topic, tag, conversation
        case message, statusChange, queueEntry, lock, topicApplied, tagApplied, csat, presence
        case businessHours

        var name: String {
            switch self {
            case .channel: "channel"
            case .agent: "agent"
            case .team: "team"
            case .contact: "contact"
            case .contactAttribute: "contact_attribute"
            case .topic: "topic"
            case .tag: "tag"
            case .conversation: "conversation"
            case .message: "message"
            case .statusChange: "status_change"
            case .queueEntry: "queue_entry"
            case .lock: "lock"
            case .topicApplied: "topic_applied"
            case .tagApplied: "tag_applied"
            case .csat: "csat"
            case .presence: "presence"
            case .businessHours: "business_hours"
            }
        }
    }

    private typealias Catalog = GeneratorCatalog
    private static let flushThreshold = 1 << 20
    private static let ringSize = 4096
    private static let deferSpan = 2048
    private static let day: Int64 = 86_400_000
    private static let hour: Int64 = 3_600_000

    let options: GeneratorOptions
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private(set) var stats = GeneratorStats()

    // Output.
    private var out: [UInt8] = []
    private var kindCounts = [Int](repeating: 0, count: Kind.allCases.count)
    private var line = NDJSONLineBuilder()
    private var superseded = NDJSONLineBuilder()

    // Re-delivery (its own PRNG, so the records themselves do not depend on the fraction).
    private let redeliver: Bool
    private let fraction: Double
    private var redelivery: GeneratorRandom
    private var ring: [[UInt8]] = []
    private var ringKinds: [Kind] = []
    private var ringNext = 0
    private var deferred: [[([UInt8], Kind)]] = []
    private var step = 0

    // The model.
    private var random: GeneratorRandom
    private let startMs: Int64
    private let endMs: Int64
    private let agentCount: Int
    private let teamCount: Int
    private var agentIDs: [String] = []
    private var teamOfAgent: [Int] = []
    private var teamIDs: [String] = []
    private var topicIDs: [String] = []
    private var tagIDs: [String] = []
    private let deactivationMs: Int64
    private var schedule: AgentSchedule
    private let channelWeights: [Double]
    private var contactCount = 0
    private var contactWidth = 7
    private var mediumBlocks: [(medium: String, start: Int, count: Int)] = []
    private var conversationWidth = 6

    /// The conversation being generated.
    private struct Conversation {
        var number = 0
        var channel = 0
        var medium = ""
        var language: String?
        var isPublicThread = false
        var postURL: String?
        var messages = 0
        var statusChanges = 0
        var queueEntries = 0
        var locks = 0
        var topicApplications = 0
        var tagApplications = 0
        var surveys = 0
        var lastInbound = 1
        var appliedTopics: [Int] = []
    }
    private var conversation = Conversation()

    init(options: GeneratorOptions, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.options = options
        self.sink = sink
        out.reserveCapacity(Self.flushThreshold + 65_536)
        fraction = options.redeliveryFraction
        redeliver = options.redeliveryFraction > 0
        random = GeneratorRandom(seed: options.seed)
        redelivery = GeneratorRandom(seed: options.seed, 0x5245_4445_4C49_5645)
        let startSeconds = Int64(options.start.timeIntervalSince1970.rounded(.down))
        startMs = (startSeconds - ((startSeconds % 86_400) + 86_400) % 86_400) * 1000
        endMs = startMs + Int64(options.days) * Self.day
        deactivationMs = startMs + Int64(options.days) * Self.day / 2 / 1000 * 1000
        let perDay = Double(options.conversations) / Double(options.days)
        agentCount = min(400, max(6, Int((perDay / 22).rounded(.up))))
        teamCount = agentCount >= 12 ? 4 : 3
        schedule = AgentSchedule(seed: options.seed, agentCount: agentCount, startMilliseconds: startMs, days: options.days)
        channelWeights = Catalog.channels.map(\.weight)
    }

    // MARK: - Driver

    func generate() throws {
        if redeliver {
            ring.reserveCapacity(Self.ringSize)
            deferred = Array(repeating: [], count: Self.deferSpan)
        }
        stats.start = Date(timeIntervalSince1970: Double(startMs / 1000))
        stats.end = Date(timeIntervalSince1970: Double(endMs / 1000))
        try writeDimensions()

        // Hourly traffic weights: hour of day × day of week × a random day factor × noise.
        let hourCurve: [Double] = [0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.00, 1.25, 1.35, 1.30,
                                   1.05, 1.15, 1.30, 1.30, 1.20, 1.00, 0.85, 0.80, 0.75, 0.60, 0.40, 0.25]
        let weekdayFactor: [Double] = [1.10, 1.05, 1.00, 1.00, 0.90, 0.50, 0.40]
        let hours = options.days * 24
        var weights = [Double](repeating: 0, count: hours)
        var total = 0.0
        for day in 0..<options.days {
            let weekday = AgentSchedule.weekday(ofEpochDay: startMs / Self.day + Int64(day))
            let dayFactor = 0.85 + 0.3 * random.unit()
            for hour in 0..<24 {
                let weight = hourCurve[hour] * weekdayFactor[weekday] * dayFactor * (0.9 + 0.2 * random.unit())
                weights[day * 24 + hour] = weight
                total += weight
            }
        }
        let count = options.conversations
        conversationWidth = NDJSONLineBuilder.width(for: count, minimum: 6)
        var cumulative = 0.0
        var assigned = 0
        var number = 0
        for hour in 0..<hours {
            if hour % 24 == 0 { try writePresence(day: hour / 24) }
            cumulative += weights[hour]
            let target = hour == hours - 1 ? count : min(count, Int((Double(count) * cumulative / total).rounded()))
            let inHour = target - assigned
            assigned = target
            guard inHour > 0 else { continue }
            let hourStart = startMs + Int64(hour) * Self.hour
            for index in 0..<inHour {
                // Stratified within the hour: ordered, whole seconds.
                let offset = (Double(index) + random.unit()) * 3600.0 / Double(inHour)
                number += 1
                try generateConversation(number: number, at: hourStart + Int64(offset) * 1000)
            }
        }
        try finish()
    }

    private func finish() throws {
        if redeliver {
            for offset in 1...Self.deferSpan {
                let bucket = (step + offset) % Self.deferSpan
                for (bytes, kind) in deferred[bucket] { try writeLine(bytes, kind) }
                deferred[bucket].removeAll()
            }
        }
        try flush()
        for kind in Kind.allCases where kindCounts[kind.rawValue] > 0 {
            stats.linesByKind[kind.name] = kindCounts[kind.rawValue]
        }
        stats.conversations = options.conversations
        stats.contacts = contactCount
        stats.humanAgents = agentCount
        stats.virtualAgents = Catalog.virtualAgents.count
        stats.teams = teamCount
        stats.channels = Catalog.channels.count
    }

    // MARK: - Output and re-delivery

    private func flush() throws {
        guard !out.isEmpty else { return }
        stats.bytes += out.count
        try out.withUnsafeBytes { try sink($0) }
        out.removeAll(keepingCapacity: true)
    }

    private func writeLine(_ bytes: [UInt8], _ kind: Kind) throws {
        out.append(contentsOf: bytes)
        kindCounts[kind.rawValue] += 1
        stats.lines += 1
        if out.count >= Self.flushThreshold { try flush() }
    }

    /// Writes the record in `line`.
    private func commit(_ kind: Kind) throws {
        try writeLine(line.bytes, kind)
        stats.records += 1
        if redeliver { try afterRecord(line.bytes, kind) }
    }

    /// Writes the record in `line`, whose superseded version (older `updated_at`) is in
    /// `superseded`: with re-delivery, sometimes both, in either order, one of them deferred.
    private func commitWithSuperseded(_ kind: Kind) throws {
        guard redeliver, redelivery.chance(fraction) else {
            try commit(kind)
            return
        }
        stats.records += 1
        stats.supersededVersions += 1
        let delay = 1 + redelivery.below(Self.deferSpan - 1)
        let bucket = (step + 1 + delay) % Self.deferSpan
        if redelivery.chance(0.5) {
            // The old version first, the current one later.
            try writeLine(superseded.bytes, kind)
            deferred[bucket].append((line.bytes, kind))
            try afterRecord(superseded.bytes, kind)
        } else {
            // The current version first, a stale one arriving later (it must not win).
            try writeLine(line.bytes, kind)
            deferred[bucket].append((superseded.bytes, kind))
            try afterRecord(line.bytes, kind)
        }
    }

    private func afterRecord(_ bytes: [UInt8], _ kind: Kind) throws {
        step += 1
        let bucket = step % Self.deferSpan
        if !deferred[bucket].isEmpty {
            for (deferredBytes, deferredKind) in deferred[bucket] { try writeLine(deferredBytes, deferredKind) }
            deferred[bucket].removeAll(keepingCapacity: true)
        }
        if ring.count < Self.ringSize {
            ring.append(bytes)
            ringKinds.append(kind)
        } else {
            ring[ringNext].removeAll(keepingCapacity: true)
            ring[ringNext].append(contentsOf: bytes)
            ringKinds[ringNext] = kind
            ringNext = (ringNext + 1) % Self.ringSize
        }
        if redelivery.chance(fraction) {
            let index = redelivery.below(ring.count)
            try writeLine(ring[index], ringKinds[index])
            stats.duplicates += 1
        }
    }

    // MARK: - Dimensions

    private func writeDimensions() throws {
        let dimensionsAt = startMs - 200 * Self.day

        for (index, channel) in Catalog.channels.enumerated() {
            let updatedAt = startMs - 20 * Self.day - Int64(index) * Self.hour
            line.begin("channel")
            line.string("id", channel.id)
            line.string("medium", channel.medium)
            line.string("name", channel.name)
            line.string("display_name", channel.displayName)
            line.time("updated_at", updatedAt)
            line.end()
            if channel.displayName != nil {
                superseded.begin("channel")
                superseded.string("id", channel.id)
                superseded.string("medium", channel.medium)
                superseded.string("name", channel.name)
                superseded.time("updated_at", dimensionsAt)
                superseded.end()
                try commitWithSuperseded(.channel)
            } else {
                try commit(.channel)
            }
        }

        try writeBusinessHours()

        for index in 0..<teamCount {
            let team = Catalog.teams[index]
            let id = "tm-\(index + 1)"
            teamIDs.append(id)
            let createdAt = startMs - Int64(420 - index * 60) * Self.day + Int64(9 + index) * Self.hour
            let updatedAt = team.formerName == nil ? createdAt : createdAt + 30 * Self.day
            line.begin("team")
            line.string("id", id)
            line.string("name", team.name)
            line.time("created_at", createdAt)
            line.time("updated_at", updatedAt)
            line.end()
            if let formerName = team.formerName {
                superseded.begin("team")
                superseded.string("id", id)
                superseded.string("name", formerName)
                superseded.time("created_at", createdAt)
                superseded.time("updated_at", createdAt)
                superseded.end()
                try commitWithSuperseded(.team)
            } else {
                try commit(.team)
            }
        }

        let pattern = teamCount == 4 ? Catalog.teamPatternFour : Catalog.teamPatternThree
        let agentWidth = NDJSONLineBuilder.width(for: agentCount, minimum: 3)
        let firstCount = Catalog.firstNames.count
        let lastCount = Catalog.lastNames.count
        for index in 0..<agentCount {
            let id = "ag-" + NDJSONLineBuilder.padded(index + 1, width: agentWidth)
            agentIDs.append(id)
            teamOfAgent.append(pattern[index % pattern.count])
            let first = Catalog.firstNames[index % firstCount]
            let last = Catalog.lastNames[((index / firstCount) * (7 + firstCount) + index % firstCount) % lastCount]
            let round = index / (firstCount * lastCount)
            let suffix = round == 0 ? "" : " \(round + 1)"
            let emailSuffix = round == 0 ? "" : "\(round + 1)"
            let name = first.0 + " " + last.0 + suffix
            let email = "\(first.1).\(last.1)\(emailSuffix)@acme.example"
            let reference: String? = index % 17 == 16 ? nil : "EMP-\(1001 + index)"
            let updatedAt = startMs - Int64(5 + index % 40) * Self.day + Int64(index % 24) * Self.hour
            line.begin("agent")
            line.string("id", id)
            line.string("name", name)
            line.string("kind", "HUMAN")
            line.string("email", email)
            line.string("reference", reference)
            line.time("updated_at", updatedAt)
            line.end()
            superseded.begin("agent")
            superseded.string("id", id)
            superseded.string("name", name)
            superseded.string("kind", "HUMAN")
            superseded.string("email", "\(first.1)\(emailSuffix)@acme-old.example")
            superseded.time("updated_at", updatedAt - 120 * Self.day)
            superseded.end()
            try commitWithSuperseded(.agent)
        }
        for (index, agent) in Catalog.virtualAgents.enumerated() {
            let updatedAt = startMs - Int64(15 + index) * Self.day
            line.begin("agent")
            line.string("id", agent.id)
            line.string("name", agent.name)
            line.string("kind", "VIRTUAL")
            line.time("updated_at", updatedAt)
            line.end()
            superseded.begin("agent")
            superseded.string("id", agent.id)
            superseded.string("name", agent.formerName)
            superseded.string("kind", "VIRTUAL")
            superseded.time("updated_at", updatedAt - 90 * Self.day)
            superseded.end()
            try commitWithSuperseded(.agent)
        }

        // Topics and tags: the last of each is deactivated halfway through the span.
        for (names, deactivated, prefix, kind) in [(Catalog.topics, Catalog.deactivatedTopic, "topic-", Kind.topic),
                                                   (Catalog.tags, Catalog.deactivatedTag, "tag-", Kind.tag)] {
            let all = names + [deactivated]
            for (index, name) in all.enumerated() {
                let id = prefix + NDJSONLineBuilder.padded(index + 1, width: 2)
                if kind == .topic { topicIDs.append(id) } else { tagIDs.append(id) }
                let isDeactivated = index == all.count - 1
                let createdAt = dimensionsAt + Int64(index) * Self.hour
                func write(_ builder: inout NDJSONLineBuilder, active: Bool, updatedAt: Int64) {
                    builder.begin(kind == .topic ? "topic" : "tag")
                    builder.string("id", id)
                    builder.string("name", name)
                    builder.boolean("active", active)
                    builder.time("updated_at", updatedAt)
                    builder.end()
                }
                if isDeactivated {
                    write(&line, active: false, updatedAt: deactivationMs)
                    write(&superseded, active: true, updatedAt: createdAt)
                    try commitWithSuperseded(kind)
                } else {
                    write(&line, active: true, updatedAt: createdAt)
                    try commit(kind)
                }
            }
        }

        try writeContacts()
    }

    /// The contact pool: one block of contacts per medium, sized by the media's traffic; a
    /// contact is a pure function of (seed, index), so nothing is kept per contact.
    /// The channels' business hours (GeneratorCatalog.schedules): in force from before the span,
    /// one of them changing halfway through it, one re-delivered with an older version.
    private func writeBusinessHours() throws {
        let holiday = GeneratorCatalog.holiday(startDay: startMs / Self.day, days: options.days)
        let changeAt = startMs + Int64(options.days / 2) * Self.day
        for schedule in GeneratorCatalog.schedules {
            func write(_ builder: inout NDJSONLineBuilder, weekly: String, validFrom: Int64, updatedAt: Int64) {
                builder.begin("business_hours")
                builder.string("channel_id", schedule.channelID)
                builder.string("time_zone", schedule.timeZone)
                builder.time("valid_from", validFrom)
                builder.json("weekly", weekly)
                if schedule.closesOnHoliday, let holiday { builder.json("closed_dates", "[\"\(holiday)\"]") }
                builder.time("updated_at", updatedAt)
                builder.end()
            }
            let validFrom = startMs - 200 * Self.day
            write(&line, weekly: schedule.weekly, validFrom: validFrom, updatedAt: startMs - 10 * Self.day)
            if let former = schedule.formerWeekly {
                write(&superseded, weekly: former, validFrom: validFrom, updatedAt: startMs - 40 * Self.day)
                try commitWithSuperseded(.businessHours)
            } else {
                try commit(.businessHours)
            }
            if let later = schedule.laterWeekly, options.days >= 2 {
                write(&line, weekly: later, validFrom: changeAt, updatedAt: startMs - 5 * Self.day)
                try commit(.businessHours)
            }
        }
    }

    private func writeContacts() throws {
        let target = max(20, Int(Double(options.conversations) * 0.7))
        var mediumWeight = [Double](repeating: 0, count: Catalog.media.count)
        for channel in Catalog.channels {
            if let index = Catalog.media.firstIndex(of: channel.medium) { mediumWeight[index] += channel.weight }
        }
        let totalWeight = mediumWeight.reduce(0, +)
        var start = 0
        for (index, medium) in Catalog.media.enumerated() {
            let count = max(1, Int((Double(target) * mediumWeight[index] / totalWeight).rounded()))
            mediumBlocks.append((medium, start, count))
            start += count
        }
        contactCount = start
        contactWidth = NDJSONLineBuilder.width(for: contactCount, minimum: 7)
        for block in mediumBlocks {
            for index in block.start..<(block.start + block.count) {
                try writeContact(index, medium: block.medium)
            }
        }
    }

    private func contactID(_ index: Int) -> String {
        "ct-" + NDJSONLineBuilder.padded(index + 1, width: contactWidth)
    }

    private func writeContact(_ index: Int, medium: String) throws {
        var random = GeneratorRandom(seed: options.seed, 0x434F_4E54_4143_54, UInt64(index))
        let id = contactID(index)
        let first = random.pick(Catalog.firstNames)
        let last = random.pick(Catalog.lastNames)
        let createdAt = startMs - Int64(random.int(1...700)) * Self.day - random.seconds(0...86_399)
        let primary: String
        var secondary: String?
        func digits(_ count: Int) -> String {
            var text = ""
            for _ in 0..<count { text.append(Character(Unicode.Scalar(UInt8(0x30 + random.below(10))))) }
            return text
        }
        switch medium {
        case "WHATSAPP", "SMS":
            let country = random.pick(["33", "33", "44", "34", "49", "1"])
            primary = "+" + country + digits(country == "1" ? 10 : 9)
            secondary = random.chance(0.6) ? first.0 : nil
        case "INSTAGRAM":
            primary = "@" + first.1 + "." + last.1 + (random.chance(0.5) ? digits(2) : "")
            secondary = first.0 + " " + String(last.0.prefix(1)) + "."
        case "TWITTER":
            primary = "@\(first.1)\(last.1.prefix(5))" + digits(random.int(1...4))
            secondary = first.0 + " " + last.0
        case "FACEBOOK":
            primary = "1000" + digits(11)
            secondary = first.0 + " " + last.0
        default:
            let hex = String(random.next() & 0xFFFF_FFFF, radix: 16)
            primary = "visitor-" + String(repeating: "0", count: 8 - hex.count) + hex
            secondary = random.chance(0.5) ? "\(first.1).\(last.1)@example.net" : nil
        }
        // Some contacts were updated after creation (their secondary identifier was learnt).
        var updatedAt = createdAt
        if secondary != nil && random.chance(0.3) {
            updatedAt = min(createdAt + random.seconds(3_600...300 * 86_400), startMs - Self.hour)
        }
        line.begin("contact")
        line.string("id", id)
        line.string("medium", medium)
        line.string("primary_identifier", primary)
        line.string("secondary_identifier", secondary)
        line.time("created_at", createdAt)
        line.time("updated_at", updatedAt)
        line.end()
        if updatedAt > createdAt {
            superseded.begin("contact")
            superseded.string("id", id)
            superseded.string("medium", medium)
            superseded.string("primary_identifier", primary)
            superseded.time("created_at", createdAt)
            superseded.time("updated_at", createdAt)
            superseded.end()
            try commitWithSuperseded(.contact)
        } else {
            try commit(.contact)
        }

        guard random.chance(0.55) else { return }
        // (attribute id, name, type, source, probability)
        let attributes: [(String, String, String, String, Double)] = [
            ("attr-customer-id", "Customer ID", "TEXT", "CRM", 0.7),
            ("attr-lifetime-value", "Lifetime value", "NUMBER", "CRM", 0.4),
            ("attr-birthday", "Birthday", "DATE", "AGENT", 0.15),
            ("attr-vip", "VIP", "BOOLEAN", "CRM", 0.35),
            ("attr-segment", "Segment", "LIST", "BOT", 0.45),
            ("attr-language", "Preferred language", "LIST", "BOT", 0.2),
            ("attr-consent", "Marketing consent", "BOOLEAN", "BOT", 0.25),
            ("attr-notes", "Notes", "TEXT", "AGENT", 0.08),
        ]
        for (attributeID, name, type, source, probability) in attributes where random.chance(probability) {
            var value: String?
            var oldValue: String?
            switch attributeID {
            case "attr-customer-id": value = "CUST-" + digits(6)
            case "attr-lifetime-value":
                value = "\(random.int(0...4999)).\(random.pick(["00", "50", "90", "99"]))"
                oldValue = "\(random.int(0...999)).00"
            case "attr-birthday":
                value = "\(random.int(1950...2006))-" + NDJSONLineBuilder.padded(random.int(1...12), width: 2) + "-"
                    + NDJSONLineBuilder.padded(random.int(1...28), width: 2)
            case "attr-vip":
                value = random.chance(0.15) ? "true" : "false"
                oldValue = "false"
            case "attr-segment":
                value = random.pick(["Platinum", "Gold", "Gold", "Silver", "Silver", "Bronze"])
                oldValue = "Bronze"
            case "attr-language": value = random.pick(["en", "fr", "fr", "es", "de"])
            case "attr-consent": value = random.chance(0.2) ? nil : (random.chance(0.6) ? "true" : "false")
            default:
                value = random.pick(["Prefers \"email\" follow-ups", "Calls back after 6pm,\nnever before",
                                     "Allergic to nuts; orders for a café", "Speaks 日本語 and English"])
            }
            let updatedAt = min(createdAt + random.seconds(60...400 * 86_400), startMs - Self.hour)
            func write(_ builder: inout NDJSONLineBuilder, value: String?, updatedAt: Int64) {
                builder.begin("contact_attribute")
                builder.string("contact_id", id)
                builder.string("attribute_id", attributeID)
                builder.string("name", name)
                builder.string("attribute_type", type)
                builder.string("value", value)
                builder.string("source", source)
                builder.time("updated_at", updatedAt)
                builder.end()
            }
            write(&line, value: value, updatedAt: updatedAt)
            if let oldValue, oldValue != value, updatedAt > createdAt {
                write(&superseded, value: oldValue, updatedAt: createdAt)
                try commitWithSuperseded(.contactAttribute)
            } else {
                try commit(.contactAttribute)
            }
        }
    }

    // MARK: - Presence

    private func writePresence(day: Int) throws {
        let shifts = schedule.shifts(day: day)
        let (year, month, dayOfMonth) = CivilCalendar.date(daysSinceEpoch: Int(startMs / Self.day) + day)
        let stamp = NDJSONLineBuilder.padded(year, width: 4) + NDJSONLineBuilder.padded(month, width: 2)
            + NDJSONLineBuilder.padded(dayOfMonth, width: 2)
        for agent in 0..<agentCount {
            for (index, interval) in shifts[agent].intervals.enumerated() where interval.start < endMs {
                let id = "pr-\(agentIDs[agent].dropFirst(3))-\(stamp)-\(index + 1)"
                let end = interval.end.flatMap { $0 < endMs ? $0 : nil }
                func write(_ builder: inout NDJSONLineBuilder, end: Int64?) {
                    builder.begin("presence")
                    builder.string("id", id)
                    builder.string("agent_id", agentIDs[agent])
                    builder.string("presence", interval.awayState == nil ? "AVAILABLE" : "AWAY")
                    builder.string("away_state", interval.awayState.map { Catalog.awayStates[$0] })
                    builder.time("started_at", interval.start)
                    builder.time("ended_at", end)
                    builder.time("updated_at", end ?? interval.start)
                    builder.end()
                }
                write(&line, end: end)
                if end != nil {
                    // The superseded version: the interval while it was still open.
                    write(&superseded, end: nil)
                    try commitWithSuperseded(.presence)
                } else {
                    try commit(.presence)
                }
            }
        }
    }

    // MARK: - Conversations

    private func generateConversation(number: Int, at createdAt: Int64) throws {
        let channelIndex = random.weighted(channelWeights)
        let channel = Catalog.channels[channelIndex]
        conversation = Conversation()
        conversation.number = number
        conversation.channel = channelIndex
        conversation.medium = channel.medium
        line.setConversation(number: number, width: conversationWidth)
        superseded.setConversation(number: number, width: conversationWidth)

        // The contact: a returning one (skewed towards the head of the block) or any.
        let block = mediumBlocks[Catalog.media.firstIndex(of: channel.medium) ?? 0]
        let local = random.chance(0.4)
            ? min(block.count - 1, Int(Double(block.count) * pow(random.unit(), 2)))
            : random.below(block.count)
        let contact = contactID(block.start + local)

        if random.chance(0.92) {
            conversation.language = channel.languages[random.weighted(channel.languages.map(\.1))].0
        }
        let sentiment: String? = random.chance(0.65) ? Catalog.sentiments[random.weighted(Catalog.sentiments.map(\.1))].0 : nil
        let hasURL = random.chance(0.9)
        var updatedAt = createdAt
        if sentiment != nil {
            let analysedAt = createdAt + random.seconds(30...600)
            if analysedAt < endMs { updatedAt = analysedAt }
        }
        func write(_ builder: inout NDJSONLineBuilder, sentiment: String?, updatedAt: Int64) {
            builder.begin("conversation")
            builder.conversationID("id", "cv-")
            builder.string("channel_id", channel.id)
            builder.string("contact_id", contact)
            builder.time("created_at", createdAt)
            if hasURL {
                builder.string("url", "https://inbox.acme.example/conversations/cv-"
                                   + NDJSONLineBuilder.padded(number, width: conversationWidth))
            }
            builder.string("language", conversation.language)
            builder.string("sentiment", sentiment)
            builder.time("updated_at", updatedAt)
            builder.end()
        }
        write(&line, sentiment: sentiment, updatedAt: updatedAt)
        if updatedAt > createdAt {
            write(&superseded, sentiment: nil, updatedAt: createdAt)
            try commitWithSuperseded(.conversation)
        } else {
            try commit(.conversation)
        }

        try statusChange(at: createdAt, "NEW")
        var time = createdAt
        let types = Catalog.inboundTypes(medium: channel.medium)
        let type = types[random.weighted(types.map(\.1))]
        conversation.isPublicThread = type.0 != "DIRECT_MESSAGE" && type.0 != "STORY_REPLY"
        if type.2 { conversation.postURL = Catalog.postURL(medium: channel.medium, number: random.next()) }
        let first = try inbound(at: time, messageType: type.0)
        let burst = random.weighted([70, 22, 8])
        for _ in 0..<burst {
            time += random.seconds(4...90)
            conversation.lastInbound = try inbound(at: time, messageType: type.0)
        }

        if let virtualAgent = channel.virtualAgent, random.chance(0.7) {
            try virtualAgentFlow(virtualAgent, after: time)
        } else {
            if isOutsideCoverage(createdAt) && random.chance(0.6) {
                try automatedMessage(at: createdAt + random.seconds(1...3), outboundType: "AUTO_RESPONSE",
                                     systemUserType: "AUTO_RESPONDER", content: Catalog.autoResponse)
            }
            try queueEntry(at: createdAt, "INBOUND_MESSAGE", inboundMessage: first)
            try humanFlow(queuedAt: createdAt, team: initialTeam(channel))
        }
    }

    private func isOutsideCoverage(_ time: Int64) -> Bool {
        let hourOfDay = Int((time % Self.day) / Self.hour)
        return hourOfDay < 7 || hourOfDay >= 21 || AgentSchedule.weekday(ofEpochDay: time / Self.day) >= 5
    }

    private func initialTeam(_ channel: GeneratorCatalog.Channel) -> Int? {
        switch channel.medium {
        case "INSTAGRAM", "TWITTER", "FACEBOOK": return random.chance(0.7) ? Catalog.socialTeam : nil
        default: return random.chance(0.6) ? 0 : nil
        }
    }

    private func virtualAgentFlow(_ virtualAgent: Int, after start: Int64) throws {
        let agentID = Catalog.virtualAgents[virtualAgent].id
        var time = start
        let rounds = random.int(1...3)
        for round in 1...rounds {
            time += random.seconds(2...8)
            try outbound(at: time, origin: "VIRTUAL_AGENT", agentID: agentID, teamID: nil,
                         systemUserType: "VIRTUAL_AGENT", content: random.chance(0.9) ? random.pick(Catalog.botTexts) : nil)
            if round < rounds {
                time += random.seconds(15...120)
                conversation.lastInbound = try inbound(at: time, messageType: "DIRECT_MESSAGE")
            }
        }
        if random.chance(0.35) {
            time += 1000
            try topicApplied(at: time, agentID: agentID, teamID: nil)
        }
        if random.chance(0.12) {
            time += 1000
            try tagApplied(message: 1, at: time, agentID: agentID, teamID: nil)
        }
        if random.chance(0.4) {
            let resolvedAt = time + random.seconds(5...60)
            try statusChange(at: resolvedAt, "RESOLVED", agentID: agentID, resolvedBy: "VIRTUAL_AGENT",
                             trigger: "VIRTUAL_AGENT", reason: "Answered by virtual agent")
            if random.chance(0.25) { try survey(resolvedAt: resolvedAt, agentID: agentID, teamID: nil) }
            if random.chance(0.06), let reopenedAt = try reopen(after: resolvedAt) {
                try humanFlow(queuedAt: reopenedAt, team: nil)
            }
            return
        }
        let reason = Catalog.handoverReasons[random.weighted(Catalog.handoverReasons.map(\.1))].0
        time += random.seconds(1...5)
        try queueEntry(at: time, "VA_HANDED_OVER_CONVERSATION", handoverReason: reason,
                       inboundMessage: conversation.lastInbound)
        try humanFlow(queuedAt: time, team: initialTeam(Catalog.channels[conversation.channel]))
    }

    private enum EpisodeOutcome {
        /// Nobody resolved it (yet): the conversation stays open.
        case open
        case transferred(at: Int64, toTeam: Int)
        case customerReplied(at: Int64, message: Int)
        /// `agent`: the human agent a survey is attributed to (the resolver, or the last one to work on it).
        case resolved(at: Int64, agent: Int, surveyChance: Double)
    }

    /// Human handling until the conversation is resolved for good, left open, or the span ends.
    private func humanFlow(queuedAt start: Int64, team: Int?) throws {
        var queuedAt = start
        var team = team
        var reopenings = 0
        for episode in 1...6 {
            guard queuedAt < endMs else { return }
            switch try humanEpisode(queuedAt: queuedAt, team: team, episode: episode, mustResolve: episode == 6) {
            case .open:
                return
            case .transferred(let at, let toTeam):
                try queueEntry(at: at, "TRANSFERRED")
                queuedAt = at
                team = toTeam
            case .customerReplied(let at, let message):
                try statusChange(at: at, "NEW")
                try queueEntry(at: at, "INBOUND_MESSAGE", inboundMessage: message)
                queuedAt = at
            case .resolved(let at, let agent, let surveyChance):
                if random.chance(surveyChance) {
                    try survey(resolvedAt: at, agentID: agentIDs[agent], teamID: teamIDs[teamOfAgent[agent]])
                }
                guard reopenings < 2, random.chance(0.1), let reopenedAt = try reopen(after: at) else { return }
                reopenings += 1
                queuedAt = reopenedAt
            }
        }
    }

    private func humanEpisode(queuedAt: Int64, team: Int?, episode: Int, mustResolve: Bool) throws -> EpisodeOutcome {
        if episode == 1 && random.chance(0.012) { return .open }  // never picked up
        if random.chance(0.01) {
            // Closed in bulk days later, without anyone opening it.
            let at = queuedAt + random.seconds(2 * 86_400...6 * 86_400)
            let agent = random.below(agentCount)
            try statusChange(at: at, "RESOLVED", agentID: agentIDs[agent], teamID: teamIDs[teamOfAgent[agent]],
                             resolvedBy: "BULK", trigger: "HUMAN_AGENT", reason: "Bulk close")
            return .resolved(at: at, agent: agent, surveyChance: 0)
        }
        let isChat = Catalog.channels[conversation.channel].isChat
        let wait = Int64(max(20_000, random.exponential(mean: isChat ? 300_000 : 1_500_000)))
        guard var (agent, pickup) = findAgent(at: queuedAt + wait, team: team, excluding: nil) else { return .open }
        if random.chance(0.2) {
            // Cherry-picking: someone opens it and leaves it.
            let leftAt = pickup + random.seconds(8...150)
            try lock(agent: agent, from: pickup, to: leftAt)
            guard let next = findAgent(at: leftAt + random.seconds(20...900), team: team, excluding: agent) else { return .open }
            (agent, pickup) = next
        }
        guard pickup < endMs else { return .open }
        let agentID = agentIDs[agent]
        let teamID = teamIDs[teamOfAgent[agent]]
        var time = pickup + random.seconds(5...90)
        if episode == 1 && conversation.appliedTopics.isEmpty && random.chance(0.62) {
            try topicApplied(at: time, agentID: agentID, teamID: teamID)
            if random.chance(0.15) {
                time += random.seconds(5...20)
                try topicApplied(at: time, agentID: agentID, teamID: teamID)
            }
        }
        if random.chance(0.22) {
            time += random.seconds(2...20)
            try tagApplied(message: conversation.lastInbound, at: time, agentID: agentID, teamID: teamID)
        }
        let roll = random.unit()
        if !mustResolve && roll < 0.11 {
            // No-reply: resolved without an answer (spam, a thank-you, a duplicate).
            let resolvedAt = time + random.seconds(10...120)
            try statusChange(at: resolvedAt, "RESOLVED", agentID: agentID, teamID: teamID, resolvedBy: "AGENT",
                             trigger: "HUMAN_AGENT", reason: random.pick(Catalog.noReplyReasons))
            try lock(agent: agent, from: pickup, to: random.chance(0.2) ? resolvedAt : resolvedAt + random.seconds(1...20))
            return .resolved(at: resolvedAt, agent: agent, surveyChance: 0.2)
        }
        if !mustResolve && roll < 0.18 && episode < 5 {
            if random.chance(0.4) {
                time += random.seconds(20...120)
                try humanReply(at: time, agent: agent)
            }
            let leftAt = time + random.seconds(20...200)
            try lock(agent: agent, from: pickup, to: leftAt)
            return .transferred(at: leftAt, toTeam: transferTarget(from: teamOfAgent[agent]))
        }
        let replies = random.weighted([55, 30, 15]) + 1
        for reply in 0..<replies {
            time += random.seconds(30...240)
            try humanReply(at: time, agent: agent)
            if reply < replies - 1 {
                time += random.seconds(20...180)
                conversation.lastInbound = try inbound(at: time, messageType: "DIRECT_MESSAGE")
            }
        }
        if mustResolve || random.chance(0.55) {
            let resolvedAt = time + random.seconds(5...60)
            try statusChange(at: resolvedAt, "RESOLVED", agentID: agentID, teamID: teamID, resolvedBy: "AGENT",
                             trigger: "HUMAN_AGENT", reason: random.pick(Catalog.resolutionReasons),
                             comment: random.chance(0.15) ? random.pick(Catalog.resolutionComments) : nil)
            try lock(agent: agent, from: pickup, to: random.chance(0.15) ? resolvedAt : resolvedAt + random.seconds(1...30))
            return .resolved(at: resolvedAt, agent: agent, surveyChance: 0.5)
        }
        let pendingAt = time + random.seconds(3...30)
        try statusChange(at: pendingAt, "PENDING", agentID: agentID, teamID: teamID)
        try lock(agent: agent, from: pickup, to: pendingAt + random.seconds(2...40))
        if random.chance(0.6) {
            let backAt = pendingAt + Int64(max(60_000, random.exponential(mean: 5_400_000))) / 1000 * 1000
            let message = try inbound(at: backAt, messageType: "DIRECT_MESSAGE")
            conversation.lastInbound = message
            return .customerReplied(at: backAt, message: message)
        }
        if random.chance(0.85) {
            let resolvedAt = pendingAt + Self.day
            try statusChange(at: resolvedAt, "RESOLVED", resolvedBy: "SYSTEM", trigger: "AUTO_RESOLVE")
            return .resolved(at: resolvedAt, agent: agent, surveyChance: 0.15)
        }
        return .open  // left pending
    }

    private func transferTarget(from team: Int) -> Int {
        var candidates: [Double] = [1, 3, 1, 2].prefix(teamCount).map { $0 }
        candidates[team] = 0
        return random.weighted(candidates)
    }

    /// An agent AVAILABLE at `time` or later (from `team` if given, any team after two hours of
    /// waiting), and when; nil if none before the end of the span.
    private func findAgent(at start: Int64, team: Int?, excluding: Int?) -> (Int, Int64)? {
        var time = start
        var team = team
        for _ in 0..<64 {
            guard time < endMs else { return nil }
            if team != nil && time > start + 2 * Self.hour { team = nil }
            let day = Int((time - startMs) / Self.day)
            let shifts = schedule.shifts(day: day)
            let first = random.below(agentCount)
            for offset in 0..<agentCount {
                let agent = (first + offset) % agentCount
                if agent == excluding || (team != nil && teamOfAgent[agent] != team) { continue }
                if shifts[agent].isAvailable(at: time, horizon: endMs) { return (agent, time) }
            }
            var next: Int64?
            for agent in 0..<agentCount where agent != excluding && (team == nil || teamOfAgent[agent] == team) {
                if let candidate = shifts[agent].nextAvailableStart(after: time), candidate < (next ?? .max) {
                    next = candidate
                }
            }
            if let next {
                time = next + random.seconds(15...240)
            } else {
                time = startMs + Int64(day + 1) * Self.day + random.seconds(0...59)
            }
        }
        return nil
    }

    /// The contact writes again after a resolution: a new inbound message, back to NEW, a REOPENED queue entry.
    private func reopen(after resolvedAt: Int64) throws -> Int64? {
        let at = resolvedAt + Int64(max(1_800_000, random.exponential(mean: 86_400_000))) / 1000 * 1000
        let message = try inbound(at: at, messageType: "DIRECT_MESSAGE")
        conversation.lastInbound = message
        try statusChange(at: at, "NEW")
        try queueEntry(at: at, "REOPENED", inboundMessage: message)
        return at < endMs ? at : nil
    }

    // MARK: - Records of a conversation (each dropped if it would happen after the span)

    private struct MessageFields {
        var sequence: Int
        var createdAt: Int64
        var direction: String
        var messageType: String?
        var origin: String
        var outboundType: String?
        var agentID: String?
        var teamID: String?
        var systemUserType: String?
        var content: String?
        var postURL: String?
        var sentiment: String?
        var updatedAt: Int64
        var deletedAt: Int64?

        func write(_ builder: inout NDJSONLineBuilder) {
            builder.begin("message")
            builder.conversationID("id", "m-", sequence)
            builder.conversationID("conversation_id", "cv-")
            builder.time("created_at", createdAt)
            builder.string("direction", direction)
            builder.string("message_type", messageType)
            builder.string("origin", origin)
            builder.string("outbound_type", outboundType)
            builder.string("agent_id", agentID)
            builder.string("team_id", teamID)
            builder.string("system_user_type", systemUserType)
            builder.string("content", content)
            builder.string("post_url", postURL)
            builder.string("sentiment", sentiment)
            builder.time("updated_at", updatedAt)
            builder.time("deleted_at", deletedAt)
            builder.end()
        }
    }

    private func writeMessage(_ fields: MessageFields) throws {
        guard fields.createdAt < endMs else { return }
        var fields = fields
        if let deletedAt = fields.deletedAt, deletedAt >= endMs {
            fields.deletedAt = nil
            fields.updatedAt = fields.createdAt
        }
        fields.write(&line)
        if fields.deletedAt != nil {
            var before = fields
            before.deletedAt = nil
            before.updatedAt = fields.createdAt
            before.write(&superseded)
            try commitWithSuperseded(.message)
        } else {
            try commit(.message)
        }
    }

    @discardableResult
    private func inbound(at time: Int64, messageType: String) throws -> Int {
        conversation.messages += 1
        let sequence = conversation.messages
        let createdAt = time + Int64(random.below(1000))
        let texts = Catalog.inboundTexts[conversation.language ?? "en"] ?? Catalog.inboundTexts["en"]!
        let content = random.chance(0.8) ? random.pick(texts) : nil
        let sentiment = random.chance(0.2) ? Catalog.sentiments[random.weighted(Catalog.sentiments.map(\.1))].0 : nil
        let deletedAt: Int64? = random.chance(0.012) ? createdAt + random.seconds(120...7_200) : nil
        let isPost = messageType != "DIRECT_MESSAGE" && messageType != "STORY_REPLY"
        try writeMessage(MessageFields(
            sequence: sequence, createdAt: createdAt, direction: "INBOUND", messageType: messageType,
            origin: "CONTACT", content: content, postURL: isPost ? conversation.postURL : nil,
            sentiment: sentiment, updatedAt: deletedAt ?? createdAt, deletedAt: deletedAt))
        return sequence
    }

    private func humanReply(at time: Int64, agent: Int) throws {
        let texts = Catalog.replyTexts[conversation.language ?? "en"] ?? Catalog.replyTexts["en"]!
        let content = random.chance(0.7) ? random.pick(texts) : nil
        try outbound(at: time, origin: "AGENT", agentID: agentIDs[agent], teamID: teamIDs[teamOfAgent[agent]],
                     systemUserType: nil, content: content, deletable: true)
    }

    private func outbound(at time: Int64, origin: String, agentID: String?, teamID: String?,
                          systemUserType: String?, content: String?, deletable: Bool = false) throws {
        conversation.messages += 1
        let createdAt = time + Int64(random.below(1000))
        let deletedAt: Int64? = deletable && random.chance(0.003) ? createdAt + random.seconds(30...600) : nil
        try writeMessage(MessageFields(
            sequence: conversation.messages, createdAt: createdAt, direction: "OUTBOUND",
            messageType: conversation.isPublicThread ? "REPLY" : "DIRECT_MESSAGE", origin: origin,
            outboundType: "REPLY", agentID: agentID, teamID: teamID, systemUserType: systemUserType,
            content: content, postURL: conversation.isPublicThread ? conversation.postURL : nil,
            updatedAt: deletedAt ?? createdAt, deletedAt: deletedAt))
    }

    private func automatedMessage(at time: Int64, outboundType: String, systemUserType: String, content: String) throws {
        conversation.messages += 1
        try writeMessage(MessageFields(
            sequence: conversation.messages, createdAt: time, direction: "OUTBOUND", messageType: "DIRECT_MESSAGE",
            origin: "AUTOMATION", outboundType: outboundType, systemUserType: systemUserType,
            content: content, updatedAt: time))
    }

    private func statusChange(at time: Int64, _ status: String, agentID: String? = nil, teamID: String? = nil,
                              resolvedBy: String? = nil, trigger: String? = nil, reason: String? = nil,
                              comment: String? = nil) throws {
        conversation.statusChanges += 1
        guard time < endMs else { return }
        line.begin("status_change")
        line.conversationID("id", "sc-", conversation.statusChanges)
        line.conversationID("conversation_id", "cv-")
        line.time("at", time)
        line.string("status", status)
        line.string("agent_id", agentID)
        line.string("team_id", teamID)
        line.string("resolved_by", resolvedBy)
        line.string("resolve_trigger", trigger)
        line.string("resolution_reason", reason)
        line.string("resolution_comment", comment)
        line.end()
        try commit(.statusChange)
    }

    private func queueEntry(at time: Int64, _ startedBy: String, handoverReason: String? = nil,
                            inboundMessage: Int? = nil) throws {
        conversation.queueEntries += 1
        guard time < endMs else { return }
        line.begin("queue_entry")
        line.conversationID("id", "q-", conversation.queueEntries)
        line.conversationID("conversation_id", "cv-")
        line.time("at", time)
        line.string("started_by", startedBy)
        line.string("handover_reason", handoverReason)
        if let inboundMessage { line.conversationID("inbound_message_id", "m-", inboundMessage) }
        line.end()
        try commit(.queueEntry)
    }

    private func lock(agent: Int, from start: Int64, to end: Int64) throws {
        conversation.locks += 1
        guard start < endMs else { return }
        let ended: Int64? = end < endMs ? max(end, start + 1000) : nil
        func write(_ builder: inout NDJSONLineBuilder, ended: Int64?) {
            builder.begin("lock")
            builder.conversationID("id", "lk-", conversation.locks)
            builder.conversationID("conversation_id", "cv-")
            builder.string("agent_id", agentIDs[agent])
            builder.string("team_id", teamIDs[teamOfAgent[agent]])
            builder.time("started_at", start)
            builder.time("ended_at", ended)
            builder.time("updated_at", ended ?? start)
            builder.end()
        }
        write(&line, ended: ended)
        if ended != nil {
            write(&superseded, ended: nil)  // as it was while held
            try commitWithSuperseded(.lock)
        } else {
            try commit(.lock)
        }
    }

    private func topicApplied(at time: Int64, agentID: String, teamID: String?) throws {
        var topic = random.below(Catalog.topics.count)
        if time < deactivationMs && random.chance(0.03) { topic = Catalog.topics.count }
        let removal = random.chance(0.08) ? time + Int64(max(600_000, random.exponential(mean: 86_400_000))) / 1000 * 1000 : nil
        guard !conversation.appliedTopics.contains(topic) else { return }
        conversation.appliedTopics.append(topic)
        conversation.topicApplications += 1
        guard time < endMs else { return }
        let removedAt = removal.flatMap { $0 < endMs ? $0 : nil }
        func write(_ builder: inout NDJSONLineBuilder, removedAt: Int64?) {
            builder.begin("topic_applied")
            builder.conversationID("id", "tpa-", conversation.topicApplications)
            builder.conversationID("conversation_id", "cv-")
            builder.string("topic_id", topicIDs[topic])
            builder.time("at", time)
            builder.string("agent_id", agentID)
            builder.string("team_id", teamID)
            builder.time("removed_at", removedAt)
            builder.time("updated_at", removedAt ?? time)
            builder.end()
        }
        write(&line, removedAt: removedAt)
        if removedAt != nil {
            write(&superseded, removedAt: nil)
            try commitWithSuperseded(.topicApplied)
        } else {
            try commit(.topicApplied)
        }
    }

    private func tagApplied(message: Int, at time: Int64, agentID: String, teamID: String?) throws {
        var tag = random.below(Catalog.tags.count)
        if time < deactivationMs && random.chance(0.03) { tag = Catalog.tags.count }
        let removal = random.chance(0.1) ? time + Int64(max(600_000, random.exponential(mean: 86_400_000))) / 1000 * 1000 : nil
        conversation.tagApplications += 1
        guard time < endMs else { return }
        let removedAt = removal.flatMap { $0 < endMs ? $0 : nil }
        func write(_ builder: inout NDJSONLineBuilder, removedAt: Int64?) {
            builder.begin("tag_applied")
            builder.conversationID("id", "tga-", conversation.tagApplications)
            builder.conversationID("message_id", "m-", message)
            builder.string("tag_id", tagIDs[tag])
            builder.time("at", time)
            builder.string("agent_id", agentID)
            builder.string("team_id", teamID)
            builder.time("removed_at", removedAt)
            builder.time("updated_at", removedAt ?? time)
            builder.end()
        }
        write(&line, removedAt: removedAt)
        if removedAt != nil {
            write(&superseded, removedAt: nil)
            try commitWithSuperseded(.tagApplied)
        } else {
            try commit(.tagApplied)
        }
    }

    /// A CSAT survey after a resolution, attributed to `agentID`/`teamID`, with its survey message.
    private func survey(resolvedAt: Int64, agentID: String, teamID: String?) throws {
        let sentAt = resolvedAt + random.seconds(60...300)
        try automatedMessage(at: sentAt, outboundType: "CSAT_SURVEY", systemUserType: "AUTOMATION",
                             content: Catalog.surveyText)
        conversation.surveys += 1
        var status = "SENT"
        var respondedAt: Int64?
        var score: Int?
        var question: String?
        var answer: String?
        var updatedAt = sentAt
        let roll = random.unit()
        if roll < 0.5 {
            status = "COMPLETED"
            respondedAt = sentAt + Int64(max(20_000, random.exponential(mean: 1_200_000))) / 1000 * 1000
            score = random.weighted([10, 8, 12, 25, 45]) + 1
            if random.chance(score! <= 3 ? 0.7 : 0.25) {
                question = random.pick(Catalog.followUpQuestions)
                if random.chance(0.7) { answer = random.pick(Catalog.followUpAnswers) }
            }
        } else if roll < 0.62 {
            status = "DECLINED"
            respondedAt = sentAt + random.seconds(10...1_800)
        } else {
            status = "EXPIRED"
            updatedAt = sentAt + 3 * Self.day
        }
        guard sentAt < endMs else { return }
        if let responded = respondedAt { updatedAt = responded }
        if updatedAt >= endMs {
            // Not answered (or expired) yet when the span ends.
            status = "SENT"
            respondedAt = nil
            score = nil
            question = nil
            answer = nil
            updatedAt = sentAt
        }
        func write(_ builder: inout NDJSONLineBuilder, status: String, respondedAt: Int64?, score: Int?,
                   question: String?, answer: String?, updatedAt: Int64) {
            builder.begin("csat")
            builder.conversationID("id", "cs-", conversation.surveys)
            builder.conversationID("conversation_id", "cv-")
            builder.time("sent_at", sentAt)
            builder.string("status", status)
            builder.string("agent_id", agentID)
            builder.string("team_id", teamID)
            builder.time("responded_at", respondedAt)
            builder.integer("score", score)
            builder.string("follow_up_question", question)
            builder.string("follow_up_answer", answer)
            builder.time("updated_at", updatedAt)
            builder.end()
        }
        write(&line, status: status, respondedAt: respondedAt, score: score, question: question, answer: answer,
              updatedAt: updatedAt)
        if status != "SENT" {
            write(&superseded, status: "SENT", respondedAt: nil, score: nil, question: nil, answer: nil, updatedAt: sentAt)
            try commitWithSuperseded(.csat)
        } else {
            try commit(.csat)
        }
    }
}
