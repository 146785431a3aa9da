import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** One line of the table: a figure of orderworks next to its baseline from the same run, and its target. */
export interface Row {
  scenario: string;
  measure: string;
  orderworks: string;
  baseline: string;
  /** orderworks / baseline, when both are rates. */
  ratio: number | null;
  target: string;
  met: boolean | null;
}

export interface RunInfo {
  date: string;
  machine: string;
  versions: string;
  command: string;
  commit: string;
  settings: string[];
  notes: string[];
  /** Further tables after the main one, each with its heading. */
  sections: string[];
}

export const rate = (n: number, unit = 'orders/s') => `${Math.round(n).toLocaleString('en-US')} ${unit}`;
export const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const int = (n: number) => n.toLocaleString('en-US');

export function table(rows: Row[]): string {
  const head = ['scenario', 'measure', 'orderworks', 'baseline (same run)', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.scenario, r.measure, r.orderworks, r.baseline, r.ratio === null ? '' : r.ratio.toFixed(2), r.target,
    r.met === null ? '' : r.met ? 'met' : '**missed**',
  ]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function render(rows: Row[], info: RunInfo): string {
  return [
    `### Run of ${info.date}`,
    '',
    `- machine: ${info.machine}`,
    `- versions: ${info.versions}`,
    `- command: \`${info.command}\``,
    `- commit: ${info.commit}`,
    `- settings: ${info.settings.join('; ')}`,
    '',
    table(rows),
    '',
    ...info.notes.map((n) => `- ${n}`),
    '',
    ...info.sections.flatMap((s) => [s, '']),
  ].join('\n');
}

const BEGIN = '<!-- bench:latest:begin -->';
const END = '<!-- bench:latest:end -->';

/**
 * Writes the run between the "latest" markers of `file`, keeping everything else (the before/after
 * history people write by hand); a file without markers gets the block appended.
 */
export function writeReport(file: string, section: string): void {
  const block = `${BEGIN}\n## Latest run (written by \`npm run bench\`)\n\n${section}${END}\n`;
  const prior = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const at = prior.indexOf(BEGIN);
  const stop = prior.indexOf(END);
  const next = at >= 0 && stop > at ? prior.slice(0, at) + block + prior.slice(stop + END.length + 1) : `${prior.trimEnd()}\n\n${block}`;
  writeFileSync(file, next);
}
