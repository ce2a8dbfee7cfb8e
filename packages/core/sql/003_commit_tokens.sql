-- One row per committed transaction that wrote something, written inside it: when the answer to a
-- COMMIT is lost (a server restart, a network cut), the client looks its token up to know for
-- certain whether the transaction landed. Rows older than a day are deleted as new ones come.
CREATE TABLE commit_tokens (
  token text PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commit_tokens_at ON commit_tokens (at);
