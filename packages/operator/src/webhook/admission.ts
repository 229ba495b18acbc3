// AdmissionReview v1: the request the API server sends and the verdicts the handlers return.
import type { JsonPatchOp } from './jsonpatch.ts';

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo: AdmissionUserInfo;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
}

/** What a handler decides: allowed (with an optional patch) or denied with a message a person can act on. */
export type Verdict =
  { allowed: true; patch?: JsonPatchOp[]; warnings?: string[] } | { allowed: false; message: string; code?: number; warnings?: string[] };

export const allow = (patch?: JsonPatchOp[], warnings?: string[]): Verdict => ({
  allowed: true,
  ...(patch && patch.length ? { patch } : {}),
  ...(warnings && warnings.length ? { warnings } : {}),
});
export const deny = (message: string, code = 403): Verdict => ({ allowed: false, message, code });

/** The AdmissionReview the API server gets back: uid echoed, patch as base64 JSONPatch. */
export function toAdmissionReview(uid: string, v: Verdict): AdmissionReview {
  const response: AdmissionResponse = { uid, allowed: v.allowed };
  if (!v.allowed) response.status = { code: v.code ?? 403, reason: v.code === 400 ? 'BadRequest' : 'Forbidden', message: v.message };
  if (v.allowed && v.patch && v.patch.length) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(v.patch)).toString('base64');
  }
  if (v.warnings && v.warnings.length) response.warnings = v.warnings;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
