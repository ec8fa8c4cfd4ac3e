-- export.rows_for_session: the rows of an export's _within function for the session's parameters
-- (export.set_parameters), planned for their values.
--
-- A CSV view that calls `export.x_within(export.range_start(), export.range_end(), ...)` is planned
-- blind: the planner sees the settings as unknown values (default estimates for every range
-- condition), and where a condition is not an index condition it re-reads and re-parses the
-- settings on every row it compares. A dynamic statement is planned with its arguments as
-- constants, so the views of the exports whose plans depend on it read their rows through this
-- function: same rows, same single definition (the _within function), 25-60% less server CPU on
-- the benchmark month (docs/benchmarks.md, run 5). The views of messages, resolved-conversations
-- and responses do not: their plans are as good either way, and their many rows would be copied
-- once more into the function's result store (responses measured slower through it); nor does
-- agent-availability (no channel filter, 0.2 s).
create function export.rows_for_session(row_type anyelement, within_function text)
returns setof anyelement
language plpgsql stable
as $fn$
begin
    return query execute format('select * from export.%I($1, $2, $3, $4)', within_function)
        using export.range_start(), export.range_end(), export.as_of(), export.channel_ids();
end
$fn$;
comment on function export.rows_for_session(anyelement, text) is
'The rows of export.<within_function>(range_start, range_end, as_of, channel_ids) for the session''s parameters, planned with their values; row_type is a null of the function''s row type, e.g. rows_for_session(null::export.teams_row, ''teams_within'').';
