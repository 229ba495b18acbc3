// Audit delivery: sinks (stdout, file, HTTP), the ordered chained writer and file verification.
export type { AuditSink, SinkOpenResult } from './sink.ts';
export { StdoutSink } from './stdout-sink.ts';
export { FileSink, type FileSinkOptions } from './file-sink.ts';
export { HttpSink, type HttpSinkOptions } from './http-sink.ts';
export { parseAuditFlag, createAuditSink, AUDIT_FLAG_FORMS, type AuditFlagOptions } from './flag.ts';
export { AuditLog, type AuditLogOptions, type AuditSinkStatus } from './log.ts';
export { verifyAuditFile, runAuditVerify, type VerifyFileOptions } from './verify-file.ts';
