CREATE TABLE IF NOT EXISTS app_sessions (
  key TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  user_id TEXT NULL
);
CREATE INDEX IF NOT EXISTS app_sessions_bucket_idx ON app_sessions ((expires_at / 3600000));
DROP INDEX IF EXISTS app_sessions_expires_at_idx;
CREATE INDEX IF NOT EXISTS app_sessions_user_idx ON app_sessions (user_id) WHERE user_id IS NOT NULL;
DROP INDEX IF EXISTS app_sessions_user_id_idx;
CREATE TABLE IF NOT EXISTS app_leases (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
