-- Messages leave the server (issue #16): a town's channels (企业微信 / 钉钉
-- group robots, webhooks), the outbox of messages to them, and the record
-- of scheduled runs that makes each run once per town and week.

CREATE TABLE channels (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    kind        text NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook')),
    url         text NOT NULL,
    -- 钉钉 加签 secret or the webhook's HMAC key; never answered or logged.
    secret      text,
    events      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Removed channels are kept (their deliveries point at them), not sent to.
    removed_at  timestamptz
);
CREATE INDEX channels_town_idx ON channels (town_id) WHERE removed_at IS NULL;

-- The outbox: a message is inserted in the same transaction that decides
-- it, and a worker sends it (with backoff, for 24 h). The id is the
-- X-Riverchief-Delivery header, the same on every attempt.
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    town_id          bigint NOT NULL REFERENCES towns (id),
    channel_id       bigint NOT NULL REFERENCES channels (id),
    event            text NOT NULL,
    week             text,
    -- The JSON sent, byte for byte (signatures are over these bytes).
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
-- The worker's question: which pending ones are due.
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_town_idx ON deliveries (town_id, created_at DESC);

-- One run per town, job and week: inserted in the transaction that writes
-- the job's outbox rows, so a second server (or a restart) finds it done.
CREATE TABLE schedule_runs (
    town_id  bigint NOT NULL REFERENCES towns (id),
    kind     text NOT NULL CHECK (kind IN ('reminder', 'bulletin')),
    week     text NOT NULL,
    ran_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, kind, week)
);
