// The mutation score per file of the last Stryker run (reports/mutation/mutation.json, written by
// `npm run mutation`): prints `file | killed | survived | no coverage | timeout | score` and exits 1 when a
// mutated file is under the goal. Stryker's own `thresholds.break` only sees the total.
//
//   node scripts/mutation-score.mjs [--min 90] [--report reports/mutation/mutation.json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    min: { type: 'string', default: '90' },
    report: { type: 'string', default: 'reports/mutation/mutation.json' },
  },
});
const min = Number(values.min);
if (!Number.isFinite(min)) {
  console.error(`--min must be a number, not ${values.min}`);
  process.exit(2);
}

let report;
try {
  report = JSON.parse(readFileSync(values.report, 'utf8'));
} catch (error) {
  console.error(
    `Cannot read the Stryker report ${values.report}: ${error.message}. Run \`npm run mutation\`.`,
  );
  process.exit(2);
}

// Stryker's definition: (killed + timeout) / (killed + timeout + survived + no coverage). Compile and
// runtime errors and ignored mutants are not counted.
const rows = Object.entries(report.files)
  .map(([file, { mutants }]) => {
    const count = (status) => mutants.filter((m) => m.status === status).length;
    const row = {
      file,
      killed: count('Killed'),
      survived: count('Survived'),
      noCoverage: count('NoCoverage'),
      timeout: count('Timeout'),
      errors: count('CompileError') + count('RuntimeError'),
    };
    const valid = row.killed + row.timeout + row.survived + row.noCoverage;
    return { ...row, valid, score: valid === 0 ? null : ((row.killed + row.timeout) / valid) * 100 };
  })
  .sort((a, b) => a.file.localeCompare(b.file));

const total = rows.reduce(
  (t, r) => ({
    killed: t.killed + r.killed,
    survived: t.survived + r.survived,
    noCoverage: t.noCoverage + r.noCoverage,
    timeout: t.timeout + r.timeout,
    errors: t.errors + r.errors,
    valid: t.valid + r.valid,
  }),
  { killed: 0, survived: 0, noCoverage: 0, timeout: 0, errors: 0, valid: 0 },
);
const totalScore = total.valid === 0 ? null : ((total.killed + total.timeout) / total.valid) * 100;

const pct = (score) => (score === null ? 'n/a' : `${score.toFixed(2)} %`);
const table = [
  ['file', 'killed', 'survived', 'no coverage', 'timeout', 'score'],
  ...rows.map((r) => [r.file, r.killed, r.survived, r.noCoverage, r.timeout, pct(r.score)]),
  ['all files', total.killed, total.survived, total.noCoverage, total.timeout, pct(totalScore)],
].map((cells) => cells.map(String));
const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
const line = (cells) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
console.log(
  [line(table[0]), rule, ...table.slice(1, -1).map(line), rule, line(table[table.length - 1])].join('\n'),
);
if (total.errors > 0) console.log(`(${total.errors} mutants were compile or runtime errors: not counted)`);

const under = rows.filter((r) => r.score !== null && r.score < min);
if (rows.length === 0) {
  console.error('The report holds no mutated files.');
  process.exit(1);
}
if (under.length > 0) {
  console.error(`\nUnder ${min} %: ${under.map((r) => `${r.file} (${pct(r.score)})`).join(', ')}`);
  process.exit(1);
}
console.log(`\nEvery file is at ${min} % or more.`);
