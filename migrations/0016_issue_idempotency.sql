-- A problem report sent again with the same Idempotency-Key by the same
-- user (the chief page resends reports queued offline when the answer was
-- lost) is the same problem, not a second one.
ALTER TABLE issues ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX issues_idempotency_idx ON issues (reporter_user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
