-- Keeping the facts current.
--
-- facts.refresh(conversation_ids, message_ids, schedule_conversation_ids) recomputes the facts of
-- the given conversations and messages from the loaded tables: the loader calls it in the same
-- transaction as each batch, with the conversations and messages the batch touched
-- (docs/data-model.md, "Facts"). schedule_conversation_ids are conversations whose channel's
-- business hours changed and that nothing else touched: a schedule is read by
-- facts.conversations alone (First Response Time, facts.business_seconds), so only their row
-- there is recomputed.
-- facts.rebuild() recomputes every fact, by refreshing every conversation and message in chunks
-- (the same code path as a load); facts.differences() compares the kept facts with a
-- recomputation and lists every row that differs (`inbox-warehouse db check-facts`).
--
-- The facts of one conversation are recomputed together, in dependency order: human_replies,
-- lock_sessions and conversation_topics first, then the business calendars of their channels are
-- extended to their latest human reply, then conversations, which reads them all.
--
-- Plans: refresh plans every statement for its actual keys (force_custom_plan): a generic plan,
-- cached when the tables were still small, kept reading whole tables as they grew. JIT is off:
-- compiling these short statements' expressions took seconds per batch.

create function facts.refresh(conversation_ids text[], message_ids text[],
                              schedule_conversation_ids text[] default null)
returns void
language plpgsql
set jit = off
set plan_cache_mode = force_custom_plan
as $$
declare
    -- every conversation whose facts.conversations row is recomputed
    all_conversation_ids text[] := array(
        select distinct k.conversation_id
        from unnest(coalesce(conversation_ids, '{}') || coalesce(schedule_conversation_ids, '{}')) as k(conversation_id)
        where k.conversation_id is not null);
begin
    -- One refresh at a time across sessions, held to the end of the batch's transaction: two
    -- loaders touching the same conversation would otherwise both delete its (not yet visible)
    -- facts and insert them, and the second would fail on the key or keep facts computed
    -- without the first's rows. The batch's own rows are already written, so waiting here
    -- cannot deadlock with another loader's upserts; the one that refreshes last sees the
    -- other's rows committed.
    perform pg_advisory_xact_lock(hashtext('inbox-warehouse:facts'));
    if coalesce(cardinality(conversation_ids), 0) > 0 then
        delete from facts.human_replies where conversation_id = any (conversation_ids);
        insert into facts.human_replies select * from facts.compute_human_replies(conversation_ids);

        delete from facts.lock_sessions where conversation_id = any (conversation_ids);
        insert into facts.lock_sessions select * from facts.compute_lock_sessions(conversation_ids);

        delete from facts.conversation_topics where conversation_id = any (conversation_ids);
        insert into facts.conversation_topics select * from facts.compute_conversation_topics(conversation_ids);
    end if;
    if cardinality(all_conversation_ids) > 0 then
        perform facts.extend_business_calendars(all_conversation_ids);

        delete from facts.conversations where conversation_id = any (all_conversation_ids);
        insert into facts.conversations select * from facts.compute_conversations(all_conversation_ids);
    end if;
    if coalesce(cardinality(message_ids), 0) > 0 then
        delete from facts.message_tags where message_id = any (message_ids);
        insert into facts.message_tags select * from facts.compute_message_tags(message_ids);
    end if;
end;
$$;
comment on function facts.refresh(text[], text[], text[]) is
'Recomputes the facts of the given conversations (human_replies, lock_sessions, conversation_topics, conversations), messages (message_tags) and schedule-touched conversations (conversations only) from the loaded tables.';

-- Every conversation id any record refers to (the keys of facts.conversations).
create function facts.referenced_conversation_ids()
returns setof text
language sql stable
as $$
    select conversation_id from inbox.conversations
    union select conversation_id from inbox.messages
    union select conversation_id from inbox.status_changes
    union select conversation_id from inbox.queue_entries
    union select conversation_id from inbox.locks
    union select conversation_id from inbox.topic_applications
    union select conversation_id from inbox.csat_surveys
$$;
comment on function facts.referenced_conversation_ids() is
'Every conversation id referred to by a loaded conversation, message, status change, queue entry, lock, topic application or survey.';

create function facts.rebuild(chunk_size integer default 5000)
returns void
language plpgsql
set jit = off
as $$
declare
    chunk text[];
begin
    perform pg_advisory_xact_lock(hashtext('inbox-warehouse:facts'));
    truncate facts.human_replies, facts.lock_sessions, facts.conversation_topics, facts.conversations,
             facts.message_tags, facts.business_calendar, facts.business_calendar_coverage;
    for chunk in
        select array_agg(k.id order by k.id)
        from (select id, (row_number() over (order by id) - 1) / chunk_size as n
              from facts.referenced_conversation_ids() as r(id)) as k
        group by k.n
    loop
        perform facts.refresh(chunk, null);
    end loop;
    for chunk in
        select array_agg(k.id order by k.id)
        from (select id, (row_number() over (order by id) - 1) / chunk_size as n
              from (select distinct message_id from inbox.tag_applications) as r(id)) as k
        group by k.n
    loop
        perform facts.refresh(null, chunk);
    end loop;
end;
$$;
comment on function facts.rebuild(integer) is
'Recomputes every fact from the loaded tables: empties the fact tables, then refreshes every referenced conversation and every tagged message, chunk_size keys at a time.';

-- Every kept row that differs from a recomputation: `missing` (recomputed, not kept), `extra`
-- (kept, not recomputed) or `different`. Conversations are recomputed from the kept
-- human_replies, lock_sessions, conversation_topics and business calendars, whose own
-- differences are listed too. A business calendar is a cache over its coverage: its rows are
-- compared with a recomputation over the local dates it covers (keyed `channel valid_from
-- opens_at`), and a schedule whose coverage ends before the first response of a conversation it
-- governs is listed as `business_calendar` `channel valid_from`: missing.
create function facts.differences()
returns table (relation text, key text, difference text)
language plpgsql stable
set jit = off
as $$
declare
    conversation_ids text[] := array(select facts.referenced_conversation_ids());
    message_ids text[] := array(select distinct message_id from inbox.tag_applications);
begin
    return query
    select 'human_replies', coalesce(k.message_id, r.message_id),
           case when k.message_id is null then 'missing' when r.message_id is null then 'extra' else 'different' end
    from facts.human_replies as k
    full join facts.compute_human_replies(conversation_ids) as r
        on r.message_id = k.message_id
    where k is distinct from r;

    return query
    select 'lock_sessions', coalesce(k.lock_id, r.lock_id),
           case when k.lock_id is null then 'missing' when r.lock_id is null then 'extra' else 'different' end
    from facts.lock_sessions as k
    full join facts.compute_lock_sessions(conversation_ids) as r
        on r.lock_id = k.lock_id
    where k is distinct from r;

    return query
    select 'conversation_topics', coalesce(k.conversation_id || ' ' || k.topic_id, r.conversation_id || ' ' || r.topic_id),
           case when k.conversation_id is null then 'missing' when r.conversation_id is null then 'extra' else 'different' end
    from facts.conversation_topics as k
    full join facts.compute_conversation_topics(conversation_ids) as r
        on r.conversation_id = k.conversation_id
       and r.topic_id = k.topic_id
    where k is distinct from r;

    return query
    select 'conversations', coalesce(k.conversation_id, r.conversation_id),
           case when k.conversation_id is null then 'missing' when r.conversation_id is null then 'extra' else 'different' end
    from facts.conversations as k
    full join facts.compute_conversations(conversation_ids) as r
        on r.conversation_id = k.conversation_id
    where k is distinct from r;

    return query
    select 'business_calendar',
           coalesce(k.channel_id || ' ' || to_char(k.valid_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                  || ' ' || to_char(k.opens_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                    r.channel_id || ' ' || to_char(r.valid_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                  || ' ' || to_char(r.opens_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
           case when k.channel_id is null then 'missing' when r.channel_id is null then 'extra' else 'different' end
    from facts.business_calendar as k
    full join (
        select c.*
        from facts.business_calendar_coverage as cov
        cross join lateral facts.compute_business_calendar(cov.channel_id, cov.valid_from, cov.first_day, cov.until_day) as c
    ) as r
        on r.channel_id = k.channel_id
       and r.valid_from = k.valid_from
       and r.opens_at = k.opens_at
    where (k.channel_id, k.valid_from, k.opens_at, k.closes_at, k.open_seconds_before)
          is distinct from (r.channel_id, r.valid_from, r.opens_at, r.closes_at, r.open_seconds_before);

    return query
    select distinct 'business_calendar',
           fc.channel_id || ' ' || to_char(s.valid_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'missing'
    from facts.conversations as fc
    cross join lateral (
        select b.valid_from
        from inbox.business_hours as b
        where b.channel_id = fc.channel_id
          and b.valid_from <= fc.response_reference_at
        order by b.valid_from desc
        limit 1
    ) as s
    left join facts.business_calendar_coverage as cov
        on cov.channel_id = fc.channel_id
       and cov.valid_from = s.valid_from
    where fc.first_response_at is not null
      and (cov.covered_until is null or cov.covered_until < fc.first_response_at);

    return query
    select 'message_tags', coalesce(k.message_id || ' ' || k.tag_id, r.message_id || ' ' || r.tag_id),
           case when k.message_id is null then 'missing' when r.message_id is null then 'extra' else 'different' end
    from facts.message_tags as k
    full join facts.compute_message_tags(message_ids) as r
        on r.message_id = k.message_id
       and r.tag_id = k.tag_id
    where k is distinct from r;
end;
$$;
comment on function facts.differences() is
'Every kept fact row that differs from a recomputation from the loaded tables: relation, key and missing / extra / different. Empty when the facts are current.';
