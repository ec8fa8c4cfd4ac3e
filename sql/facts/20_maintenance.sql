-- Keeping the facts current.
--
-- facts.refresh(conversation_ids, message_ids) recomputes the facts of the given conversations
-- and messages from the loaded tables: the loader calls it in the same transaction as each batch,
-- with the conversations and messages the batch touched (docs/data-model.md, "Facts").
-- facts.rebuild() recomputes every fact; facts.differences() compares the kept facts with a
-- recomputation and lists every row that differs (`inbox-warehouse db check-facts`).
--
-- The facts of one conversation are recomputed together, in dependency order: human_replies,
-- lock_sessions and conversation_topics first, then conversations, which reads them.

create function facts.refresh(conversation_ids text[], message_ids text[])
returns void
language plpgsql
as $$
begin
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

create function facts.rebuild()
returns void
language plpgsql
as $$
begin
    truncate facts.human_replies, facts.lock_sessions, facts.conversation_topics, facts.conversations,
             facts.message_tags;
    insert into facts.human_replies select * from facts.compute_human_replies(null);
    insert into facts.lock_sessions select * from facts.compute_lock_sessions(null);
    insert into facts.conversation_topics select * from facts.compute_conversation_topics(null);
    insert into facts.conversations select * from facts.compute_conversations(null);
    insert into facts.message_tags select * from facts.compute_message_tags(null);
end;
$$;
comment on function facts.rebuild() is 'Recomputes every fact from the loaded tables.';

-- Every kept row that differs from a recomputation: `missing` (recomputed, not kept), `extra`
-- (kept, not recomputed) or `different`. Conversations are recomputed from the kept
-- human_replies, lock_sessions and conversation_topics, whose own differences are listed too.
create function facts.differences()
returns table (relation text, key text, difference text)
language sql stable
as $$
    select 'human_replies', coalesce(k.message_id, r.message_id),
           case when k.message_id is null then 'missing' when r.message_id is null then 'extra' else 'different' end
    from facts.human_replies as k
    full join facts.compute_human_replies(null) as r
        on r.message_id = k.message_id
    where k is distinct from r

    union all

    select 'lock_sessions', coalesce(k.lock_id, r.lock_id),
           case when k.lock_id is null then 'missing' when r.lock_id is null then 'extra' else 'different' end
    from facts.lock_sessions as k
    full join facts.compute_lock_sessions(null) as r
        on r.lock_id = k.lock_id
    where k is distinct from r

    union all

    select 'conversation_topics', coalesce(k.conversation_id || ' ' || k.topic_id, r.conversation_id || ' ' || r.topic_id),
           case when k.conversation_id is null then 'missing' when r.conversation_id is null then 'extra' else 'different' end
    from facts.conversation_topics as k
    full join facts.compute_conversation_topics(null) as r
        on r.conversation_id = k.conversation_id
       and r.topic_id = k.topic_id
    where k is distinct from r

    union all

    select 'conversations', coalesce(k.conversation_id, r.conversation_id),
           case when k.conversation_id is null then 'missing' when r.conversation_id is null then 'extra' else 'different' end
    from facts.conversations as k
    full join facts.compute_conversations(null) as r
        on r.conversation_id = k.conversation_id
    where k is distinct from r

    union all

    select 'message_tags', coalesce(k.message_id || ' ' || k.tag_id, r.message_id || ' ' || r.tag_id),
           case when k.message_id is null then 'missing' when r.message_id is null then 'extra' else 'different' end
    from facts.message_tags as k
    full join facts.compute_message_tags(null) as r
        on r.message_id = k.message_id
       and r.tag_id = k.tag_id
    where k is distinct from r
$$;
comment on function facts.differences() is
'Every kept fact row that differs from a recomputation from the loaded tables: relation, key and missing / extra / different. Empty when the facts are current.';
