// Audit: the event of one request, the hash chain and its verification (see DESIGN.md §4).
export { canonicalJson } from './canonical.ts';
export {
  AuditChain,
  auditFields,
  chainHash,
  GENESIS_HASH,
  type AuditDecision,
  type AuditEvent,
  type AuditUsage,
  type ChainedLine,
  type ChainedRecord,
  type ChainHead,
} from './chain.ts';
export {
  ChainVerifier,
  checkRecordLine,
  formatVerifyResult,
  verifyChain,
  type LineCheck,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
} from './verify.ts';
