-- export.message_text: how a value is quoted in an error message of the export functions: at
-- most 60 characters, so a hostile or mistaken input cannot flood the message.

create function export.message_text(value text) returns text
language sql immutable parallel safe
as $$
    select case when char_length(value) <= 60 then value else left(value, 60) || '…' end
$$;

comment on function export.message_text(text) is 'A value as quoted in an error message: cut to 60 characters.';
