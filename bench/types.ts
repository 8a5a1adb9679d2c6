/** One benchmark's contribution to bench/RESULTS.md. bench/run.ts collects them. */
export interface BenchSection {
  /** section heading, e.g. 'Agent HTTP: /v1/select and /rank vs a bare fastify route' */
  title: string
  /** how to run just this benchmark */
  command: string
  /** the section body: a table with the measured figures, the baseline measured in the same run, the ratio and the target */
  markdown: string
  /** did every target in this section hold? */
  targetsMet: boolean
}

/** Every bench module exports `run(): Promise<BenchSection>` under this name. */
export type BenchRun = () => Promise<BenchSection>
