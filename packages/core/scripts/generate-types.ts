// npm run generate: crds/*.yaml -> packages/core/src/types/{generated,schemas.generated}.ts
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generateSchemas, generateTypes, type CrdManifest } from '../src/crd/codegen.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function readCrds(dir = join(root, 'crds')): CrdManifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as CrdManifest);
}

export const outputs = {
  types: join(root, 'packages/core/src/types/generated.ts'),
  schemas: join(root, 'packages/core/src/types/schemas.generated.ts'),
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const crds = readCrds();
  mkdirSync(dirname(outputs.types), { recursive: true });
  writeFileSync(outputs.types, generateTypes(crds));
  writeFileSync(outputs.schemas, generateSchemas(crds));
  console.log(`wrote ${outputs.types}\nwrote ${outputs.schemas}`);
}
