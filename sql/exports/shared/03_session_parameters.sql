-- How the CSV views hand the session's parameters to the typed export functions
-- (`export.<export>_within`), which take them as arguments (export.session_parameters).

-- The session's parameters as one row, for the CSV views: each view reads them once, from a
-- materialized CTE, and passes them to its typed function as arguments.
create function export.session_parameters()
returns table (
    range_start    timestamptz,
    range_end      timestamptz,
    as_of          timestamptz,
    channel_ids    text[],
    content_policy text,
    is_scheduled   boolean
)
language sql stable parallel safe
as $$
    select export.range_start(), export.range_end(), export.as_of(), export.channel_ids(),
           export.content_policy(), export.is_scheduled()
$$;
comment on function export.session_parameters() is
'The parameters set by export.set_parameters in this session, as one row.';
