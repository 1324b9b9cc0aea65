records AS (
    INSERT INTO fb_records (org, id, object, is_deleted, body)
    SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::bool[], $5::text[]) AS u, ok
    ON CONFLICT (org, id) DO UPDATE
    SET object = EXCLUDED.object, is_deleted = EXCLUDED.is_deleted, body = EXCLUDED.body),
runs AS (
    INSERT INTO fb_event_runs (org, last_id, first_id, class, meta, body)
    SELECT $1, u.* FROM unnest($6::int8[], $7::int8[], $8::int2[], $9::bytea[], $10::bytea[]) AS u, ok),
put_values AS (
    INSERT INTO fb_values (org, space, key, value)
    SELECT $1, u.* FROM unnest($11::text[], $12::text[], $13::text[]) AS u, ok
    ON CONFLICT (org, space, key) DO UPDATE SET value = EXCLUDED.value),
gone_values AS (
    DELETE FROM fb_values WHERE org = $1 AND EXISTS (SELECT 1 FROM ok)
    AND (space, key) IN (SELECT * FROM unnest($14::text[], $15::text[])))
INSERT INTO fb_commits (org, n)
SELECT $1, 1 FROM sync, ok ON CONFLICT (org) DO UPDATE SET n = fb_commits.n + 1
RETURNING n, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8
