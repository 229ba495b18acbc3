// jest globalSetup: provides the cluster for the e2e specs.
//  1. kube-apiserver, etcd, kubectl, helm from e2e/controlplane/build.sh (cached; or KUBEBUILDER_ASSETS),
//     prometheus and promtool from Debian's package unpacked into the cache (tools.ts);
//  2. the cluster of $KUBECONFIG if it answers, else a local control plane on loopback;
//  3. what the specs need in <runDir>/cluster.json, named by $SCOPEKEEPER_E2E_CLUSTER (see cluster.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneBinaries, newLogDir, startControlPlane } from './controlplane.ts';
import { existingCluster } from './existing.ts';
import { INFO_ENV, writeInfo, type ClusterInfo } from './info.ts';
import { log } from './proc.ts';
import { onExit, setState } from './state.ts';
import { provisionTools } from './tools.ts';
import { ADMIN } from './users.ts';

export default async function globalSetup(): Promise<void> {
  process.stderr.write('\n');
  const runDir = mkdtempSync(join(tmpdir(), 'scopekeeper-e2e-'));
  let removeExitHandlers = onExit(() => rmSync(runDir, { recursive: true, force: true }));
  try {
    const binDir = await controlPlaneBinaries();
    provisionTools();
    let info: ClusterInfo | undefined = process.env.KUBECONFIG ? await existingCluster(binDir, runDir) : undefined;
    if (info) {
      setState({ runDir, removeExitHandlers });
    } else {
      const logDir = newLogDir();
      let plane;
      try {
        plane = await startControlPlane({ binDir, runDir, logDir });
      } catch (e) {
        log(`control plane did not start; logs kept in ${logDir}`);
        throw e;
      }
      removeExitHandlers();
      const p = plane;
      removeExitHandlers = onExit(() => {
        p.killNow(); // the watchdog finishes the job and removes runDir
        process.stderr.write(`e2e: run ended abnormally; control plane logs kept in ${logDir}\n`);
      });
      setState({ runDir, logDir, plane, removeExitHandlers });
      info = {
        mode: 'local',
        server: plane.server,
        kubeconfigPath: plane.kubeconfigPath,
        adminContext: ADMIN,
        caFile: plane.caFile,
        caData: plane.caData,
        binDir,
        runDir,
        users: plane.users,
        serviceAccountIssuer: plane.serviceAccountIssuer,
        oidc: plane.oidc,
        anonymousDiscovery: true,
        logDir,
        serverVersion: plane.serverVersion,
      };
    }
    process.env[INFO_ENV] = writeInfo(info);
  } catch (e) {
    removeExitHandlers();
    rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
}
