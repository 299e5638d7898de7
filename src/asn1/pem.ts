/** PEM armour (RFC 7468). */
import { AgentCaError } from '../errors.js';

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function parsePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body))
      throw new AgentCaError('INPUT_INVALID', `PEM block ${m[1]} is not valid base64`);
    out.push({ label: m[1]!, der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** The first block with one of `labels`, or DER passed through when the input is not PEM. */
export function pemOrDer(input: Uint8Array | string, labels: readonly string[]): Buffer {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const block = parsePem(text).find((b) => labels.includes(b.label));
    if (!block) throw new AgentCaError('INPUT_INVALID', `expected a PEM block labelled ${labels.join(' or ')}`);
    return block.der;
  }
  if (typeof input === 'string')
    throw new AgentCaError('INPUT_INVALID', `expected PEM (${labels.join(' or ')}) or DER`);
  return Buffer.from(input);
}
