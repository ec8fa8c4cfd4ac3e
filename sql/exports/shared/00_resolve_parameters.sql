-- export.resolve_parameters: the one place where an export's parameters are checked and
-- normalised. The exporter, `schedule add` and export.set_parameters (so psql users too) all
-- call it; a bad value raises invalid_parameter_value (SQLSTATE 22023) with a one-line message
-- that the command-line tool shows as it is.
--
--   range_from, range_to   the range as written: a date 'YYYY-MM-DD' read in the zone (from 00:00
--                          to the day after `range_to` 00:00), or an RFC 3339 instant with an
--                          offset (R = [from, to)); both null = no range
--   time_zone              an IANA name, matched case-insensitively and returned in its
--                          canonical spelling ('europe/paris' -> 'Europe/Paris'); null = UTC
--   channel_ids            duplicates dropped (first occurrence kept), every id must exist;
--                          null or empty = all channels
--   as_of                  the as-of moment T; null = now()
--   content_policy         twitter | all | none, any case; null = twitter
--   is_range_required      true for exports whose range may not be omitted
--   is_open_bound_allowed  true to accept one bound alone (the other side left open), as
--                          export.set_parameters does for psql users; else both or neither
--   maximum_span_months    the longest range in calendar months; null = no limit
--   retention_months       a range starting more than this many months before T is refused;
--                          null = no limit
--
-- The outputs are the normalised values: R as instants, the canonical zone, the channel ids,
-- T and the policy.

create function export.resolve_parameters(
    range_from          text,
    range_to            text,
    time_zone           text default 'UTC',
    channel_ids         text[] default null,
    as_of               timestamptz default null,
    content_policy      text default 'twitter',
    is_range_required   boolean default false,
    is_open_bound_allowed boolean default false,
    maximum_span_months integer default 18,
    retention_months    integer default 18,
    out resolved_range_start    timestamptz,
    out resolved_range_end      timestamptz,
    out resolved_time_zone      text,
    out resolved_channel_ids    text[],
    out resolved_as_of          timestamptz,
    out resolved_content_policy text
)
language plpgsql
stable
as $$
declare
    date_pattern    constant text := '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
    instant_pattern constant text := '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$';
    bound_text      text;
    from_date       date;
    to_date         date;
    dates_only      boolean;
    unknown         text;
begin
    -- the zone first: every other check reads dates in it
    select z.name into resolved_time_zone
    from pg_timezone_names as z
    where length(coalesce(nullif(time_zone, ''), 'UTC')) <= 100
      and (z.name = coalesce(nullif(time_zone, ''), 'UTC') or lower(z.name) = lower(coalesce(nullif(time_zone, ''), 'UTC')))
    order by (z.name = coalesce(nullif(time_zone, ''), 'UTC')) desc, z.name collate "C"
    limit 1;
    if resolved_time_zone is null then
        raise exception 'unknown time zone "%" (use an IANA name such as Europe/Paris)', export.message_text(time_zone)
            using errcode = 'invalid_parameter_value';
    end if;

    if range_from is null and range_to is null and is_range_required then
        raise exception 'this export needs a date range: give from and to'
            using errcode = 'invalid_parameter_value';
    end if;
    if (range_from is null) <> (range_to is null) and not is_open_bound_allowed then
        raise exception 'give both ends of the range (from and to), or neither'
            using errcode = 'invalid_parameter_value';
    end if;

    resolved_as_of := coalesce(as_of, now());

    foreach bound_text in array array[range_from, range_to] loop
        if bound_text is not null and not (bound_text ~ date_pattern or bound_text ~ instant_pattern) then
            raise exception '"%" is not a date (YYYY-MM-DD) or an RFC 3339 timestamp with an offset', export.message_text(bound_text)
                using errcode = 'invalid_parameter_value';
        end if;
    end loop;
    begin
        if range_from ~ date_pattern then
            from_date := range_from::date;
            resolved_range_start := export.local_day_start(from_date, resolved_time_zone);
        elsif range_from is not null then
            resolved_range_start := range_from::timestamptz;
            from_date := (resolved_range_start at time zone resolved_time_zone)::date;
        end if;
        if range_to ~ date_pattern then
            to_date := range_to::date;
            resolved_range_end := export.local_day_start(to_date + 1, resolved_time_zone);
        elsif range_to is not null then
            resolved_range_end := range_to::timestamptz;
            to_date := (resolved_range_end at time zone resolved_time_zone)::date;
        end if;
    exception when datetime_field_overflow or invalid_datetime_format then
        raise exception 'the range % to % holds a date or time that does not exist',
            export.message_text(coalesce(range_from, '(open)')), export.message_text(coalesce(range_to, '(open)'))
            using errcode = 'invalid_parameter_value';
    end;

    if range_from is not null and range_to is not null then
        dates_only := range_from ~ date_pattern and range_to ~ date_pattern;
        if (dates_only and to_date < from_date) or (not dates_only and resolved_range_end < resolved_range_start) then
            raise exception 'to % is before from %', export.message_text(range_to), export.message_text(range_from)
                using errcode = 'invalid_parameter_value';
        end if;
        -- the span is counted in calendar months of the zone
        if maximum_span_months is not null and (
            (dates_only and to_date > (from_date + make_interval(months => maximum_span_months))::date)
            or (not dates_only and resolved_range_end >
                ((resolved_range_start at time zone resolved_time_zone) + make_interval(months => maximum_span_months)) at time zone resolved_time_zone)
        ) then
            raise exception 'the range % to % is longer than % months (the maximum span)',
                export.message_text(range_from), export.message_text(range_to), maximum_span_months
                using errcode = 'invalid_parameter_value';
        end if;
    end if;
    if retention_months is not null and resolved_range_start <
        ((resolved_as_of at time zone resolved_time_zone) - make_interval(months => retention_months)) at time zone resolved_time_zone
    then
        raise exception 'the range starts before the %-month retention window (counted back from the as-of moment); data that old is not kept', retention_months
            using errcode = 'invalid_parameter_value';
    end if;

    resolved_content_policy := lower(coalesce(content_policy, 'twitter'));
    if resolved_content_policy not in ('twitter', 'all', 'none') then
        raise exception 'unknown content policy "%" (twitter, all or none)', export.message_text(content_policy)
            using errcode = 'invalid_parameter_value';
    end if;

    -- duplicates and nulls dropped, first occurrence kept; unknown ids named in the order given
    select coalesce(array_agg(c.channel_id order by c.position), '{}')
    into resolved_channel_ids
    from (
        select g.channel_id, min(g.position) as position
        from unnest(channel_ids) with ordinality as g(channel_id, position)
        where g.channel_id is not null
        group by g.channel_id
    ) as c;

    select string_agg(format('"%s"', export.message_text(c.channel_id)), ', ' order by c.position)
    into unknown
    from unnest(resolved_channel_ids) with ordinality as c(channel_id, position)
    where not exists (select 1 from inbox.channels as k where k.channel_id = c.channel_id);
    if unknown is not null then
        raise exception 'unknown channel id %', unknown
            using errcode = 'invalid_parameter_value';
    end if;
end;
$$;

comment on function export.resolve_parameters(text, text, text, text[], timestamptz, text, boolean, boolean, integer, integer) is
'Checks and normalises export parameters (range as dates or RFC 3339 instants, zone matched case-insensitively, '
'channel ids, as-of, content policy, span and retention limits); raises invalid_parameter_value (22023) with a '
'one-line message. Used by the exporter, schedule add and export.set_parameters.';
