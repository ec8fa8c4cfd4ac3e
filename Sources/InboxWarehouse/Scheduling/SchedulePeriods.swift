import Foundation
import PostgresLibPQ

/// One period of a schedule: [start, end) as instants, plus its local labels for file names.
public struct SchedulePeriod: Sendable, Equatable {
    /// RFC 3339 in UTC (`2026-03-28T23:00:00Z`).
    public let start: String
    public let end: String
    /// The bounds in the schedule's zone, ISO 8601 basic format with the offset
    /// (`20260329T000000+0100`), as they appear in file names.
    public let startLabel: String
    public let endLabel: String
}

enum SchedulePeriods {
    /// The complete periods of `schedule` up to `runAt` that still need an export: from the
    /// schedule's first period (or the oldest one inside the retention window, if later), not yet
    /// succeeded and not given up (failed `maxAttempts` times). Oldest first.
    ///
    /// Daily, weekly and monthly periods are calendar periods of the zone's local time converted
    /// to instants, so a day across a DST change lasts 23 or 25 hours; each starts at the first
    /// instant of its local date (`export.local_day_start`, as export ranges do), also where
    /// midnight is repeated or skipped. Hourly periods are elapsed
    /// hours aligned on the local hour: a repeated local hour is two periods, a skipped one none.
    static func due(_ schedule: Schedule, runAt: Instant, maxAttempts: Int, retentionMonths: Int,
                    connection: Connection) throws -> [SchedulePeriod] {
        let result = try connection.execute("""
            with input as (
                select $1::text as frequency, $2::text as zone, $3::timestamptz as first_start, $4::timestamptz as run_at,
                       case $1::text when 'hourly' then 'hour' when 'daily' then 'day' when 'weekly' then 'week' else 'month' end as unit,
                       case $1::text when 'hourly' then interval '1 hour' when 'daily' then interval '1 day'
                                     when 'weekly' then interval '7 days' else interval '1 month' end as step,
                       (($4::timestamptz at time zone $2::text) - make_interval(months => $7::int)) at time zone $2::text as cutoff
            ), calendar as (
                select export.local_day_start(local_start::date, zone) as period_start,
                       export.local_day_start((local_start + step)::date, zone) as period_end
                from input,
                     generate_series(
                         greatest(date_trunc(unit, first_start at time zone zone), date_trunc(unit, cutoff at time zone zone)),
                         date_trunc(unit, run_at at time zone zone) - step,
                         step) as local_start
                where frequency <> 'hourly'
            ), clock as (
                select period_start, period_start + step as period_end
                from input,
                     generate_series(
                         greatest(date_trunc('hour', first_start at time zone zone), date_trunc('hour', cutoff at time zone zone)) at time zone zone,
                         run_at - step,
                         step) as period_start
                where frequency = 'hourly'
            ), periods as (
                select period_start, period_end from calendar
                union all
                select period_start, period_end from clock
            )
            select
                to_char(p.period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                to_char(p.period_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                to_char(p.period_start at time zone i.zone, 'YYYYMMDD"T"HH24MISS'),
                extract(epoch from (p.period_start at time zone i.zone) - (p.period_start at time zone 'UTC'))::int,
                to_char(p.period_end at time zone i.zone, 'YYYYMMDD"T"HH24MISS'),
                extract(epoch from (p.period_end at time zone i.zone) - (p.period_end at time zone 'UTC'))::int
            from periods p cross join input i
            where p.period_start >= i.cutoff
              and p.period_start >= i.first_start
              and p.period_end <= i.run_at
              and not exists (
                  select 1 from warehouse.export_jobs j
                  where j.schedule_id = $5::bigint and j.period_start = p.period_start
                    and (j.state = 'succeeded' or (j.state = 'failed' and j.attempts >= $6::int)))
            order by p.period_start
            """, binds: [schedule.frequency.rawValue, schedule.timeZone, schedule.startsAt, runAt, schedule.scheduleID,
                         maxAttempts, retentionMonths])
        return (0..<result.rowCount).map { row in
            SchedulePeriod(
                start: result.value(row, 0) ?? "", end: result.value(row, 1) ?? "",
                startLabel: (result.value(row, 2) ?? "") + offsetLabel(Int(result.value(row, 3) ?? "0") ?? 0),
                endLabel: (result.value(row, 4) ?? "") + offsetLabel(Int(result.value(row, 5) ?? "0") ?? 0))
        }
    }

    /// `+0100`, `-0330`, `+0000`.
    static func offsetLabel(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + String(format: "%02d%02d", minutes / 60, minutes % 60)
    }
}
