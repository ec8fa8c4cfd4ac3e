-- 0003: export schedules and export jobs (docs/scheduling.md).
--
--   warehouse.export_schedules  one row per schedule: which export, how often, in which zone,
--                               for which channels, delivered where.
--   warehouse.export_jobs       one row per export run, on-demand or scheduled: parameters,
--                               state machine (queued -> running -> succeeded | failed), the file
--                               it produced, and what happened to its delivery and webhook.
--
-- Exactly once: a scheduled job is keyed by (schedule_id, period_start). A runner inserts the job
-- before running it (`on conflict do nothing`), then takes a session advisory lock on the job id
-- and re-reads its state; a second runner either conflicts on the insert or fails to take the
-- lock, and skips the period.

create table warehouse.export_schedules (
    schedule_id  bigint generated always as identity primary key,
    name         text not null unique check (name <> ''),
    export_type  text not null,
    frequency    text not null check (frequency in ('hourly', 'daily', 'weekly', 'monthly')),
    time_zone    text not null default 'UTC',
    channel_ids  text[] not null default '{}',
    -- a local directory (absolute path) or sftp://user@host[:port]/path
    destination  text not null,
    -- the start of the first period this schedule exports (periods before it are never due)
    starts_at    timestamptz not null,
    is_enabled   boolean not null default true,
    created_at   timestamptz not null default clock_timestamp()
);

comment on table warehouse.export_schedules is 'One row per export schedule (inbox-warehouse schedule add).';
comment on column warehouse.export_schedules.starts_at is 'Start of the first period exported; earlier periods are never due.';
comment on column warehouse.export_schedules.destination is 'Absolute local directory or sftp://user@host[:port]/path; one folder per export type below it.';

create table warehouse.export_jobs (
    job_id            bigint generated always as identity primary key,
    export_type       text not null,
    -- null for on-demand exports (and for jobs of a schedule that was removed)
    schedule_id       bigint references warehouse.export_schedules (schedule_id) on delete set null,
    schedule_name     text,
    period_start      timestamptz,
    period_end        timestamptz,
    -- the request as given: range, zone, channels, as-of, content policy, scheduled flag, ...
    parameters        jsonb not null default '{}',
    state             text not null default 'queued' check (state in ('queued', 'running', 'succeeded', 'failed')),
    -- how many times a runner started this job (a failed job is retried while below the maximum)
    attempts          integer not null default 0,
    runner            text,
    requested_at      timestamptz not null default clock_timestamp(),
    started_at        timestamptz,
    finished_at       timestamptz,
    -- where the file was delivered: an absolute local path or an sftp:// URL
    file_path         text,
    rows              bigint,
    bytes             bigint,
    sha256            text,
    error             text,
    delivery_attempts integer not null default 0,
    webhook_attempts  integer not null default 0,
    webhook_delivered_at timestamptz,
    webhook_error     text,
    -- every noteworthy step, oldest first: [{"at": ..., "event": ..., "message": ...}, ...]
    events            jsonb not null default '[]',
    constraint export_jobs_period_check check ((period_start is null) = (period_end is null) and (period_end is null or period_end > period_start)),
    constraint export_jobs_schedule_period_key unique (schedule_id, period_start)
);
create index export_jobs_state_idx on warehouse.export_jobs (state) where state <> 'succeeded';
create index export_jobs_requested_at_idx on warehouse.export_jobs (requested_at);

comment on table warehouse.export_jobs is 'One row per export run, on-demand or scheduled (inbox-warehouse jobs list).';
comment on column warehouse.export_jobs.attempts is 'Times a runner started the job; failed jobs are retried by run-due while below --max-attempts.';
comment on column warehouse.export_jobs.events is 'History of the job: runs, delivery failures, webhook failures (JSON array, oldest first).';

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
        grant select on warehouse.export_schedules, warehouse.export_jobs to inbox_warehouse_reader;
    end if;
end
$$;
