-- A terminal status for mail the outbox withholds instead of sending: mail of
-- an organization that is suspended or deleted, or of a sender whose account
-- is, by the time the worker reaches it (auth.outbox_claim). Cancelled mail is
-- never sent later: reactivating an organization replays nothing.
--
-- Its own migration: PostgreSQL lets a new enum value be used only once the
-- transaction that added it has committed, and refinery runs each migration
-- in a transaction of its own.

alter type public.email_status add value if not exists 'cancelled';
