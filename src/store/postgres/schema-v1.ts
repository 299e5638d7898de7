/**
 * Schema version 1. Text keys use COLLATE "C" so that ORDER BY matches the byte order the
 * other adapters iterate in (serials, issuer ids). Times are timestamptz (microseconds; our
 * Dates carry milliseconds). CRL numbers are numeric: RFC 5280 §5.2.3 allows 20 octets.
 *
 * The audit log and its checkpoints are WORM: a statement trigger refuses UPDATE, DELETE and
 * TRUNCATE, for every role including the owner (only dropping the
 * trigger, which is DDL that needs ownership, can lift it); the server's role is also granted
 * INSERT and SELECT only (store grant). Rules are not used: a rule cannot see TRUNCATE, and a
 * DO INSTEAD NOTHING rule would make a forbidden write succeed silently
 * (docs/storage-postgres.md).
 */
export const SCHEMA_V1 = `
create table store_state (
  id boolean primary key default true check (id),
  change_seq bigint not null,
  cert_count bigint not null
);
insert into store_state (id, change_seq, cert_count) values (true, 0, 0);

create table certificates (
  serial text collate "C" primary key,
  issuer_id text collate "C" not null,
  der bytea not null,
  profile text not null,
  subject text not null,
  agent_id text collate "C",
  tenant text collate "C",
  not_before timestamptz not null,
  not_after timestamptz not null,
  issued_at timestamptz not null,
  key_uri text,
  renewal_of text collate "C",
  is_ca boolean not null
);
create index certificates_issuer on certificates (issuer_id, serial);
create index certificates_agent on certificates (agent_id, serial) where agent_id is not null;
create index certificates_tenant on certificates (tenant, serial) where tenant is not null;
create index certificates_expiry on certificates (not_after, serial);

create table revocations (
  serial text collate "C" primary key,
  issuer_id text collate "C" not null,
  revoked_at timestamptz not null,
  reason text not null,
  invalidity_date timestamptz,
  actor text not null,
  change_seq bigint not null
);
create index revocations_issuer on revocations (issuer_id, serial);

create table status_changes (
  seq bigint primary key,
  serial text collate "C" not null,
  issuer_id text collate "C" not null,
  kind text not null,
  at timestamptz not null,
  reason text not null
);
create index status_changes_issuer on status_changes (issuer_id, seq);

create table ocsp_responses (
  issuer_id text collate "C" not null,
  serial text collate "C" not null,
  hash_algorithm text collate "C" not null,
  der bytea not null,
  this_update timestamptz not null,
  next_update timestamptz not null,
  primary key (issuer_id, serial, hash_algorithm)
);
create index ocsp_responses_due on ocsp_responses (next_update, issuer_id, serial, hash_algorithm);

create table crls (
  issuer_id text collate "C" not null,
  number numeric(50, 0) not null,
  kind text not null,
  base_number numeric(50, 0),
  der bytea not null,
  this_update timestamptz not null,
  next_update timestamptz not null,
  primary key (issuer_id, number)
);

create table crl_state (
  issuer_id text collate "C" primary key,
  counter numeric(50, 0) not null default 0,
  latest_full numeric(50, 0),
  latest_delta numeric(50, 0)
);

create table audit_log (
  seq bigint primary key,
  time timestamptz not null,
  actor text not null,
  action text not null,
  subject text not null,
  -- the JSON text exactly as hashed; jsonb would refuse \\u0000 and renormalise numbers
  details text not null,
  prev_hash text not null,
  hash text not null
);
create index audit_log_time on audit_log (time, seq);

create table audit_checkpoints (
  seq bigint primary key,
  hash text not null,
  time timestamptz not null,
  signature bytea not null,
  algorithm text not null,
  key_uri text not null
);

create table meta (
  key text collate "C" primary key,
  value text not null
);

create function agent_ca_worm_refuse() returns trigger language plpgsql as $$
begin
  raise exception 'agent-ca: % is append-only (WORM): % refused', tg_table_name, tg_op
    using errcode = 'ACW01',
          hint = 'audit entries are never changed or deleted; archive old partitions instead (docs/storage-postgres.md)';
end
$$;
-- statement-level: an UPDATE or DELETE is refused even when it matches no row
create trigger audit_log_worm before update or delete or truncate on audit_log
  for each statement execute function agent_ca_worm_refuse();
create trigger audit_checkpoints_worm before update or delete or truncate on audit_checkpoints
  for each statement execute function agent_ca_worm_refuse();
`;
