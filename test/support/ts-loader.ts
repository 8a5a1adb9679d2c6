// The TypeScript loader this test process runs under (tsx, set in package.json `tap.node-arg`),
// for children that run a .ts entry point from the sources.
export function tsLoaderArgs (): string[] {
  const args = process.execArgv.filter((a) => /^--import=(tsx|.*[/\\]tsx[/\\])/.test(a) || a.includes('@tapjs/typescript'))
  // a child without the loader would fail on its first import of a .ts file
  if (args.length === 0) throw new Error('this test runs .ts children: run it through tap (package.json tap.node-arg loads tsx)')
  return args
}
