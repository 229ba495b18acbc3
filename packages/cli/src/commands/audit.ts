import { Command } from 'commander';
import { runAuditVerify } from '@scopekeeper/sidecar';

export function auditCommand(): Command {
  const audit = new Command('audit').description('Work with audit logs.');
  audit
    .command('verify')
    .description('Check the hash chain of an audit log: finds changed, removed or reordered records. Exit 0 intact, 1 broken.')
    .argument('<file>', 'a JSON-lines audit log written by the sidecar')
    .action(async (file: string) => {
      const r = await runAuditVerify(file);
      (r.code === 0 ? process.stdout : process.stderr).write(r.message + '\n');
      process.exitCode = r.code;
    });
  return audit;
}
