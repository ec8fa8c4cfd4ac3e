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
-- pgcrypto is a trusted extension (PostgreSQL 13+): a database owner may create it.

create extension if not exists pgcrypto;

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

-- The password functions, bound to pgcrypto's functions when they are created.
create function web.hash_password(password text) returns text
language sql volatile
begin atomic
    select crypt(password, gen_salt('bf', 10));
end;

create function web.password_matches(password text, password_hash text) returns boolean
language sql stable
begin atomic
    select password_hash = crypt(password, password_hash);
end;
