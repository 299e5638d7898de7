/**
 * agentPolicy (<arc>.1.1): what an agent may do in money terms and how fast its revocation
 * must take effect. asn1/AgentCA-Extensions.asn:
 *
 *   AgentPolicy ::= SEQUENCE {
 *     maxTransactionSize [0] MonetaryAmount OPTIONAL,
 *     allowedMarkets     [1] SEQUENCE SIZE (1..ub-markets) OF Market OPTIONAL,
 *     revocationTimeout  [2] INTEGER (0..ub-revocation-timeout) OPTIONAL,  -- seconds
 *     ... }
 *   MonetaryAmount ::= SEQUENCE { amount DecimalAmount, currency CurrencyCode }
 *
 * IMPLICIT TAGS, so [0]/[1] are constructed context tags and [2] is primitive. The extension
 * marker promises that later versions append context-tagged fields [3], [4]...; this decoder
 * skips those (the X.680 extensibility model) but refuses a known field with the wrong tag.
 */
import { DECIMAL_AMOUNT as DECIMAL_GRAMMAR, DECIMAL_AMOUNT_RULE } from '../decimal-amount.js';
import { AgentOids } from '../oids.js';
import { Asn1DecodeError } from '../../errors.js';
import { implicit, integer, printableString, sequence, utf8String } from '../der.js';
import {
  describeTag,
  expectSequence,
  parseDer,
  readInteger,
  readPrintableString,
  readSequenceOf,
  readUtf8String,
  type DerNode,
  type StringConstraint,
} from '../decode.js';
import { encodeError, MARKET, requireString, UB_MARKETS, UB_REVOCATION_TIMEOUT, type ExtensionCodec } from './codec.js';

export interface MonetaryAmount {
  /** Non-negative decimal string, at most 18 integer and 6 fraction digits: "50000", "1250.50". */
  amount: string;
  /** ISO 4217 alphabetic code, three upper-case letters: "USD", "EUR". */
  currency: string;
}

export interface AgentPolicy {
  maxTransactionSize?: MonetaryAmount;
  allowedMarkets?: string[];
  revocationTimeoutSeconds?: number;
}

/** DecimalAmount ::= PrintableString (SIZE (1..25)) (FROM ("0".."9" | ".")), grammar below. */
const DECIMAL_AMOUNT: StringConstraint = {
  min: 1,
  max: 25,
  alphabet: (ch) => /^[0-9.]$/.test(ch),
  alphabetName: '0-9 .',
  check: (s) => (DECIMAL_GRAMMAR.test(s) ? undefined : DECIMAL_AMOUNT_RULE),
};

/** CurrencyCode ::= PrintableString (SIZE (3)) (FROM ("A".."Z")): ISO 4217 alphabetic. */
const CURRENCY: StringConstraint = {
  min: 3,
  max: 3,
  alphabet: (ch) => /^[A-Z]$/.test(ch),
  alphabetName: 'A-Z (ISO 4217 alphabetic code)',
};

const WHAT = 'AgentPolicy';

const POLICY_KEYS: ReadonlySet<string> = new Set(['maxTransactionSize', 'allowedMarkets', 'revocationTimeoutSeconds']);
const MONEY_KEYS: ReadonlySet<string> = new Set(['amount', 'currency']);

/**
 * Fields of a policy object that this encoder does not know, named by path (`policy.allowed_markets`,
 * `policy.maxTransactionSize.value`). A misspelt limit must refuse the request: dropping it would
 * issue a certificate without the limit its requester asked for.
 */
export function unknownPolicyFields(value: unknown, prefix = 'policy'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out = Object.keys(value)
    .filter((k) => !POLICY_KEYS.has(k))
    .map((k) => `${prefix}.${k}`);
  const money = (value as Record<string, unknown>).maxTransactionSize;
  if (typeof money === 'object' && money !== null && !Array.isArray(money)) {
    out.push(
      ...Object.keys(money)
        .filter((k) => !MONEY_KEYS.has(k))
        .map((k) => `${prefix}.maxTransactionSize.${k}`),
    );
  }
  return out;
}

export function encodeAgentPolicy(value: AgentPolicy): Buffer {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw encodeError(WHAT, 'must be an object');
  const unknown = unknownPolicyFields(value, WHAT);
  if (unknown.length)
    throw encodeError(
      unknown[0]!,
      `unknown field (known: ${[...POLICY_KEYS].join(', ')}; maxTransactionSize has amount and currency)`,
    );
  const parts: Buffer[] = [];
  const money = value.maxTransactionSize;
  if (money !== undefined) {
    const amount = requireString(money?.amount, `${WHAT}.maxTransactionSize.amount`, DECIMAL_AMOUNT);
    const currency = requireString(money?.currency, `${WHAT}.maxTransactionSize.currency`, CURRENCY);
    parts.push(implicit(0, sequence(printableString(amount), printableString(currency))));
  }
  const markets = value.allowedMarkets;
  if (markets !== undefined) {
    if (!Array.isArray(markets)) throw encodeError(`${WHAT}.allowedMarkets`, 'must be an array');
    // An empty list would read as "no market" to some and "unrestricted" to others: omit it instead.
    if (markets.length < 1 || markets.length > UB_MARKETS)
      throw encodeError(`${WHAT}.allowedMarkets`, `${markets.length} entries, 1..${UB_MARKETS} allowed`);
    const items = markets.map((m, i) => utf8String(requireString(m, `${WHAT}.allowedMarkets[${i}]`, MARKET)));
    parts.push(implicit(1, sequence(...items)));
  }
  const timeout = value.revocationTimeoutSeconds;
  if (timeout !== undefined) {
    if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > UB_REVOCATION_TIMEOUT) {
      throw encodeError(`${WHAT}.revocationTimeoutSeconds`, `${timeout} outside 0..${UB_REVOCATION_TIMEOUT}`);
    }
    parts.push(implicit(2, integer(timeout)));
  }
  return sequence(...parts);
}

function readMonetaryAmount(node: DerNode): MonetaryAmount {
  const what = `${WHAT}.maxTransactionSize`;
  const [amount, currency] = expectSequence(node, what, { implicit: 0, min: 2, max: 2 });
  return {
    amount: readPrintableString(amount!, `${what}.amount`, DECIMAL_AMOUNT),
    currency: readPrintableString(currency!, `${what}.currency`, CURRENCY),
  };
}

export function decodeAgentPolicy(der: Uint8Array): AgentPolicy {
  const fields = expectSequence(parseDer(der, WHAT), WHAT);
  const out: AgentPolicy = {};
  let lowest = 0; // DER keeps SEQUENCE components in definition order, each at most once
  for (const f of fields) {
    if (f.tagClass !== 'context')
      throw new Asn1DecodeError(WHAT, `unexpected ${describeTag(f)}: every AgentPolicy field is context-tagged`);
    if (f.tagNumber < lowest) throw new Asn1DecodeError(WHAT, `field [${f.tagNumber}] repeated or out of order`);
    lowest = f.tagNumber + 1;
    switch (f.tagNumber) {
      case 0:
        out.maxTransactionSize = readMonetaryAmount(f);
        break;
      case 1:
        out.allowedMarkets = readSequenceOf(
          f,
          `${WHAT}.allowedMarkets`,
          (m, i) => readUtf8String(m, `${WHAT}.allowedMarkets[${i}]`, MARKET),
          {
            implicit: 1,
            min: 1,
            max: UB_MARKETS,
          },
        );
        break;
      case 2:
        out.revocationTimeoutSeconds = readInteger(f, `${WHAT}.revocationTimeout`, {
          implicit: 2,
          min: 0,
          max: UB_REVOCATION_TIMEOUT,
        });
        break;
      default:
        // [3] and up: an extension addition from a later version (the `...`), skipped.
        break;
    }
  }
  return out;
}

export const agentPolicyCodec: ExtensionCodec<AgentPolicy> = Object.freeze({
  name: 'agentPolicy',
  oid: AgentOids.agentPolicy,
  critical: false,
  encode: encodeAgentPolicy,
  decode: decodeAgentPolicy,
});
