/// Presence shifts of the human agents: a pure function of (seed, agent, day), so the presence
/// records and the choice of an available agent for a conversation agree without storing them.
struct AgentShift {
    struct Interval {
        let start: Int64
        /// nil: still ongoing at the end of the generated span.
        let end: Int64?
        /// Index into `GeneratorCatalog.awayStates` for an AWAY interval, nil for AVAILABLE.
        let awayState: Int?
    }

    /// Consecutive presence intervals (empty on a day off).
    var intervals: [Interval] = []

    /// Whether the agent is AVAILABLE at `time` (an ongoing interval runs to `horizon`).
    func isAvailable(at time: Int64, horizon: Int64) -> Bool {
        for interval in intervals where interval.awayState == nil {
            if time >= interval.start && time < (interval.end ?? horizon) { return true }
        }
        return false
    }

    /// The start of the first AVAILABLE interval after `time`, if any that day.
    func nextAvailableStart(after time: Int64) -> Int64? {
        for interval in intervals where interval.awayState == nil && interval.start > time {
            return interval.start
        }
        return nil
    }
}

struct AgentSchedule {
    let seed: UInt64
    let agentCount: Int
    /// Milliseconds since the epoch of day 0's midnight (UTC).
    let startMilliseconds: Int64
    let days: Int

    private var cache: [(day: Int, shifts: [AgentShift])?] = Array(repeating: nil, count: 8)

    init(seed: UInt64, agentCount: Int, startMilliseconds: Int64, days: Int) {
        self.seed = seed
        self.agentCount = agentCount
        self.startMilliseconds = startMilliseconds
        self.days = days
    }

    var horizon: Int64 { startMilliseconds + Int64(days) * 86_400_000 }

    static func weekday(ofEpochDay day: Int64) -> Int {
        // 1970-01-01 was a Thursday; 0 is Monday.
        Int(((day % 7) + 7 + 3) % 7)
    }

    mutating func shifts(day: Int) -> [AgentShift] {
        let slot = day & 7
        if let cached = cache[slot], cached.day == day { return cached.shifts }
        let shifts = (0..<agentCount).map { shift(agent: $0, day: day) }
        cache[slot] = (day, shifts)
        return shifts
    }

    /// Agent `agent`'s shift on day `day` (0-based from the start).
    func shift(agent: Int, day: Int) -> AgentShift {
        guard day >= 0 && day < days else { return AgentShift() }
        var random = GeneratorRandom(seed: seed, 0x5348_4946_54, UInt64(agent), UInt64(day))
        let dayStart = startMilliseconds + Int64(day) * 86_400_000
        let weekday = Self.weekday(ofEpochDay: dayStart / 86_400_000)
        let startMinute: Int
        let lengthMinutes: Int
        var hasMeeting = false
        // Agent 0 always works the final day, so that some presence is still ongoing at the end.
        let mustWork = agent == 0 && day == days - 1
        if weekday < 5 {
            if random.chance(0.06) && !mustWork { return AgentShift() }
            switch agent % 3 {
            case 0: startMinute = 7 * 60
            case 1: startMinute = 9 * 60
            default: startMinute = 12 * 60 + 30
            }
            lengthMinutes = 510
            hasMeeting = random.chance(0.4)
        } else {
            if !random.chance(0.3) && !mustWork { return AgentShift() }
            startMinute = 9 * 60
            lengthMinutes = 480
        }
        let start = dayStart + Int64(startMinute + random.int(-10...20)) * 60_000 + random.seconds(0...59)
        let end = start + Int64(lengthMinutes + random.int(-10...25)) * 60_000 + random.seconds(0...59)
        // Away spans at fixed places in the shift, with jitter; they never overlap.
        var aways: [(Int64, Int64, Int)] = []
        func away(_ offset: ClosedRange<Int>, _ duration: ClosedRange<Int>, _ state: Int) {
            let from = start + Int64(random.int(offset)) * 60_000 + random.seconds(0...59)
            let to = from + Int64(random.int(duration)) * 60_000 + random.seconds(0...59)
            if to < end - 600_000 { aways.append((from, to, state)) }
        }
        if random.chance(0.85) { away(100...140, 10...18, 0) }
        away(225...265, 30...58, 1)
        if hasMeeting { away(330...360, 30...52, random.chance(0.12) ? 3 : 2) }
        if random.chance(0.7) { away(420...440, 8...15, random.chance(0.2) ? 4 : 0) }

        var shift = AgentShift()
        var cursor = start
        for (from, to, state) in aways {
            shift.intervals.append(.init(start: cursor, end: from, awayState: nil))
            shift.intervals.append(.init(start: from, end: to, awayState: state))
            cursor = to
        }
        // On the final day some agents never signed out: their last interval is still ongoing.
        let ongoing = day == days - 1 && agent % 4 == 0
        shift.intervals.append(.init(start: cursor, end: ongoing ? nil : end, awayState: nil))
        return shift
    }
}
