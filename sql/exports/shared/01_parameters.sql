-- export parameters: how a session says which range, zone, channels, as-of moment and content
-- policy the export views read.
--
-- export.set_parameters(...) stores every value as a session-level custom setting
-- (`inbox_export.<name>`, set_config(..., false)) and sets the session TimeZone, so that
-- export.format_timestamp writes timestamps in the export's zone. The views read the values
-- through the STABLE accessors below (never through SQL text), so a comparison such as
-- `created_at >= export.range_start()` is an index range bound evaluated once per query.
--
-- Timestamps are stored as UTC text with microseconds (`2026-03-01T08:00:00.000000Z`), which
-- reads back exactly whatever the session's DateStyle and TimeZone.

-- The first instant of a local date (exports.md, "Precise readings", Days in a zone): the
-- smallest instant whose wall-clock date in the zone is `day`. Every date bound of a range is read
-- through it: R = [local_day_start(from), local_day_start(to + 1)). The rule is written once, in
-- the facts layer (sql/facts/00_local_day_start.sql), which business hours read too.
create function export.local_day_start(day date, zone text) returns timestamptz
language sql stable strict parallel safe
as $$ select facts.local_day_start(day, zone) $$;
comment on function export.local_day_start(date, text) is
'The first instant of local date day in zone (the first occurrence of a repeated midnight; the first existing wall time when midnight does not exist). Range bounds given as dates are read through it.';

-- Stores parameters that export.resolve_parameters has already checked and normalised (the zone's
-- canonical name, the channel ids, the content policy): set_parameters below resolves then calls
-- it, and the exporter calls it with the values it resolved itself under its own limits, so that
-- an export reads the time zone list (pg_timezone_names, about 30 ms) once, not twice. It checks
-- nothing: call export.set_parameters instead.
create function export.store_parameters(
    range_start    timestamptz,
    range_end      timestamptz,
    time_zone      text,
    channel_ids    text[],
    as_of          timestamptz,
    content_policy text,
    is_scheduled   boolean
)
returns void
language plpgsql
volatile
as $$
declare
    channels text[];
begin
    -- stored sorted (the setting is a set)
    select array_agg(c.channel_id order by c.channel_id) into channels
    from unnest(channel_ids) as c(channel_id);

    perform set_config('TimeZone', time_zone, false);
    perform set_config('inbox_export.time_zone', time_zone, false);
    perform set_config('inbox_export.range_start',
        coalesce(to_char(range_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''), false);
    perform set_config('inbox_export.range_end',
        coalesce(to_char(range_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''), false);
    perform set_config('inbox_export.as_of',
        to_char(coalesce(as_of, now()) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), false);
    -- the same three instants again as whole microseconds since the Unix epoch (read back from the
    -- text just stored, so both forms always agree), which the accessors below turn back into a
    -- timestamptz without parsing text: a filter such as `created_at >= export.range_start()`
    -- then costs little per row when PostgreSQL evaluates it row by row (a sequential scan).
    -- Empty (the accessors fall back on the text form) when the value is null or too far from
    -- 1970 for the exact integer arithmetic (|microseconds| >= 2^53).
    perform set_config('inbox_export.' || k.name || '_us',
        coalesce((
            select e.us::text
            from (select (extract(epoch from nullif(current_setting('inbox_export.' || k.name), '')::timestamptz)
                          * 1000000)::bigint as us) as e
            where abs(e.us) < 9007199254740992
        ), ''), false)
    from (values ('range_start'), ('range_end'), ('as_of')) as k(name);
    perform set_config('inbox_export.channel_ids', coalesce(channels::text, ''), false);
    perform set_config('inbox_export.content_policy', content_policy, false);
    perform set_config('inbox_export.is_scheduled', coalesce(is_scheduled, false)::text, false);
end;
$$;

comment on function export.store_parameters(timestamptz, timestamptz, text, text[], timestamptz, text, boolean) is
'Internal: stores parameters already checked by export.resolve_parameters (the exporter''s path). Checks nothing; psql users call export.set_parameters.';

-- Both set_parameters overloads: the range as the resolver reads it (dates or RFC 3339 instants),
-- resolved once (one read of pg_timezone_names), then stored as resolved.
create function export.resolve_and_store_parameters(
    range_from     text,
    range_to       text,
    time_zone      text,
    channel_ids    text[],
    as_of          timestamptz,
    content_policy text,
    is_scheduled   boolean
)
returns void
language sql
volatile
as $$
    select export.store_parameters(
        r.resolved_range_start, r.resolved_range_end, r.resolved_time_zone, r.resolved_channel_ids,
        r.resolved_as_of, r.resolved_content_policy, is_scheduled)
    from export.resolve_parameters(
        range_from => range_from, range_to => range_to, time_zone => time_zone, channel_ids => channel_ids,
        as_of => as_of, content_policy => content_policy, is_range_required => false,
        is_open_bound_allowed => true, maximum_span_months => null, retention_months => null) as r
$$;
comment on function export.resolve_and_store_parameters(text, text, text, text[], timestamptz, text, boolean) is
'Internal: export.resolve_parameters (no span or retention limit, one bound may be open), then export.store_parameters of its results. psql users call export.set_parameters.';

create function export.set_parameters(
    range_start    timestamptz,
    range_end      timestamptz,
    time_zone      text,
    channel_ids    text[],
    as_of          timestamptz,
    content_policy text default 'twitter',
    is_scheduled   boolean default false
)
returns void
language sql
volatile
as $$
    -- checked and normalised by the one resolver; no span or retention limit here, so psql users
    -- may query any range
    select export.resolve_and_store_parameters(
        to_char(range_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        to_char(range_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        time_zone, channel_ids, as_of, content_policy, is_scheduled)
$$;

comment on function export.set_parameters(timestamptz, timestamptz, text, text[], timestamptz, text, boolean) is
'Sets the export parameters for this session: R = [range_start, range_end) (both may be null for open-conversations), '
'the IANA time zone (also set as the session TimeZone), channel ids (null or empty = all channels), the as-of moment T '
'(null = now()), the content policy (twitter | all | none) and whether the export is scheduled. '
'Raises invalid_parameter_value for an unknown time zone, channel id or policy, or a range that ends before it starts.';

-- Convenience overload for psql users: inclusive dates read in the zone.
-- R = [from_date 00:00, to_date + 1 day 00:00) in time_zone, each the first instant of its local
-- date (export.local_day_start). A null date leaves that bound open.
create function export.set_parameters(
    from_date      date,
    to_date        date,
    time_zone      text default 'UTC',
    channel_ids    text[] default null,
    as_of          timestamptz default now(),
    content_policy text default 'twitter',
    is_scheduled   boolean default false
)
returns void
language sql
volatile
as $$
    -- the dates are read in the zone by the one resolver (each bound the first instant of its
    -- local date)
    select export.resolve_and_store_parameters(
        to_char(from_date, 'YYYY-MM-DD'), to_char(to_date, 'YYYY-MM-DD'),
        time_zone, channel_ids, as_of, content_policy, is_scheduled)
$$;

comment on function export.set_parameters(date, date, text, text[], timestamptz, text, boolean) is
'psql convenience: R = [from_date 00:00, to_date + 1 day 00:00) read in time_zone (default UTC), then as the timestamptz overload. '
'Call it with named arguments, e.g. select export.set_parameters(from_date => ''2026-03-01'', to_date => ''2026-03-31'', time_zone => ''Europe/Paris'').';

-- Accessors -------------------------------------------------------------------------------------

-- One instant stored by set_parameters: read from its whole-microsecond form (cheap per row),
-- else from its text form.
create function export.instant_setting(name text) returns timestamptz
language sql stable parallel safe
as $$
    select coalesce(
        timestamptz 'epoch' + nullif(current_setting('inbox_export.' || name || '_us', true), '')::bigint * interval '1 microsecond',
        nullif(current_setting('inbox_export.' || name, true), '')::timestamptz
    )
$$;
comment on function export.instant_setting(text) is 'An instant stored by export.set_parameters (range_start, range_end, as_of).';

create function export.range_start() returns timestamptz
language sql stable parallel safe
as $$
    select export.instant_setting('range_start')
$$;
comment on function export.range_start() is 'Start of R (inclusive), or null when no range was given.';

create function export.range_end() returns timestamptz
language sql stable parallel safe
as $$
    select export.instant_setting('range_end')
$$;
comment on function export.range_end() is 'End of R (exclusive), or null when no range was given.';

create function export.as_of() returns timestamptz
language sql stable parallel safe
as $$
    select export.instant_setting('as_of')
$$;
comment on function export.as_of() is 'The as-of moment T: ongoing intervals run to it; current status, topics, tags and Last Updated are read at it.';

create function export.time_zone() returns text
language sql stable parallel safe
as $$ select coalesce(nullif(current_setting('inbox_export.time_zone', true), ''), 'UTC') $$;
comment on function export.time_zone() is 'The export''s IANA time zone.';

create function export.channel_ids() returns text[]
language sql stable parallel safe
as $$ select nullif(current_setting('inbox_export.channel_ids', true), '')::text[] $$;
comment on function export.channel_ids() is 'The selected channel ids, or null for all channels.';

create function export.channel_selected(channel_id text) returns boolean
language sql stable parallel safe
as $$
    -- the text test first: without a channel filter no array is parsed (export.channel_matches)
    select coalesce(current_setting('inbox_export.channel_ids', true), '') = ''
        or export.channel_matches(channel_id, export.channel_ids())
$$;
comment on function export.channel_selected(text) is
'True when no channel filter is set, else when channel_id is one of the selected channels (a null channel, i.e. an unknown conversation, is then false).';

create function export.content_policy() returns text
language sql stable parallel safe
as $$ select coalesce(nullif(current_setting('inbox_export.content_policy', true), ''), 'twitter') $$;
comment on function export.content_policy() is 'twitter (default: TWITTER medium, on-demand exports only) | all | none.';

create function export.is_scheduled() returns boolean
language sql stable parallel safe
as $$ select coalesce(nullif(current_setting('inbox_export.is_scheduled', true), '')::boolean, false) $$;
comment on function export.is_scheduled() is 'True for a scheduled export (the twitter content policy then writes no content).';

create function export.content_allowed(medium text) returns boolean
language sql stable parallel safe
as $$ select export.content_allowed(medium, export.content_policy(), export.is_scheduled()) $$;
comment on function export.content_allowed(text) is
'Whether the messages export writes a message''s content: never in a scheduled export; else always (all), never (none) or only on a TWITTER channel (twitter, default).';
