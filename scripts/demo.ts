import { DemoError } from './demo-api.js';
import { parseDemoOptions } from './demo-options.js';
import { runDemo } from './demo-run.js';

/**
 * `npm run demo`: a simulated upstream shop against a running orderworks (see scripts/demo-run.ts), so an
 * operator can watch Bull Board fill and drain. Exits 0 when done; 1 with one line when it cannot run.
 */
try {
  await runDemo(parseDemoOptions(process.argv.slice(2)), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  if (!(error instanceof DemoError)) throw error;
  process.stderr.write(`demo: ${error.message}\n`);
  process.exitCode = 1;
}
