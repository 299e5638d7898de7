/**
 * AgentScope matching (asn1/AgentCA-Extensions.asn, ActionPattern). A scope is an allow-list:
 * an action is permitted only if some pattern matches it, anything else is denied.
 *
 *   action  ::= verb ":" resource                      e.g. read:accounts, read:/data/raw/x.csv
 *   pattern ::= verb ":" resource                      exact
 *             | verb ":" "*"                           any resource for that verb
 *             | verb ":" resource-prefix "/" "*"       anything strictly below that path
 *   verb    ::= [a-z][a-z0-9_-]{0,31}
 *   resource::= ["/"] segment *("/" segment), segment = 1*[A-Za-z0-9._~:@+=-], not "." or ".."
 *
 * No commas anywhere: lists of scopes are written comma-separated (CLI --scope a,b, config
 * files), so a comma inside one scope would make it two on one surface and one on another.
 *
 * Matching is done on split segments with string equality, never by building a regular
 * expression from a pattern, so pattern text cannot inject matching syntax. Paths are not
 * normalised: "." / ".." segments, empty segments ("//", trailing "/"), percent-encoding and
 * backslashes are refused outright in both patterns and actions, so `read:/data/raw/../secret`
 * can never be smuggled under `read:/data/raw/*`.
 */
import { AgentCaError } from '../errors.js';

export const MAX_ACTION_LENGTH = 256;

const VERB = /^[a-z][a-z0-9_-]{0,31}$/;
const SEGMENT = /^[A-Za-z0-9._~:@+=-]+$/;

interface ParsedAction {
  verb: string;
  /** Resource segments; a leading "/" gives an empty first segment. */
  segments: string[];
}

function parse(s: unknown, allowWildcard: boolean): ParsedAction | string {
  if (typeof s !== 'string') return 'not a string';
  if (s.length < 3 || s.length > MAX_ACTION_LENGTH) return `length ${s.length} outside 3..${MAX_ACTION_LENGTH}`;
  const colon = s.indexOf(':');
  if (colon < 0) return 'missing ":" between verb and resource';
  const verb = s.slice(0, colon);
  const resource = s.slice(colon + 1);
  if (!VERB.test(verb)) return `verb ${JSON.stringify(verb)} must match [a-z][a-z0-9_-]{0,31}`;
  if (resource.length === 0) return 'empty resource';
  if (resource === '*') return allowWildcard ? { verb, segments: ['*'] } : '"*" is only allowed in patterns';
  const segments = resource.split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '') {
      if (i === 0 && segments.length > 1) continue; // the leading "/" of an absolute path
      return last ? 'trailing "/" (empty path segment)' : 'empty path segment ("//")';
    }
    if (seg === '.' || seg === '..') return `"${seg}" path segment is not allowed`;
    if (seg === '*') {
      if (!allowWildcard) return '"*" is only allowed in patterns';
      if (!last) return '"*" is only allowed as the last path segment';
      continue;
    }
    if (!SEGMENT.test(seg))
      return seg.includes('*')
        ? '"*" must be a whole path segment'
        : `path segment ${JSON.stringify(seg)} has a character outside [A-Za-z0-9._~:@+=-]${seg.includes(',') ? ' (a comma separates scopes; give each scope as its own entry)' : ''}`;
  }
  return { verb, segments };
}

/** Why `p` is not a valid ActionPattern, or undefined when it is. */
export function actionPatternViolation(p: unknown): string | undefined {
  const r = parse(p, true);
  return typeof r === 'string' ? r : undefined;
}

/** Why `a` is not a valid concrete action (no wildcards), or undefined when it is. */
export function actionViolation(a: unknown): string | undefined {
  const r = parse(a, false);
  return typeof r === 'string' ? r : undefined;
}

/** Throws AgentCaError INPUT_INVALID when `p` is not a valid ActionPattern. */
export function validateActionPattern(p: string): void {
  const reason = actionPatternViolation(p);
  if (reason)
    throw new AgentCaError('INPUT_INVALID', `invalid action pattern ${JSON.stringify(p)}: ${reason}`, {
      pattern: p,
      reason,
    });
}

/** Throws AgentCaError INPUT_INVALID when `a` is not a valid concrete action. */
export function validateAction(a: string): void {
  const reason = actionViolation(a);
  if (reason)
    throw new AgentCaError('INPUT_INVALID', `invalid action ${JSON.stringify(a)}: ${reason}`, { action: a, reason });
}

function matches(pattern: ParsedAction, action: ParsedAction): boolean {
  if (pattern.verb !== action.verb) return false;
  const p = pattern.segments;
  const a = action.segments;
  if (p.length === 1 && p[0] === '*') return true; // verb:*
  if (p[p.length - 1] === '*') {
    // prefix/*: the prefix segments must be equal and the action must go strictly below them
    const prefix = p.length - 1;
    if (a.length <= prefix) return false;
    for (let i = 0; i < prefix; i++) if (p[i] !== a[i]) return false;
    return true;
  }
  if (p.length !== a.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== a[i]) return false;
  return true;
}

/**
 * Default deny: true only if `action` is a valid concrete action and at least one valid
 * pattern in `scope` matches it. Invalid patterns grant nothing; an invalid action is denied.
 */
export function scopePermits(scope: readonly string[], action: string): boolean {
  if (!Array.isArray(scope)) return false;
  const a = parse(action, false);
  if (typeof a === 'string') return false;
  for (const pattern of scope) {
    const p = parse(pattern, true);
    if (typeof p !== 'string' && matches(p, a)) return true;
  }
  return false;
}
