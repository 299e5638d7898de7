/**
 * Per-command help (`agent-ca help CMD`, `agent-ca CMD --help`): every flag with what it does and
 * its default, and a worked example, in the manner of `step certificate create --help`
 * (docs/cli-and-package.md). The one-line usage stays in each command's module.
 */
type Flag = readonly [flag: string, text: string];
export interface CommandHelp {
  readonly summary: string;
  readonly flags: readonly Flag[];
  readonly examples: readonly string[];
}

const DATA: Flag = ['--data DIR', 'data directory (default: $AGENT_CA_DATA, else ./agent-ca-data)'];
const STORE: Flag = [
  '--store URL',
  'postgres://user@host:5432/db or level (default: $AGENT_CA_STORE, else LevelDB in the data directory)',
];
const SERVER: Flag = [
  '--server URL',
  "act through a running server's admin API with $AGENT_CA_TOKEN (default: $AGENT_CA_SERVER, else open the data directory)",
];
const JSON_OUT: Flag = ['--json', 'print the result as one JSON object on stdout (default: a line of prose)'];
const KEY_TYPE = 'rsa2048|rsa3072|rsa4096|p256|p384|ed25519';

const PORT: Flag = ['--port P', 'port the server listens on, 0 for any free one (default: 8080)'];
const HOST: Flag = ['--host H', 'address the server listens on (default: 127.0.0.1)'];
const VALIDITY: Flag = [
  '--validity DURATION',
  "validity as 90m, 24h, 30d or 2w (minutes, hours, days, weeks); not with --days (default: the profile's, 90d for agent)",
];

/** What `init` and `start` make a CA with: one table for both (src/cli/commands/ca-options.ts). */
const CA_FLAGS: readonly Flag[] = [
  ['--org ORG', 'organisation (O) of the CA names (default: "Agent CA Development")'],
  ['--key-type T', `CA key type, ${KEY_TYPE} (default: p256)`],
  [
    '--base-url URL',
    'where counterparties reach this CA: written into every CRL DP and AIA URL (default: http://HOST:PORT from --host/--port, http://127.0.0.1:8080)',
  ],
  ['--agent-domain D', 'DNS domain agent names must fall under, repeatable (default: agents.example)'],
  ['--country CC', 'two-letter country (C) of the CA names (default: none)'],
  ['--max-agent-days N', "longest agent certificate validity this CA will sign (default: the profiles' maxima)"],
  ['--signer S', 'CA key custody, softkey|awskms|pkcs11 (default: softkey)'],
  ['--responder-signer S', 'OCSP responder key custody, softkey|awskms|pkcs11 (default: same as --signer)'],
  ['--pkcs11-module PATH', 'PKCS#11 module for --signer pkcs11 (default: $AGENT_CA_PKCS11_MODULE)'],
  [
    '--pkcs11-token LABEL',
    'PKCS#11 token label, PIN from $AGENT_CA_PKCS11_PIN (default: $AGENT_CA_PKCS11_TOKEN; required with pkcs11)',
  ],
  [
    '--key-uri NAME=URI',
    'existing key for root|intermediate|ocsp-root|ocsp-intermediate, repeatable (default: new keys)',
  ],
];

export const HELP: Readonly<Record<string, CommandHelp>> = {
  init: {
    summary:
      'Creates the root, the intermediate and one delegated OCSP responder per CA; refuses to overwrite a CA, and refuses while a server holds the data directory.',
    flags: [
      ...CA_FLAGS,
      [PORT[0], 'port the CA will be served on: names it in the URLs when --base-url is not given (default: 8080)'],
      [
        HOST[0],
        'host the CA will be served on: names it in the URLs when --base-url is not given (default: 127.0.0.1)',
      ],
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca init --org "Example Operator" --base-url https://ca.example.com --key-type p256',
      'agent-ca init --org "Example Operator" --port 18184   # URLs name http://127.0.0.1:18184',
    ],
  },
  issue: {
    summary: 'Issues an agent certificate with the agent extensions; a CSR must carry a valid self-signature.',
    flags: [
      ['--agent-id ID', "the agent's identifier (subject CN and SAN) (required)"],
      ['--org ORG', "subject organisation (default: the CA's)"],
      ['--scope a,b', 'allowed actions verb:resource, comma-separated or repeated (default: none)'],
      ['--max-tx AMOUNT:CUR', 'largest transaction, e.g. 50000:USD (default: none, unlimited)'],
      ['--markets A,B', 'markets the agent may trade, e.g. EUR_USD (default: none)'],
      ['--revocation-timeout S', 'seconds a counterparty may cache a good status (default: none)'],
      ['--model-hash sha256:HEX', 'digest of the model behind the agent (default: none)'],
      ['--tenant T', 'tenant the agent belongs to (default: none)'],
      ['--env E', 'environment, e.g. production (default: none)'],
      ['--instance-id I', 'instance identifier (default: none)'],
      ['--dns NAME', 'extra DNS SAN, repeatable (default: none)'],
      ['--uri URI', 'extra URI SAN (https:, spiffe:, urn:), repeatable (default: none)'],
      ['--days N', "validity in days; not with --validity (default: the profile's, 90 for agent)"],
      VALIDITY,
      ['--profile NAME', 'agent|agent-high-risk (default: agent)'],
      ['--csr FILE', "PKCS#10 request holding the agent's key (one of the four key sources is required)"],
      [
        '--public-key FILE',
        "SubjectPublicKeyInfo PEM of the agent's key (or one of the other key sources; one is required)",
      ],
      [
        '--generate-key OUT.key',
        'make a key pair here, private key to a new OUT.key (or one of the other key sources; one is required)',
      ],
      ['--kms-key new', 'make the agent key in AWS KMS (or one of the other key sources; one is required)'],
      ['--key-type T', `with --generate-key or --kms-key: ${KEY_TYPE} (default: p256)`],
      ['--out CERT.pem', 'where to write the certificate (required)'],
      JSON_OUT,
      SERVER,
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca issue --agent-id trader-7 --scope trade:fx --max-tx 50000:USD --generate-key trader-7.key --out trader-7.pem --json',
      'agent-ca issue --agent-id build-bot --validity 24h --csr build-bot.csr --out build-bot.pem',
      'agent-ca issue --agent-id payer --profile agent-high-risk --kms-key new --key-type p384 --out payer.pem',
      'AGENT_CA_TOKEN=aca_… agent-ca issue --server http://127.0.0.1:8080 --agent-id trader-8 --public-key t8.pub --out t8.pem',
    ],
  },
  chain: {
    summary: 'Writes root.pem and intermediate.pem.',
    flags: [['--out DIR', 'directory to write into (required)'], SERVER, DATA, STORE],
    examples: ['agent-ca chain --out ./trust', 'agent-ca chain --server http://127.0.0.1:8080 --out ./trust'],
  },
  inspect: {
    summary: 'Prints any certificate as JSON with the agent extensions decoded; needs no data directory.',
    flags: [['--oid-arc ARC', 'also decode extensions under this private OID arc (default: the agent-ca arcs)']],
    examples: ['agent-ca inspect trader-7.pem'],
  },
  revoke: {
    summary:
      'Revokes an agent certificate (RFC 5280 §5.3.1 reasons); twice is an error except an upgrade to keyCompromise.',
    flags: [
      [
        '--reason R',
        'keyCompromise, superseded, cessationOfOperation, affiliationChanged, privilegeWithdrawn, unspecified… (required)',
      ],
      ['--invalidity-date ISO', 'when the key is known or suspected compromised (default: none)'],
      JSON_OUT,
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca revoke 4A3F09 --reason keyCompromise --json'],
  },
  hold: {
    summary: 'Puts a certificate on hold (certificateHold, RFC 5280 §5.3.1).',
    flags: [JSON_OUT, SERVER, DATA, STORE],
    examples: ['agent-ca hold 4A3F09'],
  },
  release: {
    summary: 'Releases a held certificate (removeFromCRL in the next delta CRL).',
    flags: [JSON_OUT, SERVER, DATA, STORE],
    examples: ['agent-ca release 4A3F09'],
  },
  renew: {
    summary: 'Same agent, key and extensions, new serial; recorded as a renewal.',
    flags: [
      ['--days N', "validity in days; not with --validity (default: the profile's, 90 for agent)"],
      VALIDITY,
      ['--out FILE', 'where to write the new certificate (required)'],
      JSON_OUT,
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca renew 4A3F09 --days 30 --out trader-7.pem'],
  },
  ca: {
    summary: "The intermediate's own status; everything under it follows (RFC 5280 §6.1.3). The root is never revoked.",
    flags: [
      ['--reason R', 'with revoke: cACompromise, superseded, cessationOfOperation… (required for revoke)'],
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca ca revoke intermediate --reason cACompromise'],
  },
  list: {
    summary: 'What was issued, with status.',
    flags: [
      ['--agent-id ID', 'only this agent (default: all)'],
      ['--tenant T', 'only this tenant (default: all)'],
      ['--status S', 'good|revoked|held|expired (default: all)'],
      ['--json', 'one JSON array (default: a table)'],
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca list --status revoked --json'],
  },
  show: {
    summary: 'One certificate: status, reason, times and decoded extensions.',
    flags: [['--json', 'print as JSON on one line (default: indented JSON)'], SERVER, DATA, STORE],
    examples: ['agent-ca show 4A3F09'],
  },
  crl: {
    summary: "Publishes a full or delta CRL now; `crl sync` keeps a gateway's CRL file current.",
    flags: [
      ['--delta', 'a delta CRL (RFC 5280 §5.2.4) (default: full)'],
      ['--issuer I', 'root|intermediate (default: intermediate)'],
      ['--out FILE', 'where to write it, PEM if FILE ends in .pem, else DER (required)'],
      JSON_OUT,
      SERVER,
      ['sync --url URL', 'CRL to follow (required for sync)'],
      ['sync --ca CHAIN.pem', 'certificates that sign it (required for sync)'],
      ['sync --interval 10s', 'poll interval (default: fetch once)'],
      ['sync --root-crl', 'also keep root.crl beside FILE (default: off)'],
      ['sync --exec CMD', 'run CMD after the file changed (default: none)'],
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca crl --out intermediate.crl --json',
      'agent-ca crl sync --url http://127.0.0.1:8080/crl/intermediate.crl --ca chain.pem --out /etc/nginx/agents.crl --interval 10s --exec "nginx -s reload"',
    ],
  },
  gateway: {
    summary: 'Prints an mTLS gateway configuration for agents.',
    flags: [
      ['--mode M', 'ocsp|crl|both (default: ocsp for nginx and apache, crl for haproxy and envoy)'],
      ['--ca-url URL', "this CA's base URL (default: $AGENT_CA_SERVER, else http://127.0.0.1:8080)"],
      ['--listen PORT', 'TLS port (default: 443)'],
      ['--server-cert FILE', 'gateway certificate (default: a placeholder path)'],
      ['--server-key FILE', 'gateway key (default: a placeholder path)'],
      ['--chain FILE', 'CA chain file (default: a placeholder path)'],
      ['--crl-file FILE', 'CRL file for crl/both (default: a placeholder path)'],
      ['--upstream URL', 'the service behind the gateway (default: http://127.0.0.1:8000)'],
    ],
    examples: ['agent-ca gateway nginx --mode both --ca-url https://ca.example.com'],
  },
  'sign-action': {
    summary: "Signs an action envelope with an agent's key.",
    flags: [
      ['--serial S', "the agent certificate, with its key in the CA's data directory (this or --cert is required)"],
      [
        '--cert AGENT.pem',
        "the agent side: sign with the agent's own key, no data directory (this or --serial is required)",
      ],
      ['--intermediate FILE', 'with --cert: chain to include (default: none)'],
      ['--key FILE', "the agent's private key PEM (default with --serial: the key the CA generated)"],
      ['--key-uri URI', 'with --cert: awskms:key-id=ARN or pkcs11:…; this or --key is required with --cert'],
      ['--payload FILE', 'the bytes the action is about (required)'],
      ['--action A', 'verb:resource (required)'],
      ['--amount 100:USD', 'amount claimed (default: none)'],
      ['--market M', 'market claimed (default: none)'],
      ['--out ENV.json', 'where to write the envelope, - for stdout (required)'],
      [
        SERVER[0],
        'with --serial: read the certificate from a running server, sign here (default: $AGENT_CA_SERVER, else open the data directory)',
      ],
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca sign-action --cert trader-7.pem --key trader-7.key --payload order.json --action trade:fx --amount 1000:USD --out env.json',
    ],
  },
  'verify-action': {
    summary: 'What a counterparty runs: exit 0 allow, 1 deny (reason on stderr); needs no data directory.',
    flags: [
      ['--action A', 'the action asked for (required)'],
      ['--amount 100:USD', 'the amount asked for (default: none)'],
      ['--market M', 'the market asked for (default: none)'],
      ['--payload FILE', 'check the signed payload hash (default: not checked, a note on stderr)'],
      ['--ca ROOT.pem', 'the root you trust, repeatable (required)'],
      ['--intermediate FILE', 'extra intermediates, repeatable (default: those in the envelope)'],
      [
        '--ocsp URL | --crl URL | --crl-dp | --offline-status good',
        "revocation source (default: OCSP at the certificate's AIA URL)",
      ],
      ['--max-age S', 'oldest envelope accepted, in seconds (default: 300)'],
      ['--at TIME', 'verify as of this ISO 8601 time (default: now)'],
      [
        '--replay-cache FILE',
        'remember accepted envelopes (jti) in FILE, shared by every run, and deny a second use as replay (default: no replay check)',
      ],
    ],
    examples: [
      'agent-ca verify-action env.json --action trade:fx --amount 1000:USD --ca root.pem --replay-cache seen.jsonl',
    ],
  },
  audit: {
    summary: 'The audit log: verify the hash chain and checkpoints, reconcile with the store, export JSON lines.',
    flags: [
      ['--against CHECKPOINT.json', 'verify: also check against a checkpoint kept elsewhere (default: none)'],
      ['--json', 'verify: print the result as JSON (default: prose)'],
      ['--from ISO', 'export: first time (default: the beginning)'],
      ['--to ISO', 'export: last time (default: now)'],
      ['--agent-id ID', 'export: one agent (default: all)'],
      [
        SERVER[0],
        'verify, reconcile, export: ask a running server (admin token in $AGENT_CA_TOKEN) (default: $AGENT_CA_SERVER, else open the data directory)',
      ],
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca audit verify --json',
      'agent-ca audit export --from 2026-01-01 --agent-id trader-7 > trader-7.jsonl',
    ],
  },
  report: {
    summary: 'Builds or verifies a signed compliance report package.',
    flags: [
      ['--agent-id ID | --tenant T', 'whose report (one is required)'],
      ['--from DAY|ISO', 'first day (required)'],
      ['--to DAY|ISO', 'last day (required)'],
      ['--include LIST', 'trades,risk_events,revocations (default: all three)'],
      ['--out REPORT.zip', 'where to write it (required)'],
      ['--ca ROOT.pem', 'verify: root to check the signature against (default: the one in the package)'],
      ['--json', 'verify: print the result as JSON (default: prose)'],
      SERVER,
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca report --agent-id trader-7 --from 2026-11-01 --to 2026-11-30 --out nov.zip',
      'agent-ca report verify nov.zip --ca root.pem',
    ],
  },
  serve: {
    summary:
      'The HTTP server (OCSP, CRLs, admin API) on an existing CA; without AGENT_CA_ADMIN_TOKEN or any stored admin token it makes one and prints it once.',
    flags: [
      ['--port P', "port, 0 for any free one (default: the port of the CA's base URL, else 8080)"],
      ['--host H', 'address to listen on (default: 127.0.0.1)'],
      DATA,
      STORE,
      [
        '--workers N',
        'processes on one port (node:cluster): on LevelDB one primary owns the store and N caching workers answer OCSP, CRLs and verify; on PostgreSQL N peers (default: the number of cores; 1 = one process)',
      ],
    ],
    examples: ['agent-ca serve --port 8080 --host 0.0.0.0', 'agent-ca serve --workers 1   # one process'],
  },
  start: {
    summary:
      '`npm start`: creates the CA on first run with the same options as init, makes an admin token when none exists (printed once, stored as its SHA-256), then serves it; on an existing CA, options that differ from it are refused.',
    flags: [...CA_FLAGS.map(([f, t]): Flag => [f, `first run: ${t}`]), PORT, HOST, DATA, STORE],
    examples: ['agent-ca start --org "Example Operator" --port 8080   # npm start -- --org "Example Operator"'],
  },
  token: {
    summary: 'API tokens, shown once (only the SHA-256 is stored).',
    flags: [
      ['--name N', 'create: a label (required)'],
      ['--role R', 'create: admin|operator|auditor|agent (default: admin)'],
      ['--tenant T', 'create: limit to one tenant (default: all tenants)'],
      ['--agent ID', 'create: with role agent, the agent it speaks for (default: none)'],
      ['--expires 90d', 'create: lifetime (default: never expires)'],
      [
        '--json',
        'create: the token and its record as JSON (default: the token alone, the record on stderr); list, revoke: JSON (default: text)',
      ],
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca token create --name ci --role operator --expires 90d --json', 'agent-ca token revoke 3f2a…'],
  },
  store: {
    summary: "PostgreSQL: least-privilege GRANTs for the server's role; copy a LevelDB CA into an empty schema.",
    flags: [
      ['--role ROLE', "grant: the server's database role (required)"],
      ['--apply', 'grant: run the GRANTs (default: print them)'],
      ['--from DIR', 'migrate: the LevelDB data directory (required)'],
      ['--to postgres://…', 'migrate: the empty target schema (required)'],
      STORE,
    ],
    examples: [
      'agent-ca store grant --role agent_ca --store postgres://postgres@127.0.0.1:5432/ca',
      'agent-ca store migrate --from ./agent-ca-data --to postgres://postgres@127.0.0.1:5432/ca',
    ],
  },
  tenant: {
    summary: 'Tenants with their risk thresholds and event quota.',
    flags: [
      ['--warning X', "create: risk score that raises a warning (default: the risk config's)"],
      ['--revoke X', "create: risk score that revokes (default: the risk config's)"],
      ['--events-per-second N', 'create: event quota (default: 1000)'],
      SERVER,
      DATA,
      STORE,
    ],
    examples: ['agent-ca tenant create acme --warning 0.7 --revoke 0.9'],
  },
  agent: {
    summary: 'The agent registry: register, list, show, certify, decommission.',
    flags: [
      ['--tenant T', 'register: owner (required); list: filter (default: all)'],
      [
        '--org O | --env E | --scope a,b | --max-tx 50000:USD | --markets X,Y | --model-hash sha256:HEX | --profile P',
        'register: what its certificates will say (default: none)',
      ],
      ['--status S', 'list: filter (default: all)'],
      ['--days N', "certify: validity in days (default: the profile's)"],
      ['--validity DURATION', "certify: 90m, 24h, 30d or 2w; not with --days (default: the profile's)"],
      [
        '--public-key FILE | --csr FILE | --generate-key OUT.key | --kms-key new',
        'certify: the agent key (one is required)',
      ],
      ['--out CERT.pem', 'certify: where to write the certificate (required)'],
      SERVER,
      DATA,
      STORE,
    ],
    examples: [
      'agent-ca agent register trader-7 --tenant acme --scope trade:fx',
      'agent-ca agent certify trader-7 --generate-key t7.key --out t7.pem',
    ],
  },
};

export function formatHelp(usage: string, help: CommandHelp): string {
  const width = Math.min(34, Math.max(...help.flags.map(([f]) => f.length)) + 2);
  const flags = help.flags.map(([f, t]) =>
    f.length + 2 > width ? `  ${f}\n  ${''.padEnd(width)}${t}` : `  ${f.padEnd(width)}${t}`,
  );
  return [
    `usage: ${usage}`,
    '',
    help.summary,
    ...(flags.length ? ['', 'flags:', ...flags] : []),
    '',
    help.examples.length > 1 ? 'examples:' : 'example:',
    ...help.examples.map((e) => `  ${e}`),
  ].join('\n');
}
