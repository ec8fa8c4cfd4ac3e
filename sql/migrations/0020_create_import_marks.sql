-- 0020: high-water marks of source imports (inbox-warehouse import chatwoot; docs/sources/chatwoot.md).
--
-- One row per (source kind, source name, account, source table): the latest `updated_at` and the
-- highest id the last successful import saw in that table. The next incremental import re-reads
-- the rows changed since (minus a safety overlap) and everything derived from them. An import
-- run with --since leaves the marks alone; --full re-reads everything and refreshes them.

create table warehouse.import_marks (
    source_kind    text not null check (source_kind in ('chatwoot')),
    -- the id prefix of this source's records (`cw` in `cw:1:conversation:42`)
    source_name    text not null check (source_name <> ''),
    account_id     bigint not null,
    source_table   text not null,
    max_updated_at timestamptz,
    max_id         bigint,
    imported_at    timestamptz not null default clock_timestamp(),
    primary key (source_kind, source_name, account_id, source_table)
);

comment on table warehouse.import_marks is 'High-water marks of source imports: per source, account and source table, the latest updated_at and highest id imported.';
comment on column warehouse.import_marks.source_name is 'The id prefix of the source''s records (cw in cw:1:conversation:42).';
comment on column warehouse.import_marks.max_updated_at is 'Latest updated_at (created_at for insert-only tables) seen by the last successful import.';
comment on column warehouse.import_marks.max_id is 'Highest id seen by the last successful import (insert-only tables).';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        grant select on warehouse.import_marks to inbox_warehouse_reader;
    end if;
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_loader') then
        grant insert, update on warehouse.import_marks to inbox_warehouse_loader;
    end if;
end
$$;
