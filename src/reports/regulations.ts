/**
 * Which section of the report evidences which article. The mapping is the operator's reading
 * of each article's obligation, stated next to it so a regulator can disagree with a specific
 * line (docs/compliance-reports.md explains each choice).
 */
import type { ReportSection } from './request.js';

export type ReportPart = 'identity' | 'timeline' | 'risk' | 'trades' | 'integrity';

export const PART_TITLES: Readonly<Record<ReportPart, string>> = Object.freeze({
  identity: '1. Identity',
  timeline: '2. Credential timeline',
  risk: '3. Risk',
  trades: '4. Trades and transactions',
  integrity: '6. Integrity',
});

/** The optional parts and the `include` value that turns each on. */
export const PART_SECTION: Readonly<Partial<Record<ReportPart, ReportSection>>> = Object.freeze({
  timeline: 'revocations',
  risk: 'risk_events',
  trades: 'trades',
});

export interface ArticleMapping {
  regulation: string;
  article: string;
  obligation: string;
  parts: readonly ReportPart[];
}

export const ARTICLE_MAP: readonly ArticleMapping[] = Object.freeze([
  {
    regulation: 'EU AI Act',
    article: 'Art. 12',
    obligation: 'automatic recording of events (logs) over the lifetime of the system',
    parts: ['timeline', 'risk', 'integrity'],
  },
  {
    regulation: 'EU AI Act',
    article: 'Art. 13',
    obligation: 'transparency: who operates the system, its capabilities and limits',
    parts: ['identity'],
  },
  {
    regulation: 'EU AI Act',
    article: 'Art. 14',
    obligation: 'human oversight: the ability to stop the system, and who did',
    parts: ['timeline', 'risk'],
  },
  {
    regulation: 'MiCA',
    article: 'Art. 67',
    obligation: 'own funds and safeguards: limits the agent trades within',
    parts: ['identity', 'trades'],
  },
  {
    regulation: 'MiCA',
    article: 'Art. 68',
    obligation: 'governance: identified persons and controls acting for the provider',
    parts: ['identity', 'timeline'],
  },
  {
    regulation: 'MiCA',
    article: 'Art. 70',
    obligation: 'safekeeping: control of keys and their destruction',
    parts: ['timeline', 'integrity'],
  },
  {
    regulation: 'MiCA',
    article: 'Art. 72',
    obligation: 'conflicts of interest: record of breaches of the mandate',
    parts: ['trades', 'risk'],
  },
  {
    regulation: 'GDPR',
    article: 'Art. 22',
    obligation: 'automated decisions: the logic involved, in words',
    parts: ['risk'],
  },
  {
    regulation: 'GDPR',
    article: 'Art. 32',
    obligation: 'security of processing: integrity of records, least disclosure',
    parts: ['integrity'],
  },
  {
    regulation: 'GDPR',
    article: 'Art. 34',
    obligation: 'communication of a breach: when the credential was compromised and revoked',
    parts: ['timeline'],
  },
]);

/** Titles of the parts that evidence an article in this report (absent parts say so). */
export function partsText(m: ArticleMapping, include: readonly ReportSection[]): string {
  return m.parts
    .map((p) => {
      const needs = PART_SECTION[p];
      return needs && !include.includes(needs) ? `${PART_TITLES[p]} (not included: add ${needs})` : PART_TITLES[p];
    })
    .join('; ');
}
