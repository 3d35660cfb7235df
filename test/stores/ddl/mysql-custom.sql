CREATE TABLE IF NOT EXISTS `app_sessions` (
  `sid` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `payload` MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `rev` BIGINT NOT NULL,
  `expires` BIGINT NOT NULL,
  `owner` VARBINARY(2048) NULL,
  `expires_bucket` BIGINT AS (`expires` DIV 3600000) VIRTUAL,
  PRIMARY KEY (`sid`),
  INDEX `app_sessions_bucket_idx` (`expires_bucket`),
  INDEX `app_sessions_user_id_idx` (`owner`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `app_leases` (
  `key` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `owner` VARBINARY(255) NOT NULL,
  `expires_at` BIGINT NOT NULL,
  PRIMARY KEY (`key`),
  INDEX `app_leases_expires_at_idx` (`expires_at`)
) ENGINE=InnoDB;
