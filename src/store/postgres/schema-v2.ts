/**
 * Schema version 2: the webhook outbox as a table, so that several processes can share it.
 * A delivery is claimed for one attempt with `FOR UPDATE SKIP LOCKED` and a lease
 * (`claimed_until`): two peers never attempt the same delivery at once, and a delivery whose
 * claimant died is taken over when its lease runs out (src/webhooks/pg-outbox.ts).
 */
export const SCHEMA_V2 = `
create table webhook_deliveries (
  id text collate "C" primary key,
  state text not null check (state in ('pending', 'dead')),
  next_attempt_at timestamptz not null,
  created_at timestamptz not null,
  dead_at timestamptz,
  claimed_until timestamptz,
  record text not null
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where state = 'pending';
create index webhook_deliveries_dead on webhook_deliveries (dead_at, id) where state = 'dead';
`;
