-- A team's engines may not set cookies on its clients unless the team says
-- so: the gateway answers on the console's origin, and a cookie an engine
-- sets there would reach the console and every other team's clients. Off
-- for every team, existing ones included; the proxy drops Set-Cookie from
-- engine answers while it is off.

-- +goose Up
-- A constant default is stored in the catalogue, not written to every row.
ALTER TABLE teams ADD COLUMN engine_cookies boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE teams DROP COLUMN engine_cookies;
