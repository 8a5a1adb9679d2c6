// netrank-cni process entry: read stdin, run the operation, print, exit. Crashes
// (an uncaught exception or rejection) still print a CNI error (code 199) and are
// logged, so the runtime and the operator both see them.
import { readFileSync } from 'node:fs'
import { log, pendingLogLines } from './log.js'
import { errorOutcome, runShim } from './run.js'
import { CURRENT_VERSION } from './versions.js'

function finish (stdout: string, exitCode: number): never {
  // stdout is a pipe or a file here: both are written synchronously on Linux, so exit loses nothing
  process.stdout.write(stdout)
  process.exit(exitCode)
}

function crash (err: unknown): void {
  log.error({ err }, 'netrank-cni crashed')
  // before the conf names a log file, the kept lines go to stderr (runtimes log it)
  for (const line of pendingLogLines()) process.stderr.write(line)
  const out = errorOutcome(err, CURRENT_VERSION)
  finish(out.stdout, out.exitCode)
}

process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

function readStdin (): string {
  try {
    return readFileSync(0, 'utf8')
  } catch (err) {
    // no stdin at all (closed descriptor) reads as empty; VERSION needs none
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EBADF' || code === 'ENXIO' || code === 'EINVAL') return ''
    throw err
  }
}

// no top-level await: the bundle is CommonJS (the single executable application needs it)
runShim(process.env, readStdin()).then((o) => finish(o.stdout, o.exitCode), crash)
