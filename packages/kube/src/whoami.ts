// Who the kubeconfig authenticates as, asked of the API server itself (SelfSubjectReview), so
// a command can record the same user name the admission webhooks will see.
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface Me {
  username: string;
  groups: string[];
}

export async function whoAmI(kc: KubeConfig): Promise<Me> {
  const api = kc.makeApiClient(AuthenticationV1Api);
  const r = await api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
  const info = r.status?.userInfo;
  if (!info?.username) throw new Error('the API server did not say who you are (SelfSubjectReview had no username); check your kubeconfig');
  return { username: info.username, groups: info.groups ?? [] };
}
