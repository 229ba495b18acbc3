// `scopekeeper operator`: reconcile AccessReview / ModelScope status, Events and metrics, with
// Lease leader election. Every flag can also come from SCOPEKEEPER_<FLAG>.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { splitHostPort } from '@scopekeeper/core';
import { envOption, onShutdown } from './shared.ts';
import { Command, InvalidArgumentError, Option } from 'commander';

// The operator and @kubernetes/client-node (~80 MB resident) load when the command runs, not
// when any other command of the binary does.
const DEFAULT_LEASE_NAME = 'scopekeeper-operator'; // = DEFAULT_LEASE_NAME of @scopekeeper/operator

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const opt = envOption;

function hostPort(value: string): { host: string; port: number } {
  const hp = splitHostPort(value);
  if (!hp) throw new InvalidArgumentError(`"${value}" is not HOST:PORT; for example 127.0.0.1:15182, or 0.0.0.0:15182 in a pod`);
  return hp;
}

function bool(value: string | undefined): boolean {
  if (value === undefined || value === '') return true;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new InvalidArgumentError(`"${value}" is not true or false`);
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`"${v}" is not a positive number of seconds`);
  return n;
};

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${v}" is not a positive whole number`);
  return n;
};

/** The pod's namespace (downward API or service account), else the watched namespace, else default. */
export function defaultLeaseNamespace(watched: string | undefined): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return watched ?? 'default';
}

export interface OperatorFlags {
  namespace?: string;
  admin: { host: string; port: number };
  leaderElect: boolean;
  leaseNamespace?: string;
  leaseName: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  identity: string;
  workers: number;
  webhookPort?: number;
  webhookHost: string;
  webhookCertDir: string;
  webhookCertSecret?: string;
  webhookService: string;
  webhookConfiguration: string;
  injectionConfig: string;
  notifyUrl?: string;
  usageFrom?: string;
}

export function operatorCommand(): Command {
  return new Command('operator')
    .description('Run the operator: review validity and expiry into status conditions, Events and metrics; leader election.')
    .addOption(opt('--namespace <ns>', 'watch only this namespace (default: all namespaces)'))
    .addOption(
      opt('--admin <host:port>', 'admin address (/metrics, /healthz, /readyz)')
        .argParser(hostPort)
        .default(hostPort('127.0.0.1:15182'), '127.0.0.1:15182'),
    )
    .addOption(opt('--leader-elect [bool]', 'elect one writing leader among replicas through a Lease').argParser(bool).default(true))
    .addOption(new Option('--no-leader-elect', 'this replica always leads (run only one)'))
    .addOption(opt('--lease-namespace <ns>', "namespace of the Lease (default: the pod's namespace)"))
    .addOption(opt('--lease-name <name>', 'name of the Lease').default(DEFAULT_LEASE_NAME))
    .addOption(opt('--lease-duration <seconds>', 'how long a silent leader keeps the lease').argParser(seconds).default(15))
    .addOption(
      opt('--renew-deadline <seconds>', 'how long the leader tries to renew before it stops leading').argParser(seconds).default(10),
    )
    .addOption(opt('--retry-period <seconds>', 'how often to try to acquire or renew').argParser(seconds).default(2))
    .addOption(opt('--identity <id>', 'this replica in the Lease and in Events').default(`${hostname()}-${process.pid}`, 'hostname-pid'))
    .addOption(opt('--workers <n>', 'objects reconciled at the same time').argParser(positiveInt).default(16))
    .addOption(
      opt('--webhook-port <port>', 'serve the admission webhooks (injection, review checks) on this port; off when unset').argParser(
        positiveInt,
      ),
    )
    .addOption(opt('--webhook-host <host>', 'address the webhooks listen on').default('0.0.0.0'))
    .addOption(opt('--webhook-cert-dir <dir>', 'folder with tls.crt and tls.key for the webhooks').default('/etc/scopekeeper/webhook-cert'))
    .addOption(
      opt('--webhook-cert-secret <name>', "self-made CA mode: the Secret (in the pod's namespace) the leader keeps the certificates in"),
    )
    .addOption(
      opt('--webhook-service <name>', 'the Service in front of the webhooks (names in the serving certificate)').default('scopekeeper'),
    )
    .addOption(
      opt('--webhook-configuration <name>', 'the webhook configurations the leader patches the CA bundle into').default('scopekeeper'),
    )
    .addOption(
      opt('--injection-config <file>', 'JSON settings of the injected sidecar (image, issuers, key Secret)').default(
        '/etc/scopekeeper/injection/injection.json',
      ),
    )
    .addOption(
      opt(
        '--usage-from <source>',
        "annotate each Pending Periodic review the operator opens with the ending period's usage, e.g. prometheus=http://prometheus.monitoring:9090",
      ),
    )
    .addOption(opt('--notify-url <url>', 'POST review-due, expired, revoked and approval-requested notifications here as JSON'))
    .action(async (flags: OperatorFlags) => {
      if (flags.leaderElect && !(flags.leaseDuration > flags.renewDeadline && flags.renewDeadline > flags.retryPeriod)) {
        const { UsageError } = await import('@scopekeeper/sidecar');
        throw new UsageError(
          `leader election needs --lease-duration > --renew-deadline > --retry-period (got ${flags.leaseDuration} > ${flags.renewDeadline} > ${flags.retryPeriod})`,
        );
      }
      const [{ Operator, Admission, WebhookNotifier, createLogger, parseUsageFrom }, { loadKubeConfig }] = await Promise.all([
        import('@scopekeeper/operator'),
        import('@scopekeeper/kube'),
      ]);
      let usageSource;
      try {
        usageSource = flags.usageFrom ? parseUsageFrom(flags.usageFrom) : undefined;
      } catch (e) {
        const { UsageError } = await import('@scopekeeper/sidecar');
        throw new UsageError((e as Error).message);
      }
      const log = createLogger();
      const kubeConfig = loadKubeConfig();
      const notifier = flags.notifyUrl ? new WebhookNotifier({ url: flags.notifyUrl, log }) : undefined;
      let admission: InstanceType<typeof Admission> | undefined;
      const operator = new Operator({
        kubeConfig,
        notifier,
        usageSource,
        onLeadershipChange: (leading) => admission?.onLeadershipChange(leading),
        namespace: flags.namespace,
        admin: flags.admin,
        identity: flags.identity,
        workers: flags.workers,
        leaderElection: flags.leaderElect
          ? {
              namespace: flags.leaseNamespace ?? defaultLeaseNamespace(flags.namespace),
              name: flags.leaseName,
              leaseDurationSeconds: flags.leaseDuration,
              renewDeadlineSeconds: flags.renewDeadline,
              retryPeriodSeconds: flags.retryPeriod,
            }
          : false,
        log,
      });
      if (flags.webhookPort !== undefined) {
        const podNamespace = defaultLeaseNamespace(flags.namespace);
        admission = new Admission({
          kubeConfig,
          port: flags.webhookPort,
          host: flags.webhookHost,
          certDir: flags.webhookCertDir,
          certSecret: flags.webhookCertSecret
            ? {
                namespace: podNamespace,
                name: flags.webhookCertSecret,
                service: flags.webhookService,
                configuration: flags.webhookConfiguration,
              }
            : undefined,
          injectionConfigFile: flags.injectionConfig,
          getScope: (ns, name) => operator.getScope(ns, name),
          listScopes: (ns) => operator.listScopes(ns),
          registry: operator.metrics.registry,
          log,
        });
        log.info({ webhooks: await admission.start() }, 'admission webhooks listening');
      }
      const { admin } = await operator.start();
      log.info(
        { identity: operator.identity, namespace: flags.namespace ?? '(all)', admin, leaderElect: flags.leaderElect },
        'scopekeeper operator started',
      );
      onShutdown(log, 'stopping: releasing the lease', () => Promise.all([operator.stop(), admission?.stop()]));
    });
}
