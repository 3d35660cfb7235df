CREATE TABLE IF NOT EXISTS sessionkit_sessions (
  key TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  user_id TEXT NULL
);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_expires_at_idx ON sessionkit_sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_user_id_idx ON sessionkit_sessions (user_id);
CREATE TABLE IF NOT EXISTS sessionkit_sessions_locks (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
