/**
 * The pure pieces: reason names as users type them (RFC 5280 §5.3.1) and statusOf, the one
 * function every surface reports status through (own revocation, else the issuing CA's,
 * RFC 5280 §6.1.3; hold is its own state; expiry last).
 */
import { describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import { parseRevokeReason } from '../../../src/revocation/reasons.js';
import { statusOf } from '../../../src/revocation/status.js';
import type { CertificateRecord, RevocationRecord } from '../../../src/store/ports.js';
import type { IssuerId, Serial } from '../../../src/types.js';

function reasonError(input: string): AgentCaError {
  try {
    parseRevokeReason(input);
  } catch (e) {
    if (e instanceof AgentCaError) return e;
    throw e;
  }
  throw new Error(`${input} was accepted`);
}

describe('parseRevokeReason', () => {
  it.each([
    ['keyCompromise', 'keyCompromise'],
    ['key-compromise', 'keyCompromise'],
    ['KEY_COMPROMISE', 'keyCompromise'],
    ['cacompromise', 'cACompromise'],
    ['aa-compromise', 'aACompromise'],
    ['affiliation changed', 'affiliationChanged'],
    ['superseded', 'superseded'],
    ['cessation-of-operation', 'cessationOfOperation'],
    ['privilegeWithdrawn', 'privilegeWithdrawn'],
    ['Unspecified', 'unspecified'],
  ])('reads %s as %s', (input, reason) => {
    expect(parseRevokeReason(input)).toBe(reason);
  });

  it('defaults to unspecified when no reason is given', () => {
    expect(parseRevokeReason(undefined)).toBe('unspecified');
  });

  it('refuses unknown names, certificateHold and removeFromCRL with INPUT_REASON_UNKNOWN', () => {
    const unknown = reasonError('stolen');
    expect(unknown.code).toBe('ACA_ERR_INPUT_REASON_UNKNOWN');
    expect(unknown.message).toContain('"stolen"');
    expect(unknown.message).toContain('keyCompromise');
    expect(reasonError('certificate-hold').message).toMatch(/hold.*release/);
    expect(reasonError('removeFromCRL').code).toBe('ACA_ERR_INPUT_REASON_UNKNOWN');
    expect(reasonError('').code).toBe('ACA_ERR_INPUT_REASON_UNKNOWN');
  });
});

describe('statusOf', () => {
  const now = new Date('2031-06-01T00:00:00Z');
  const cert: CertificateRecord = {
    serial: '01ab' as Serial,
    issuerId: 'intermediate' as IssuerId,
    der: Buffer.alloc(0),
    profile: 'agent',
    subject: 'CN=bot',
    notBefore: new Date('2031-01-01T00:00:00Z'),
    notAfter: new Date('2031-12-01T00:00:00Z'),
    issuedAt: new Date('2031-01-01T00:00:00Z'),
    isCa: false,
  };
  const rev = (serial: string, reason: RevocationRecord['reason'], at: string): RevocationRecord => ({
    serial: serial as Serial,
    issuerId: 'intermediate' as IssuerId,
    revokedAt: new Date(at),
    reason,
    actor: 't',
    changeSeq: 1,
  });

  it('good, expired, held and revoked', () => {
    expect(statusOf(cert, undefined, undefined, now)).toEqual({ state: 'good' });
    expect(statusOf({ ...cert, notAfter: new Date('2031-05-31T23:59:59Z') }, undefined, undefined, now)).toEqual({
      state: 'expired',
    });
    expect(statusOf(cert, rev('01ab', 'certificateHold', '2031-02-01T00:00:00Z'), undefined, now)).toEqual({
      state: 'held',
      reason: 'certificateHold',
      revokedAt: new Date('2031-02-01T00:00:00Z'),
    });
    expect(
      statusOf(
        cert,
        { ...rev('01ab', 'keyCompromise', '2031-02-01T00:00:00Z'), invalidityDate: new Date('2031-01-20T00:00:00Z') },
        undefined,
        now,
      ),
    ).toEqual({
      state: 'revoked',
      reason: 'keyCompromise',
      revokedAt: new Date('2031-02-01T00:00:00Z'),
      invalidityDate: new Date('2031-01-20T00:00:00Z'),
    });
  });

  it("inherits the issuer's revocation over its own hold, but not over its own revocation", () => {
    const ca = rev('99', 'cACompromise', '2031-03-01T00:00:00Z');
    expect(statusOf(cert, undefined, ca, now)).toEqual({
      state: 'revoked',
      reason: 'cACompromise',
      revokedAt: ca.revokedAt,
      inheritedFrom: '99',
    });
    expect(statusOf(cert, rev('01ab', 'certificateHold', '2031-02-01T00:00:00Z'), ca, now)).toMatchObject({
      state: 'revoked',
      inheritedFrom: '99',
    });
    expect(statusOf(cert, rev('01ab', 'superseded', '2031-02-01T00:00:00Z'), ca, now)).toEqual({
      state: 'revoked',
      reason: 'superseded',
      revokedAt: new Date('2031-02-01T00:00:00Z'),
    });
  });

  it('a revoked certificate still reads revoked after it expired (revocation is the stronger statement)', () => {
    expect(
      statusOf(
        { ...cert, notAfter: new Date('2031-04-01T00:00:00Z') },
        rev('01ab', 'keyCompromise', '2031-02-01T00:00:00Z'),
        undefined,
        now,
      ).state,
    ).toBe('revoked');
  });
});
