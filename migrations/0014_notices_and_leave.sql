-- Leave requests and in-app notices (issue #16).
--
-- Exemptions gain a status: a chief's own request (请假) waits as
-- 'requested' until the town office approves or rejects it; only
-- 'approved' exemptions count for the weekly rule. Every exemption before
-- this migration was entered by an admin and counted at once, so they
-- become 'approved' (the column default).
ALTER TABLE exemptions
    ADD COLUMN status text NOT NULL DEFAULT 'approved'
        CHECK (status IN ('requested', 'approved', 'rejected')),
    ADD COLUMN decided_by bigint REFERENCES users (id),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decision_note text;

-- The office's list of pending requests: few rows, read on every visit.
CREATE INDEX exemptions_requested_idx ON exemptions (town_id) WHERE status = 'requested';

-- In-app notices for chiefs (reminders, leave decisions, assignments).
-- Shared with the reminders of issue #16: they insert into it as well.
CREATE TABLE notices (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    chief_id    bigint NOT NULL REFERENCES chiefs (id),
    kind        text NOT NULL,          -- 'reminder' | 'leave_approved' | 'leave_rejected' | 'assignment'
    week        text,                   -- ISO week such as '2026-W48' when the notice is about a week
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- numbers and names the page fills into its sentence
    text        text NOT NULL,          -- the zh-CN sentence, for channels and as a fallback
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
CREATE INDEX notices_chief_idx ON notices (chief_id, created_at DESC);
