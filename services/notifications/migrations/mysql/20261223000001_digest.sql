-- What a person chose to hear of in the daily digest, kept until the digest
-- that tells it: rendered when it happened, its id derived from its cause
-- (so a re-read event adds nothing), and marked with the digest mail that
-- took it in the same transaction that wrote that mail.
CREATE TABLE digest_news (
    id CHAR(32) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    text_line VARCHAR(2000) NOT NULL,
    html_line VARCHAR(3000) NOT NULL,
    created_at BIGINT NOT NULL,
    -- the digest mail that told it; NULL until then
    mail_id CHAR(32) NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX digest_news_waiting ON digest_news (user_id, mail_id, created_at);
