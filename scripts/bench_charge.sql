-- pgbench script: the statements of one online charge as the bridge runs them (nonce and
-- heartbeat, idempotency claim, identity, wallet lock, dedup and rules reads, ledger entry,
-- balance, transaction record), for the TPS PostgreSQL alone reaches on this machine.
\set emp random(:min_emp, :max_emp)
\set seq random(1, 2000000000)
BEGIN;
INSERT INTO canteen_terminal_nonce (terminal_id, nonce, seen_at) VALUES (:terminal, md5(random()::text), now() AT TIME ZONE 'UTC') ON CONFLICT DO NOTHING;
WITH n AS (SELECT nextval('canteen_transaction_id_seq') AS id) INSERT INTO canteen_transaction (id, name, terminal_id, seq, status, offline, deduplicated, overdraft, after_loss, create_uid, write_uid, create_date, write_date) SELECT n.id, 'B' || n.id, :terminal, :seq, 'declined', false, false, false, false, 1, 1, now(), now() FROM n ON CONFLICT (terminal_id, seq) DO NOTHING RETURNING id;
SELECT c.employee_id, c.id, c.state FROM canteen_card c WHERE c.employee_id = :emp AND c.state = 'active' LIMIT 1;
SELECT e.company_id, e.department_id FROM hr_employee e WHERE e.id = :emp;
SELECT id, kind, balance::text FROM canteen_wallet WHERE employee_id = :emp ORDER BY id FOR UPDATE;
SELECT id FROM canteen_transaction WHERE employee_id = :emp AND status = 'approved' AND NOT deduplicated AND create_date > now() - interval '60 seconds' ORDER BY id DESC LIMIT 1;
SELECT kind FROM canteen_meal_period WHERE merchant_id = :merchant;
INSERT INTO canteen_ledger_entry (wallet_id, wallet_kind, employee_id, company_id, currency_id, kind, amount, balance_after, overdraft, date, create_uid, write_uid, create_date, write_date) SELECT w.id, 'cash', :emp, w.company_id, w.currency_id, 'charge', -1, w.balance - 1, false, now(), 1, 1, now(), now() FROM canteen_wallet w WHERE w.employee_id = :emp AND w.kind = 'cash';
UPDATE canteen_wallet SET balance = balance - 1 WHERE employee_id = :emp AND kind = 'cash';
UPDATE canteen_transaction SET status = 'approved', employee_id = :emp, charged = 1 WHERE terminal_id = :terminal AND seq = :seq;
COMMIT;
