CREATE TABLE IF NOT EXISTS "sessionkit_sessions" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "data" bytea NOT NULL,
  "version" bigint NOT NULL,
  "expires_at" bigint NOT NULL,
  "user_id" varchar(512) NULL
);

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_expires_at_idx" ON "sessionkit_sessions" ("expires_at");

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_user_id_idx" ON "sessionkit_sessions" ("user_id") WHERE "user_id" IS NOT NULL;

CREATE TABLE IF NOT EXISTS "sessionkit_sessions_locks" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "owner" text NOT NULL,
  "expires_at" bigint NOT NULL
);
