CREATE TABLE IF NOT EXISTS "app_sessions" (
  "sid" varchar(128) COLLATE "C" PRIMARY KEY,
  "payload" bytea NOT NULL,
  "rev" bigint NOT NULL,
  "expires" bigint NOT NULL,
  "owner" varchar(512) NULL,
  "expires_bucket" bigint GENERATED ALWAYS AS ("expires" / 3600000) STORED
) WITH (fillfactor = 80);

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = '"app_sessions"'::regclass AND attname = 'expires_bucket' AND NOT attisdropped) THEN
    ALTER TABLE "app_sessions" SET (fillfactor = 80);
    ALTER TABLE "app_sessions" ADD COLUMN IF NOT EXISTS "expires_bucket" bigint GENERATED ALWAYS AS ("expires" / 3600000) STORED;
  END IF;
END $$;

CREATE INDEX IF NOT EXISTS "app_sessions_bucket_idx" ON "app_sessions" ("expires_bucket");

DROP INDEX IF EXISTS "app_sessions_expires_at_idx";

CREATE INDEX IF NOT EXISTS "app_sessions_user_id_idx" ON "app_sessions" ("owner") WHERE "owner" IS NOT NULL;

CREATE TABLE IF NOT EXISTS "app_leases" (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "owner" text NOT NULL,
  "expires_at" bigint NOT NULL
);
