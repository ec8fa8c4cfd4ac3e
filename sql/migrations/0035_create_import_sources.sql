-- 0035: saved import sources, and schedules that import before they export
-- (inbox-warehouse import chatwoot --save-as NAME; schedule add --import chatwoot:NAME;
-- docs/sources/chatwoot.md and docs/scheduling.md).
--
-- A saved source is what `import chatwoot` needs to run again unattended: the source database's
-- libpq connection string, the account, the id prefix and Chatwoot's web address. The connection
-- string never holds a password (the tool refuses one): the scheduler finds it where libpq looks,
-- PGPASSWORD in its environment, a password file (PGPASSFILE, ~/.pgpass) or a service file, so no
-- secret lies in the warehouse and nothing that prints a source can print one.
--
-- A schedule with an import source runs that source's incremental import (the same high-water
-- marks, warehouse.import_marks) before it exports a due period.

create table warehouse.import_sources (
    import_source_id bigint generated always as identity primary key,
    name             text not null unique check (name <> ''),
    source_kind      text not null check (source_kind in ('chatwoot')),
    -- a libpq URI or keyword string without a password
    conninfo         text not null check (conninfo <> ''),
    account_id       bigint not null check (account_id > 0),
    -- the id prefix of this source's records (`cw` in `cw:1:conversation:42`)
    source_name      text not null check (source_name <> ''),
    -- Chatwoot's web address, for the Conversation URL column
    chatwoot_url     text,
    created_at       timestamptz not null default clock_timestamp(),
    updated_at       timestamptz not null default clock_timestamp()
);

comment on table warehouse.import_sources is 'Saved import sources (inbox-warehouse import chatwoot --save-as NAME), run by inbox-warehouse import run NAME and by schedules added with --import.';
comment on column warehouse.import_sources.conninfo is 'libpq URI or keyword string of the source database; never a password (PGPASSWORD, PGPASSFILE or a service file supply it).';
comment on column warehouse.import_sources.source_name is 'The id prefix of the source''s records (cw in cw:1:conversation:42); keys warehouse.import_marks.';

alter table warehouse.export_schedules
    add column import_source_id bigint references warehouse.import_sources (import_source_id) on delete restrict;

comment on column warehouse.export_schedules.import_source_id is 'Saved import source refreshed (incrementally) before each due period is exported; null for none.';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        grant select on warehouse.import_sources to inbox_warehouse_reader;
    end if;
end
$$;
