-- 0040: accounts, sessions and schedule deliveries of the web page (inbox-warehouse serve,
-- docs/web.md).
--
--   web.users               one row per person who may log in: a name, a role (admin creates
--                           exports and schedules, viewer only downloads) and a salted slow hash
--                           of the password (pgcrypto's bcrypt, `crypt(password, gen_salt('bf'))`).
--   web.sessions            one row per logged-in browser: the SHA-256 of the session cookie
--                           (the cookie itself is never stored), its CSRF token and expiry.
--   web.schedule_deliveries how the page's schedules deliver (keep for download, sftp, webhook).
--   warehouse.export_jobs.requested_by  who asked for an on-demand job on the page.
--
-- Schema `web` is granted to no one: the least-privilege reader of 0002 never sees the hashes.
-- pgcrypto is a trusted extension (PostgreSQL 13+): a database owner may create it; where it
-- cannot be created, the migration still succeeds and only the web accounts are unavailable.

do $migration$
begin
    create extension if not exists pgcrypto;
exception when insufficient_privilege or undefined_file or feature_not_supported then
    raise notice 'inbox-warehouse: pgcrypto not created (%); web accounts need it', sqlerrm;
end
$migration$;

create schema web;

create table web.users (
    user_id       bigint generated always as identity primary key,
    name          text not null unique check (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role          text not null check (role in ('admin', 'viewer')),
    password_hash text not null,
    created_at    timestamptz not null default clock_timestamp()
);

comment on table web.users is 'People who may log in to the web page (inbox-warehouse users add).';
comment on column web.users.password_hash is 'bcrypt hash from pgcrypto crypt(password, gen_salt(''bf'')); never the password.';

create table web.sessions (
    session_hash  text primary key,
    user_id       bigint not null references web.users (user_id) on delete cascade,
    csrf_token    text not null,
    created_at    timestamptz not null default clock_timestamp(),
    expires_at    timestamptz not null
);
create index sessions_user_id_idx on web.sessions (user_id);

comment on column web.sessions.session_hash is 'Hex SHA-256 of the session cookie''s value.';

create table web.schedule_deliveries (
    schedule_id   bigint primary key references warehouse.export_schedules (schedule_id) on delete cascade,
    delivery      text not null check (delivery in ('keep', 'sftp', 'webhook')),
    webhook_url   text,
    created_by    text,
    constraint schedule_deliveries_webhook_check check ((delivery = 'webhook') = (webhook_url is not null))
);

comment on table web.schedule_deliveries is 'How a schedule created on the web page delivers; the webhook is posted by serve when its jobs finish.';

alter table warehouse.export_jobs add column requested_by text;
comment on column warehouse.export_jobs.requested_by is 'The web page user who asked for an on-demand job (null from the command line).';

-- The password functions, bound to pgcrypto's schema when the migration runs. Where pgcrypto
-- cannot be created (no privilege, contrib not installed), the migration still succeeds and the
-- functions find pgcrypto when called (so creating it later is enough), and say what is missing
-- while it is.
do $migration$
declare
    crypto_schema text;
begin
    select n.nspname into crypto_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pgcrypto';
    if crypto_schema is null then
        -- Resolved when called: works once pgcrypto is created in a schema on the search path.
        create function web.hash_password(password text) returns text
        language plpgsql volatile as $f$
        begin
            return crypt(password, gen_salt('bf', 10));
        exception when undefined_function then
            raise exception 'web accounts need the pgcrypto extension: create extension pgcrypto (as the database owner)'
                using errcode = 'feature_not_supported';
        end
        $f$;
        create function web.password_matches(password text, password_hash text) returns boolean
        language plpgsql stable as $f$
        begin
            return password_hash = crypt(password, password_hash);
        exception when undefined_function then
            raise exception 'web accounts need the pgcrypto extension: create extension pgcrypto (as the database owner)'
                using errcode = 'feature_not_supported';
        end
        $f$;
    else
        execute format($f$create function web.hash_password(password text) returns text
            language sql volatile as 'select %1$I.crypt(password, %1$I.gen_salt(''bf'', 10))'$f$, crypto_schema);
        execute format($f$create function web.password_matches(password text, password_hash text) returns boolean
            language sql stable as 'select password_hash = %1$I.crypt(password, password_hash)'$f$, crypto_schema);
    end if;
end
$migration$;
