/**
 * agentContext (<arc>.1.4): which tenant the agent belongs to and where it runs.
 * asn1/AgentCA-Extensions.asn:
 *
 *   AgentContext ::= SEQUENCE {
 *     tenantId        Identifier,
 *     environment     EnvironmentName,       -- production, staging, development, ...
 *     agentInstanceId Identifier OPTIONAL,
 *     ... }
 *
 * Extension additions after the marker are context-tagged (so they can't be confused with the
 * untagged optional agentInstanceId); this decoder skips them and refuses any other trailing
 * element.
 */
import { AgentOids } from '../oids.js';
import { Asn1DecodeError } from '../../errors.js';
import { sequence, utf8String } from '../der.js';
import { describeTag, expectSequence, parseDer, readUtf8String } from '../decode.js';
import { encodeError, ENVIRONMENT, IDENTIFIER, requireString, type ExtensionCodec } from './codec.js';

export interface AgentContext {
  tenantId: string;
  environment: string;
  agentInstanceId?: string;
}

const WHAT = 'AgentContext';

export function encodeAgentContext(value: AgentContext): Buffer {
  if (typeof value !== 'object' || value === null) throw encodeError(WHAT, 'must be an object');
  const tenantId = requireString(value.tenantId, `${WHAT}.tenantId`, IDENTIFIER);
  const environment = requireString(value.environment, `${WHAT}.environment`, ENVIRONMENT);
  const instance =
    value.agentInstanceId === undefined
      ? undefined
      : requireString(value.agentInstanceId, `${WHAT}.agentInstanceId`, IDENTIFIER);
  return sequence(
    utf8String(tenantId),
    utf8String(environment),
    instance === undefined ? undefined : utf8String(instance),
  );
}

export function decodeAgentContext(der: Uint8Array): AgentContext {
  const fields = expectSequence(parseDer(der, WHAT), WHAT, { min: 2 });
  const out: AgentContext = {
    tenantId: readUtf8String(fields[0]!, `${WHAT}.tenantId`, IDENTIFIER),
    environment: readUtf8String(fields[1]!, `${WHAT}.environment`, ENVIRONMENT),
  };
  let i = 2;
  const third = fields[2];
  if (third && third.tagClass === 'universal') {
    out.agentInstanceId = readUtf8String(third, `${WHAT}.agentInstanceId`, IDENTIFIER);
    i = 3;
  }
  let lowest = 0;
  for (; i < fields.length; i++) {
    const f = fields[i]!;
    // After the marker only context-tagged additions, in ascending tag order (DER order).
    if (f.tagClass !== 'context')
      throw new Asn1DecodeError(WHAT, `unexpected ${describeTag(f)} after the known fields`);
    if (f.tagNumber < lowest)
      throw new Asn1DecodeError(WHAT, `extension field [${f.tagNumber}] repeated or out of order`);
    lowest = f.tagNumber + 1;
  }
  return out;
}

export const agentContextCodec: ExtensionCodec<AgentContext> = Object.freeze({
  name: 'agentContext',
  oid: AgentOids.agentContext,
  critical: false,
  encode: encodeAgentContext,
  decode: decodeAgentContext,
});
