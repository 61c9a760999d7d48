-- One source per rule: the page bounds of every list.
--
-- The bounds of `page` and `per_page` were written twice, here (V6) and in
-- the service, with different messages. They are the database's alone now:
-- the service only parses a whole number (anything else it sends as 0, which
-- this refuses), and this names every bad one at once, in the words the API
-- documents. The signature is unchanged, so every list function and grant
-- keeps using it.

create or replace function app.check_page(p_page integer, p_per_page integer) returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_errors jsonb := '{}';
begin
  if p_page is null or p_page < 1 or p_page > 1000000 then
    v_errors := v_errors || jsonb_build_object('page', 'must be a whole number from 1 to 1000000');
  end if;
  if p_per_page is null or p_per_page < 1 or p_per_page > 100 then
    v_errors := v_errors || jsonb_build_object('per_page', 'must be a whole number from 1 to 100');
  end if;
  if v_errors <> '{}' then
    raise exception 'The request has invalid fields'
      using errcode = 'VA422', detail = v_errors::text;
  end if;
end
$$;

comment on function app.check_page(integer, integer) is
  'The page bounds of every list (page 1 to 1000000, per_page 1 to 100): VA422 naming each bad one. The only copy of this rule.';
