/**
 * The signer's view of the signature algorithm facts. The table itself lives in
 * asn1/signature-algorithms.ts (it is AlgorithmIdentifier data, which the asn1 layer's
 * certificate describer needs too, and asn1/ must not import signer/).
 */
export { algorithmByOid, algorithmInfo, defaultAlgorithm, type AlgorithmInfo } from '../asn1/signature-algorithms.js';
