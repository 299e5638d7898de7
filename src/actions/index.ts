/** Signed agent actions: sign with the agent's key, verify as a counterparty. See README.md. */
export {
  createActionEnvelope,
  signAction,
  type ActionRequest,
  type ActionSigningAuthority,
  type CreateEnvelopeOptions,
  type SignActionOptions,
  type SignActionRequest,
} from './sign.js';
export { verifyAction, type VerifyActionOptions } from './verify.js';
export { parseEnvelope, compactOf, signingInput, jwsAlgorithmFor, ACTION_JWS_TYPE } from './jws.js';
export { payloadDigest, parseAmountText, readClaims, readProtectedHeader, type ProtectedHeader } from './claims.js';
export { compareDecimal, canonicalDecimal } from '../asn1/decimal-amount.js';
export { loadCertificates, validatePath } from './chain.js';
export { ocspStatus } from './ocsp-status.js';
export { crlStatus, parseCrl } from './crl-status.js';
export { ocspRequestDer } from '../ocsp/request-encode.js';
export { MemoryReplayCache, type ReplayGuard } from './replay-cache.js';
export { FileReplayCache } from './file-replay-cache.js';
export type * from './types.js';
