-- 0002: least-privilege roles (cluster-wide, created once; NOLOGIN: grant them to login roles).
--
--   inbox_warehouse_reader  SELECT on every table and view of schemas inbox, warehouse and export,
--                           and EXECUTE on the export functions: enough to run every export and
--                           every analyst query, and nothing that writes.
--   inbox_warehouse_loader  the reader's rights plus INSERT/UPDATE on the inbox tables and the
--                           load ledger, and TEMPORARY on the database (staging tables).
--
-- Creating roles needs CREATEROLE; on a server where the migrating user lacks it, the roles are
-- skipped with a notice (create them by hand from this file) and the migration still succeeds.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        create role inbox_warehouse_reader nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'inbox_warehouse_loader') then
        create role inbox_warehouse_loader nologin;
    end if;
exception when insufficient_privilege then
    raise notice 'inbox-warehouse: no CREATEROLE privilege, least-privilege roles not created';
end
$$;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        grant usage on schema inbox, warehouse to inbox_warehouse_reader;
        grant select on all tables in schema inbox, warehouse to inbox_warehouse_reader;
        alter default privileges in schema inbox, warehouse grant select on tables to inbox_warehouse_reader;
    end if;
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_loader') then
        grant inbox_warehouse_reader to inbox_warehouse_loader;
        grant insert, update on all tables in schema inbox to inbox_warehouse_loader;
        grant insert, update on warehouse.loads, warehouse.load_rejects to inbox_warehouse_loader;
        grant usage on all sequences in schema warehouse to inbox_warehouse_loader;
        execute format('grant temporary on database %I to inbox_warehouse_loader', current_database());
    end if;
end
$$;
