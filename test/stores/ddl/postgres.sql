CREATE TABLE IF NOT EXISTS "sessionkit_sessions" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "data" bytea NOT NULL,
  "version" bigint NOT NULL,
  "expires_at" bigint NOT NULL,
  "user_id" varchar(512) NULL,
  "expires_at_bucket" bigint GENERATED ALWAYS AS ("expires_at" / 3600000) STORED
) WITH (fillfactor = 80);

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = '"sessionkit_sessions"'::regclass AND attname = 'expires_at_bucket' AND NOT attisdropped) THEN
    ALTER TABLE "sessionkit_sessions" SET (fillfactor = 80);
    ALTER TABLE "sessionkit_sessions" ADD COLUMN IF NOT EXISTS "expires_at_bucket" bigint GENERATED ALWAYS AS ("expires_at" / 3600000) STORED;
  END IF;
END $$;

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_bucket_idx" ON "sessionkit_sessions" ("expires_at_bucket");

DROP INDEX IF EXISTS "sessionkit_sessions_expires_at_idx";

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_user_id_idx" ON "sessionkit_sessions" ("user_id") WHERE "user_id" IS NOT NULL;

CREATE TABLE IF NOT EXISTS "sessionkit_sessions_locks" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "owner" text NOT NULL,
  "expires_at" bigint NOT NULL
);
