// What global setup hands to the spec files: a JSON file in the run's temp directory, named
// by an environment variable that jest's test environments inherit.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const INFO_ENV = 'SCOPEKEEPER_E2E_CLUSTER';

export interface UserInfo {
  name: string;
  groups: string[];
  /** Bearer token, when the harness knows it (always for a control plane it started). */
  token?: string;
  /** kubeconfig context that authenticates as this user; without one the user is impersonated. */
  context?: string;
  /** Signed in through OIDC (the local IdP the API server trusts), not the token file. */
  oidc?: boolean;
}

export interface ClusterInfo {
  /** `local`: the harness started etcd + kube-apiserver; `existing`: the cluster of $KUBECONFIG. */
  mode: 'local' | 'existing';
  /** https://127.0.0.1:PORT */
  server: string;
  kubeconfigPath: string;
  /** The context that acts as cluster admin (the kubeconfig's current context). */
  adminContext: string;
  /** PEM bundle to trust for `server`; absent when the kubeconfig skips TLS verification. */
  caFile?: string;
  caData?: string;
  /** kube-apiserver, etcd, kubectl, helm (from build.sh or KUBEBUILDER_ASSETS). */
  binDir: string;
  /** Temp directory of this run: kubectl and helm caches, this file. Deleted at teardown. */
  runDir: string;
  users: Record<string, UserInfo>;
  /** The service-account token issuer, when the harness set it (local mode). */
  serviceAccountIssuer?: string;
  /** The local IdP the API server trusts (local mode): tokens of its users carry aud kubernetes and scopekeeper. */
  oidc?: { issuer: string; caFile: string };
  /** Whether /.well-known/openid-configuration and the JWKS are readable without credentials. */
  anonymousDiscovery: boolean;
  /** Where etcd and kube-apiserver log (local mode); kept when the run fails. */
  logDir?: string;
  /** The server's version, e.g. v1.37.2. */
  serverVersion: string;
}

export function writeInfo(info: ClusterInfo): string {
  const file = join(info.runDir, 'cluster.json');
  writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
  return file;
}

export function readInfo(): ClusterInfo {
  const file = process.env[INFO_ENV];
  if (!file) {
    throw new Error(
      `${INFO_ENV} is not set: run the e2e suite through \`npm run test:e2e\` (jest.e2e.config.js's global setup provides the cluster)`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
}
