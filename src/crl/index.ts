/** CRLs (RFC 5280 §5): the streaming builder, full/delta entry sources, publisher and scheduler. */
export { buildCrl, buildCrlDetailed, issuingDistributionPointValue } from './crl-builder.js';
export type { BuildCrlInput, BuiltCrl, CrlIssuer, IssuingDistributionPointSpec } from './crl-builder.js';
export { CrlEntryWriter } from './entry-writer.js';
export type { CrlEntryInput } from './entry-writer.js';
export { certificateNotAfterLookup, entryFromRevocation, fullCrlEntries, newFullCrlStats } from './full.js';
export type { FullCrlEntriesOptions, FullCrlStats, NotAfterLookup } from './full.js';
export { computeDeltaEntries, crlBaseMetaKey } from './delta.js';
export type { CrlBaseMarker, DeltaEntriesOptions, DeltaStats } from './delta.js';
export { CrlPublisher, crlIssuerFromCa } from './publisher.js';
export type { CrlIssuerProfile, CrlPublisherOptions, PublishedCrl } from './publisher.js';
export { CrlScheduler, nodeTimers } from './scheduler.js';
export type { CrlSchedulerOptions, SchedulerTimers } from './scheduler.js';
