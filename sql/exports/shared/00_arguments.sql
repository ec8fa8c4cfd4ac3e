-- export parameters as arguments: the channel filter and the content policy as the typed export
-- functions (`export.<export>_within`, `export.<export>_between`) apply them. The session-setting
-- readers of 01_parameters.sql (export.channel_selected, export.content_allowed(medium)) apply
-- these same functions to the session's parameters.

-- The channel filter: no channel ids (null or empty) selects every channel; otherwise only the
-- listed ones (a null channel, i.e. a conversation that is not loaded, is then not selected).
create function export.channel_matches(channel_id text, channel_ids text[]) returns boolean
language sql immutable parallel safe
as $$ select coalesce(cardinality(channel_ids), 0) = 0 or coalesce(channel_id = any (channel_ids), false) $$;
comment on function export.channel_matches(text, text[]) is
'True when channel_ids is null or empty, else when channel_id is one of them.';

-- The content policy of the messages export (exports.md, "Content policy").
create function export.content_allowed(medium text, content_policy text, is_scheduled boolean) returns boolean
language sql immutable parallel safe
as $$
    select not coalesce(is_scheduled, false)
       and case lower(coalesce(content_policy, 'twitter'))
               when 'all' then true
               when 'twitter' then coalesce(medium = 'TWITTER', false)
               else false
           end
$$;
comment on function export.content_allowed(text, text, boolean) is
'Whether the messages export writes a message''s content: never in a scheduled export; else always (all), never (none) or only on a TWITTER channel (twitter, default).';
