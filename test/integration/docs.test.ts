import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tracked = () => execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

/** The repository stands alone: someone who clones it has the public API and the providers' formats in docs/. */
describe('documentation', () => {
  it('names no file outside the repository', () => {
    const outside = /\.\.\/shared|shared\/(CONTRACT|PROVIDERS)\.md|\bCONTRACT\.md|\bPROVIDERS\.md/;
    const offenders = tracked()
      .filter((f) => f !== 'package-lock.json' && f !== 'test/integration/docs.test.ts')
      .filter((f) => /\.(ts|mjs|js|md|json|sh)$|^Procfile$|^\.ci\//.test(f))
      .filter((f) => outside.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('documents every path the OpenAPI document serves', () => {
    const api = readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
    const paths = Object.keys((openApiDocument() as { paths: Record<string, unknown> }).paths);
    expect(paths.length).toBeGreaterThan(5);
    expect(paths.filter((p) => !api.includes(p))).toEqual([]);
  });
});
