-- An issuer can be a team's exchange issuer: bearer tokens the team does
-- not otherwise accept are exchanged at its token endpoint (RFC 8693) with
-- the gateway's client id and secret. The secret is sealed with AES-GCM,
-- the issuer id as additional data. A team has at most one.

-- +goose Up
ALTER TABLE issuers
    ADD COLUMN exchange_client_id  text,
    ADD COLUMN exchange_secret_enc bytea,
    ADD CONSTRAINT issuers_exchange_complete
        CHECK ((exchange_client_id IS NULL) = (exchange_secret_enc IS NULL));
CREATE UNIQUE INDEX issuers_one_exchange ON issuers (team_id) WHERE exchange_client_id IS NOT NULL;

-- +goose Down
DROP INDEX issuers_one_exchange;
ALTER TABLE issuers
    DROP CONSTRAINT issuers_exchange_complete,
    DROP COLUMN exchange_secret_enc,
    DROP COLUMN exchange_client_id;
