-- export.spreadsheet_safe: neutralizes a cell a spreadsheet would read as a formula.
--
-- Following OWASP's CSV-injection guidance, a value starting with `=`, `+`, `-`, `@`, a tab or a
-- carriage return is prefixed with a single quote, so spreadsheet programs show it as text.
-- Used by the exporter's opt-in `--safe-spreadsheet`; off by default so data round-trips exactly.
create function export.spreadsheet_safe(value text)
returns text
language sql
immutable
parallel safe
as $$
    select case when value ~ E'^[=+\\-@\\t\\r]' then '''' || value else value end
$$;

comment on function export.spreadsheet_safe(text) is
    'Prefixes a single quote to a value starting with =, +, -, @, tab or carriage return (OWASP CSV injection).';
