// The harness itself: distinct authenticated users, anonymous access limited by RBAC, kubectl and
// helm against the cluster.
import { ADMIN, USERS, cluster } from './harness/cluster.ts';

const c = cluster();

describe('the e2e cluster', () => {
  test.each(USERS.map((u) => [u.name, u.groups] as const))('%s authenticates as itself with groups %j', async (name, groups) => {
    const r = await c.kubectl(['auth', 'whoami', '-o', 'json'], { as: name });
    const info = (JSON.parse(r.stdout) as { status: { userInfo: { username: string; groups?: string[] } } }).status.userInfo;
    expect(info.username).toBe(name);
    expect(info.groups ?? []).toEqual(expect.arrayContaining(groups));
  });

  test('RBAC applies: mallory (no groups) may not list namespaces, admin may', async () => {
    const denied = await c.kubectl(['get', 'namespaces'], { as: 'mallory@example.com', allowFailure: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "mallory@example.com" cannot list resource "namespaces"');
    const ok = await c.kubectl(['get', 'namespaces', '-o', 'name'], { as: ADMIN });
    expect(ok.stdout).toContain('namespace/default');
  });

  // An existing cluster (KUBECONFIG) may authenticate differently.
  (c.mode === 'local' ? test : test.skip)(
    'the local control plane authenticates users by bearer token or OIDC, and anonymous requests as system:anonymous',
    async () => {
      for (const u of USERS) expect(c.tokens[u.name]).toMatch(u.oidc ? /^[\w-]+\.[\w-]+\.[\w-]+$/ : /^[0-9a-f]{48}$/);
      // An OIDC user is who the IdP's token says: email as user name, groups from the groups claim.
      const who = JSON.parse((await c.kubectl(['auth', 'whoami', '-o', 'json'], { as: 'erin@example.com' })).stdout) as {
        status: { userInfo: { username: string; groups: string[] } };
      };
      expect(who.status.userInfo.username).toBe('erin@example.com');
      expect(who.status.userInfo.groups).toContain('security-leads');
      const v = await c.request('/version', { as: 'dave@example.com' });
      expect(JSON.parse(v.body)).toMatchObject({ gitVersion: c.serverVersion });
      // Anonymous auth is on (403, not 401) but RBAC grants system:unauthenticated only public info.
      const api = await c.request('/api/v1/namespaces', { as: null });
      expect(api.status).toBe(403);
      expect(api.body).toContain('system:anonymous');
      expect((await c.request('/.well-known/openid-configuration', { as: null })).status).toBe(200);
      expect(c.anonymousDiscovery).toBe(true);
    },
  );

  test('kubectl and helm talk to it', async () => {
    const v = JSON.parse((await c.kubectl(['version', '-o', 'json'])).stdout) as { serverVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toBe(c.serverVersion);
    expect((await c.helm(['version', '--short'])).stdout).toMatch(/^v\d+\.\d+\.\d+/);
    await c.helm(['list', '--all-namespaces']);
  });
});
