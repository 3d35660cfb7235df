CREATE TABLE IF NOT EXISTS `sessionkit_sessions` (
  `key` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `data` MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `version` BIGINT NOT NULL,
  `expires_at` BIGINT NOT NULL,
  `user_id` VARBINARY(2048) NULL,
  `expires_at_bucket` BIGINT AS (`expires_at` DIV 3600000) VIRTUAL,
  PRIMARY KEY (`key`),
  INDEX `sessionkit_sessions_bucket_idx` (`expires_at_bucket`),
  INDEX `sessionkit_sessions_user_id_idx` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `sessionkit_sessions_locks` (
  `key` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `owner` VARBINARY(255) NOT NULL,
  `expires_at` BIGINT NOT NULL,
  PRIMARY KEY (`key`),
  INDEX `sessionkit_sessions_locks_expires_at_idx` (`expires_at`)
) ENGINE=InnoDB;
