-- Keeping the facts current.
--
-- facts.refresh(conversation_ids, message_ids) recomputes the facts of the given conversations
-- and messages from the loaded tables: the loader calls it in the same transaction as each batch,
-- with the conversations and messages the batch touched (docs/data-model.md, "Facts").
-- facts.rebuild() recomputes every fact, by refreshing every conversation and message in chunks
-- (the same code path as a load); facts.differences() compares the kept facts with a
-- recomputation and lists every row that differs (`inbox-warehouse db check-facts`).
--
-- The facts of one conversation are recomputed together, in dependency order: human_replies,
-- lock_sessions and conversation_topics first, then conversations, which reads them.
--
-- Plans: refresh plans every statement for its actual keys (force_custom_plan): a generic plan,
-- cached when the tables were still small, kept reading whole tables as they grew. JIT is off:
-- compiling these short statements' expressions took seconds per batch.

create function facts.refresh(conversation_ids text[], message_ids text[])
returns void
language plpgsql
set jit = off
set plan_cache_mode = force_custom_plan
as $$
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

        delete from facts.conversations where conversation_id = any (conversation_ids);
        insert into facts.conversations select * from facts.compute_conversations(conversation_ids);
    end if;
    if coalesce(cardinality(message_ids), 0) > 0 then
        delete from facts.message_tags where message_id = any (message_ids);
        insert into facts.message_tags select * from facts.compute_message_tags(message_ids);
    end if;
end;
$$;
comment on function facts.refresh(text[], text[]) is
'Recomputes the facts of the given conversations (human_replies, lock_sessions, conversation_topics, conversations) and messages (message_tags) from the loaded tables.';

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
             facts.message_tags;
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
-- human_replies, lock_sessions and conversation_topics, whose own differences are listed too.
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
