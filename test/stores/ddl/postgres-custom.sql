CREATE TABLE IF NOT EXISTS "app_sessions" (
  "sid" varchar(128) COLLATE "C" PRIMARY KEY,
  "payload" bytea NOT NULL,
  "rev" bigint NOT NULL,
  "expires" bigint NOT NULL,
  "owner" varchar(512) NULL
);

CREATE INDEX IF NOT EXISTS "app_sessions_expires_at_idx" ON "app_sessions" ("expires");

CREATE INDEX IF NOT EXISTS "app_sessions_user_id_idx" ON "app_sessions" ("owner") WHERE "owner" IS NOT NULL;

CREATE TABLE IF NOT EXISTS "app_leases" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "owner" text NOT NULL,
  "expires_at" bigint NOT NULL
);
