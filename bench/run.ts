// The benchmark runner (`npm run bench` = node dist/bench/run.js): imports every
// dist/bench/*.bench.js, runs each one's `run` export in turn and writes bench/RESULTS.md
// with the machine, the command, the date and each section.
//   node dist/bench/run.js               run all benchmarks
//   node dist/bench/run.js agent-http    run only those whose file name contains a filter
// Each run's section is kept in bench/results/<name>.json (with its date and how busy the
// machine was), and RESULTS.md is composed from all of them: a filtered run refreshes its
// own sections and keeps the others' last results.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { packageRoot } from '../cli/package-root.js'
import type { BenchRun, BenchSection } from './types.js'

interface StoredSection extends BenchSection {
  file: string
  seconds: number
  ranAt: string
  /** 1, 5 and 15 min load averages when the section started: a shared machine skews every figure */
  loadavg: number[]
}

const here = dirname(fileURLToPath(import.meta.url))
const root = packageRoot()
const resultsDir = join(root, 'bench', 'results')
const filters = process.argv.slice(2)
const all = readdirSync(here).filter((f) => /\.bench\.js$/.test(f)).sort()
const files = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))

if (files.length === 0) {
  process.stderr.write(`bench: no dist/bench/*.bench.js${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''} (run npm run build first)\n`)
  process.exit(2)
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`
const cpu = cpus()
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ')

mkdirSync(resultsDir, { recursive: true })
let failed = false
for (const file of files) {
  process.stderr.write(`bench: ${file} …\n`)
  const started = Date.now()
  const startLoad = loadavg()
  let section: BenchSection
  try {
    const mod = await import(pathToFileURL(join(here, file)).href) as { run?: BenchRun }
    if (typeof mod.run !== 'function') throw new Error(`${file} has no \`run\` export`)
    section = await mod.run()
  } catch (err) {
    failed = true
    section = { title: file, command: `node dist/bench/${file}`, markdown: `**The benchmark failed:** ${(err as Error).stack ?? String(err)}`, targetsMet: false }
  }
  const seconds = (Date.now() - started) / 1000
  const stored: StoredSection = { ...section, file, seconds, ranAt: new Date(started).toISOString(), loadavg: startLoad }
  writeFileSync(join(resultsDir, file.replace(/\.js$/, '.json')), `${JSON.stringify(stored, null, 2)}\n`)
  process.stderr.write(`bench: ${file} done in ${seconds.toFixed(1)} s, targets ${section.targetsMet ? 'met' : 'NOT met'}\n`)
}

// Compose RESULTS.md from the stored sections of the benchmarks that still exist.
const sections: StoredSection[] = all
  .map((f) => join(resultsDir, f.replace(/\.js$/, '.json')))
  .filter((p) => existsSync(p))
  .map((p) => JSON.parse(readFileSync(p, 'utf8')) as StoredSection)

const doc = [
  '# Benchmark results',
  '',
  'Written by `npm run bench` (`node dist/bench/run.js [name-filter]`). Every ratio compares figures measured in the same run of that benchmark;',
  'each section says when it ran and how busy the machine was (load average at its start).',
  '',
  '## Machine',
  '',
  `- CPU: ${cpu[0]?.model.trim() ?? 'unknown'}, ${cpu.length} cores`,
  `- memory: ${gib(totalmem())} (${gib(freemem())} free when this file was written)`,
  `- OS: ${osType()} ${release()}`,
  `- Node.js ${process.version}`,
  '',
  '## Summary',
  '',
  '| benchmark | targets | ran at | load avg 1/5/15 min | time |',
  '|---|:---:|---|---|---:|',
  ...sections.map((s) => `| ${s.title} | ${s.targetsMet ? 'met' : '**not met**'} | ${s.ranAt} | ${load(s.loadavg)} | ${s.seconds.toFixed(1)} s |`),
  '',
  ...sections.flatMap((s) => [
    `## ${s.title}`,
    '',
    `Command: \`${s.command}\` · ran ${s.ranAt} · load average ${load(s.loadavg)} on ${cpu.length} cores`,
    '',
    s.markdown,
    '',
    `Targets: ${s.targetsMet ? 'met' : '**not met**'}.`,
    '',
  ]),
].join('\n')

writeFileSync(join(root, 'bench', 'RESULTS.md'), doc)
process.stderr.write(`bench: wrote bench/RESULTS.md (${sections.length} section(s))\n`)
process.exitCode = failed ? 1 : 0
