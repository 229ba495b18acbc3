// The one-node cluster itself: a pod of the scopekeeper image (imported into containerd, never
// pulled) with a native sidecar runs, under the securityContext the webhook injects.
import { nodeCluster } from '../harness/pods.ts';
import { until } from '@scopekeeper/kube/testing/until';

const c = nodeCluster();

interface PodStatus {
  phase?: string;
  podIP?: string;
  initContainerStatuses?: { name: string; ready: boolean; started?: boolean; state?: { running?: { startedAt: string } } }[];
  containerStatuses?: { name: string; ready: boolean; state?: { running?: { startedAt: string }; terminated?: { exitCode: number } } }[];
}

const podStatus = async (ns: string, name: string): Promise<PodStatus> =>
  JSON.parse((await c.kubectl(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status}'])).stdout || '{}') as PodStatus;

test('the node is Ready and reports the node IP inside its namespace', async () => {
  const node = JSON.parse((await c.kubectl(['get', 'node', c.node.name, '-o', 'json'])).stdout) as {
    status: { addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } };
  };
  expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: c.node.ip });
  expect(node.status.nodeInfo.kubeletVersion).toBe('v1.37.2');
  expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
});

test('a pod of the scopekeeper image with a native sidecar runs; the app starts after the sidecar is ready', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'native-sidecar', namespace: 'default' },
    spec: {
      automountServiceAccountToken: false,
      initContainers: [
        {
          name: 'sidecar',
          image: c.images.scopekeeper,
          imagePullPolicy: 'Never',
          restartPolicy: 'Always',
          // A server that is ready only after a while: the app must not start before.
          command: [
            '/usr/local/bin/node',
            '-e',
            "setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(15181), 1500)",
          ],
          startupProbe: { httpGet: { path: '/', port: 15181 }, periodSeconds: 1, failureThreshold: 30 },
          securityContext: {
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
      containers: [
        {
          name: 'app',
          image: c.images.scopekeeper,
          imagePullPolicy: 'Never',
          // Its first act: one request to the sidecar, no retry; the answer is its log.
          command: [
            '/usr/local/bin/node',
            '-e',
            "fetch('http://127.0.0.1:15181/').then(r => r.text(), e => 'refused: ' + e.cause?.code).then(t => { console.log('first call: ' + t); setInterval(() => {}, 1e6); })",
          ],
        },
      ],
    },
  };
  await c.kubectl(['delete', 'pod', 'native-sidecar', '-n', 'default', '--ignore-not-found', '--wait=true']);
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  const s = await until(
    'the pod to run with both containers ready',
    async () => {
      const st = await podStatus('default', 'native-sidecar');
      return st.phase === 'Running' && st.containerStatuses?.[0]?.ready && st.initContainerStatuses?.[0]?.ready ? st : undefined;
    },
    90_000,
    250,
  ).catch(async (e: Error) => {
    throw new Error(
      `${e.message}\n${(await c.kubectl(['describe', 'pod', 'native-sidecar', '-n', 'default'], { allowFailure: true })).stdout}`,
    );
  });
  expect(s.podIP).toMatch(/^10\.214\.0\./);
  const logs = await until(
    'the app to log its first call',
    async () => {
      const r = await c.kubectl(['logs', 'native-sidecar', '-n', 'default', '-c', 'app'], { allowFailure: true });
      return /first call/.test(r.stdout) ? r.stdout : undefined;
    },
    30_000,
    250,
  );
  expect(logs.trim()).toBe('first call: ok');
  await c.kubectl(['delete', 'pod', 'native-sidecar', '-n', 'default', '--wait=false']);
});
