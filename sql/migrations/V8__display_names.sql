-- V8: names people and organizations are shown by.
--
-- A name reaches email subjects, audit entries and other people's screens.
-- Control characters were refused already; so are, from here on, the
-- invisible formatting characters (Unicode general category Cf) and the line
-- and paragraph separators: bidirectional overrides (U+202A–U+202E,
-- U+2066–U+2069) can make "Acme‮moc.evil" read as something else in an email
-- subject, and zero-width characters make two names look identical.
--
-- The rule is this function; src/domain/text.rs applies the same ranges for
-- an early answer with the other fields of a request, and a test checks the
-- two agree on every code point.

create function app.display_name_error(p_name text) returns text
language sql immutable parallel safe
as $$
  select case
    when p_name is null or pg_catalog.btrim(p_name) = '' then 'is required'
    when pg_catalog.length(pg_catalog.btrim(p_name)) > 200 then 'must be at most 200 characters'
    -- Cc, Cf, Zl, Zp (NUL cannot occur in text).
    when p_name ~ '[\u0001-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]'
      then 'must not contain control or invisible formatting characters'
  end
$$;
comment on function app.display_name_error(text) is
  'NULL for an acceptable display name (users.full_name, organizations.name), else what is wrong with it: empty, longer than 200 characters, or holding control or invisible formatting characters (Cc, Cf, Zl, Zp).';
-- CHECK constraints call it as whoever writes the row: the SECURITY DEFINER
-- functions (their owners), never a request role directly.
revoke all on function app.display_name_error(text) from public;

-- Existing rows are not re-checked (an upgrade must not fail on old data);
-- every insert and update from now on is.
alter table public.users
  add constraint users_full_name_display check (app.display_name_error(full_name) is null) not valid;
alter table public.organizations
  add constraint organizations_name_display check (app.display_name_error(name) is null) not valid;
