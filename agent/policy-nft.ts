/**
 * The policy engine's enforcement: the allowed matrix of logical networks as nftables
 * rules, one `netrank` table in the `inet` family (routed paths: logical networks with
 * their own subnets reach each other through the node) and one in the `bridge` family
 * (frames between ports of one bridge, where logical networks share it). Each change
 * replaces both tables in one `nft -f` transaction (create-if-missing, delete, define):
 * never a moment without rules, never a half-applied set. `flush` removes them (uninstall,
 * `lab down`).
 */
import { execFile } from 'node:child_process'

/** One logical network as the rules see it: its name (namespace/name) and its subnet. */
export interface RuleNetwork { key: string, family: 4 | 6, cidr: string }

export const NFT_TABLE = 'netrank'
const FAMILIES = ['inet', 'bridge'] as const

/** An ordered pair that may not talk: traffic from `from` to `to` is dropped (the rules are per direction). */
export interface DeniedPair { from: RuleNetwork, to: RuleNetwork }

function ruleLines (denied: readonly DeniedPair[]): string[] {
  const out: string[] = []
  for (const d of denied) {
    if (d.from.family !== d.to.family) continue // an IPv4 and an IPv6 network never share a packet
    const ip = d.from.family === 4 ? 'ip' : 'ip6'
    out.push(`    ${ip} saddr ${d.from.cidr} ${ip} daddr ${d.to.cidr} counter drop comment ${JSON.stringify(`${d.from.key} -> ${d.to.key}`)}`)
  }
  return out
}

/**
 * The whole ruleset for `denied`, as one `nft -f` script: each table created if missing
 * (so the delete never fails), deleted, and defined again — one transaction.
 */
export function renderRuleset (denied: readonly DeniedPair[], table = NFT_TABLE): string {
  const rules = ruleLines(denied)
  const lines: string[] = ['# netrank policy engine: the allowed matrix of logical networks (docs/isolation.md)']
  for (const family of FAMILIES) {
    lines.push(`table ${family} ${table} {}`, `delete table ${family} ${table}`, `table ${family} ${table} {`)
    // before the default filter priority: a denied pair is dropped whatever accepts it later
    lines.push('  chain forward {', '    type filter hook forward priority -10; policy accept;', ...rules, '  }', '}')
  }
  return lines.join('\n') + '\n'
}

export interface NftRunner {
  /** runs `nft -f -` with `script` on stdin */
  apply: (script: string) => Promise<void>
  /** `nft -j list table FAMILY TABLE`; undefined when the table does not exist */
  list: (family: string, table: string) => Promise<unknown>
}

function run (nft: string, args: string[], stdin: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(nft, args, { encoding: 'utf8', timeout: 10_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${nft} ${args.join(' ')}: ${(stderr.trim() || err.message).slice(0, 800)}`))
      else resolve(stdout)
    })
    child.stdin?.on('error', () => { /* nft exited first: its error is reported */ })
    child.stdin?.end(stdin ?? '')
  })
}

/** The real nft (Debian's nftables) at `nft`. */
export function nftRunner (nft = 'nft'): NftRunner {
  return {
    apply: async (script) => { await run(nft, ['-f', '-'], script) },
    list: async (family, table) => {
      try {
        return JSON.parse(await run(nft, ['-j', 'list', 'table', family, table], undefined)) as unknown
      } catch (err) {
        if (/No such file or directory|does not exist/.test((err as Error).message)) return undefined
        throw err
      }
    },
  }
}

/** Removes the netrank tables (both families); missing tables are fine. */
export async function flushRules (runner: NftRunner, table = NFT_TABLE): Promise<void> {
  await runner.apply(FAMILIES.map((f) => `table ${f} ${table} {}\ndelete table ${f} ${table}`).join('\n') + '\n')
}

/** Per-rule packet counters of the inet table (comment → packets), from `nft -j list`. */
export function ruleCounters (listing: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  const items = (listing as { nftables?: Array<{ rule?: { comment?: string, expr?: Array<{ counter?: { packets?: number } }> } }> } | undefined)?.nftables ?? []
  for (const it of items) {
    const r = it.rule
    if (r?.comment === undefined) continue
    const c = r.expr?.find((e) => e.counter !== undefined)?.counter?.packets
    if (typeof c === 'number') out[r.comment] = (out[r.comment] ?? 0) + c
  }
  return out
}
