import { describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import {
  actionPatternViolation,
  actionViolation,
  scopePermits,
  validateAction,
  validateActionPattern,
} from '../../../src/asn1/scope-match.js';

describe('scopePermits', () => {
  const scope = [
    'read:accounts',
    'write:payments',
    'read:/data/raw/*',
    'write:/data/processed/*',
    'list:*',
    'read:/reports/q1.pdf',
  ];

  it.each([
    ['read:accounts', true],
    ['write:payments', true],
    ['read:/data/raw/x', true],
    ['read:/data/raw/a/b', true],
    ['read:/data/raw/a.b/c~d', true],
    ['write:/data/processed/2024/out.csv', true],
    ['list:anything', true],
    ['list:/deep/path/x', true],
    ['read:/reports/q1.pdf', true],
    // default deny and near misses
    ['write:accounts', false],
    ['read:account', false],
    ['read:accountsx', false],
    ['READ:accounts', false],
    ['read:Accounts', false],
    ['read:/data/raw', false], // the prefix itself is not below it
    ['read:/data/rawx', false],
    ['read:/data/rawx/y', false],
    ['read:data/raw/x', false], // relative vs absolute
    ['write:/data/raw/x', false],
    ['read:/data/processed/x', false],
    ['delete:/data/raw/x', false],
    ['read:/reports/q1.pdfx', false],
    ['read:/reports/q1.pdf/x', false],
    // traversal and smuggling attempts are invalid actions, hence denied
    ['read:/data/raw/../secret', false],
    ['read:/data/raw/./x', false],
    ['read:/data/raw/x/..', false],
    ['read:/data/raw//x', false],
    ['read:/data/raw/', false],
    ['read:/data/raw/%2e%2e/secret', false],
    ['read:/data/raw\\..\\secret', false],
    ['read:/data/raw/*', false], // actions are concrete
    ['list:*', false],
    ['read:/data/raw/x y', false],
    ['read:/data/raw/x\n', false],
    ['', false],
    ['accounts', false],
    [':accounts', false],
  ])('%s -> %s', (action, expected) => {
    expect(scopePermits(scope, action)).toBe(expected);
  });

  it('denies everything with an empty scope', () => {
    expect(scopePermits([], 'read:accounts')).toBe(false);
  });

  it('treats pattern text literally (no regex injection)', () => {
    expect(scopePermits(['read:a.c'], 'read:abc')).toBe(false);
    expect(scopePermits(['read:a.c'], 'read:a.c')).toBe(true);
    expect(scopePermits(['read:/x/a+'], 'read:/x/aaa')).toBe(false);
    // invalid patterns grant nothing, even if they look like they would match
    expect(scopePermits(['read:.*'], 'read:accounts')).toBe(false);
    expect(scopePermits(['read:/data/*/x'], 'read:/data/y/x')).toBe(false);
    expect(scopePermits(['read:/data/raw*'], 'read:/data/rawx')).toBe(false);
    expect(scopePermits(['*:accounts'], 'read:accounts')).toBe(false);
  });

  it('supports a resource-root wildcard', () => {
    expect(scopePermits(['read:/*'], 'read:/a/b')).toBe(true);
    expect(scopePermits(['read:/*'], 'read:a')).toBe(false);
  });
});

describe('pattern and action validation', () => {
  it.each([
    ['read:accounts', undefined],
    ['write:/data/processed/*', undefined],
    ['trade:*', undefined],
    ['read:urn:agent:42', undefined],
    ['read', /missing ":"/],
    ['Read:x', /verb/],
    ['read:', /empty resource/],
    ['r:', /length 2/],
    ['read:/a/*/b', /last path segment/],
    ['read:/a/b*', /whole path segment/],
    ['read:/a/../b', /"\.\." path segment/],
    ['read:/a//b', /empty path segment/],
    ['read:/a/', /trailing "\/"/],
    ['read:/a%20b', /character outside/],
    // D9: one grammar everywhere; a comma separates scopes on the CLI, so never inside one
    ['read:a,write:b', /comma separates scopes/],
    ['read:/x,y', /comma separates scopes/],
    [`read:/${'a'.repeat(300)}`, /length/],
  ])('pattern %s', (p, reason) => {
    const v = actionPatternViolation(p);
    if (reason === undefined) expect(v).toBeUndefined();
    else expect(v).toMatch(reason);
  });

  it('validateActionPattern and validateAction throw INPUT_INVALID', () => {
    expect(() => validateActionPattern('read:/data/raw/*')).not.toThrow();
    expect(() => validateActionPattern('read:/data/../x')).toThrow(AgentCaError);
    try {
      validateAction('read:/data/*');
      expect.unreachable();
    } catch (e) {
      expect((e as AgentCaError).code).toBe('ACA_ERR_INPUT_INVALID');
    }
    expect(actionViolation('read:/data/x')).toBeUndefined();
  });
});
