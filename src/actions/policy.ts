/**
 * What the agent certificate allows, applied to a signed action: agentScope is an allow-list
 * (default deny: no scope, or an undecodable one, grants nothing), agentPolicy bounds the money
 * (amount <= maxTransactionSize, same currency: there is no exchange rate in a certificate)
 * and the venue (market in allowedMarkets when the certificate lists markets).
 */
import type { AgentExtensions } from '../asn1/extensions/index.js';
import { scopePermits } from '../asn1/scope-match.js';
import { compareDecimal } from '../asn1/decimal-amount.js';
import type { ActionAmount, Breach } from './types.js';

/** The part of the decoded agent extensions these checks read. */
export type AgentGrants = Pick<AgentExtensions, 'agentScope' | 'agentPolicy' | 'parseErrors'>;

export type PolicyOutcome = { ok: true } | { ok: false; reason: 'scope' | 'policy'; detail: string };

export function checkScope(agent: AgentGrants, action: string): PolicyOutcome {
  const broken = agent.parseErrors.find((e) => e.name === 'agentScope');
  if (broken)
    return {
      ok: false,
      reason: 'scope',
      detail: `the certificate's agentScope cannot be read (${broken.error}): nothing is granted`,
    };
  const scope = agent.agentScope;
  if (!scope || scope.length === 0)
    return { ok: false, reason: 'scope', detail: `the certificate grants no scope: ${action} is not permitted` };
  if (!scopePermits(scope, action))
    return {
      ok: false,
      reason: 'scope',
      detail: `valid key, but the certificate scope [${scope.join(', ')}] does not include ${action}`,
    };
  return { ok: true };
}

/**
 * Every limit the action breaks, not just the first: a counterparty (and the agent's operator)
 * should learn in one answer that both the amount and the market are out of bounds.
 */
export function policyBreaches(
  agent: AgentGrants,
  amount: ActionAmount | undefined,
  market: string | undefined,
): Breach[] {
  const broken = agent.parseErrors.find((e) => e.name === 'agentPolicy');
  // A policy we cannot read may hold limits we would ignore: refuse rather than guess.
  if (broken) return [{ reason: 'policy', detail: `the certificate's agentPolicy cannot be read (${broken.error})` }];
  const out: Breach[] = [];
  const policy = agent.agentPolicy;
  const max = policy?.maxTransactionSize;
  if (amount && max) {
    if (amount.currency !== max.currency)
      out.push({
        reason: 'policy',
        detail: `amount in ${amount.currency}, but the certificate limits transactions in ${max.currency}`,
      });
    else if (compareDecimal(amount.value, max.amount) > 0)
      out.push({
        reason: 'policy',
        detail: `amount ${amount.value} ${amount.currency} exceeds maxTransactionSize ${max.amount} ${max.currency}`,
      });
  }
  const markets = policy?.allowedMarkets;
  if (market !== undefined && markets && !markets.includes(market))
    out.push({ reason: 'policy', detail: `market ${market} is not in allowedMarkets [${markets.join(', ')}]` });
  return out;
}
