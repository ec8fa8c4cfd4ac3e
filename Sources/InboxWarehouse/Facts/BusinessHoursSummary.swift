import PostgresLibPQ

/// What business hours do to First Response Time, per channel (the demo prints it): the mean
/// First Response Time of the conversations first resolved in a range, in the channel's business
/// hours and in calendar time, read from the typed resolved-conversations function.
public struct BusinessHoursSummary: Sendable, Equatable {
    public struct Channel: Sendable, Equatable {
        public let channelID: String
        /// The time zone of the channel's latest schedule; nil for a channel without one.
        public let timeZone: String?
        public let conversations: Int
        public let averageBusinessSeconds: Int?
        public let averageCalendarSeconds: Int?
    }

    public let channels: [Channel]

    /// Per channel with a first response among the conversations first resolved in
    /// [from, to] (dates in `timeZone`), data as of `asOf`; by channel id.
    public static func read(_ connection: Connection, from: String, to: String, timeZone: String,
                            asOf: String) throws -> BusinessHoursSummary {
        let result = try connection.execute("""
            select r.channel_id,
                   (select b.time_zone from inbox.business_hours as b
                    where b.channel_id = r.channel_id order by b.valid_from desc limit 1),
                   count(*),
                   round(avg(r.first_response_seconds)),
                   round(avg(r.first_response_time_calendar))
            from export.resolved_conversations_between($1::date, $2::date, $3, as_of => $4::timestamptz) as r
            where r.first_response_seconds is not null
            group by r.channel_id
            order by r.channel_id collate "C"
            """, [from, to, timeZone, asOf])
        return BusinessHoursSummary(channels: result.rows.map { row in
            Channel(channelID: row[0] ?? "", timeZone: row[1], conversations: Int(row[2] ?? "0") ?? 0,
                    averageBusinessSeconds: row[3].flatMap { Int($0) }, averageCalendarSeconds: row[4].flatMap { Int($0) })
        })
    }
}
