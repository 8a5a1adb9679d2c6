/**
 * One scrape of each traffic source, from the wire to per pod interface counters:
 * the kubelet's `/metrics/cadvisor` (or a standalone cAdvisor's `/metrics`) is parsed while
 * it streams in, never held whole; the JSON sources (`/stats/summary`, cAdvisor
 * `/api/v1.3/subcontainers`, `/api/v2.0/stats`) are read under the client's size cap and
 * parsed. Every fetch has the client's timeout and cap (http-fetch.ts).
 */
import { parseCadvisorV1 } from './cadvisor-v1.js'
import { parseCadvisorV2Stats } from './cadvisor-v2.js'
import type { CadvisorV2Options } from './cadvisor-v2.js'
import type { HttpClient } from '../http-fetch.js'
import { parseKubeletSummary } from './kubelet-summary.js'
import { PodCounterAggregator } from './pod-network-counters.js'
import type { AggregateStats, PodCounterFilter, PodInterfaceCounters } from './pod-network-counters.js'
import { PromNetworkParser } from './prom-text-network.js'
import type { PromNetworkParserStats } from './prom-text-network.js'

export type TrafficSourceKind = 'kubelet-metrics' | 'cadvisor-metrics' | 'kubelet-summary' | 'cadvisor-v1' | 'cadvisor-v2' | 'cri'

export interface TrafficScrape {
  source: TrafficSourceKind
  counters: PodInterfaceCounters[]
  /** bytes read off the wire */
  bytes: number
  /** parser and aggregation figures (Prometheus sources) */
  parse?: PromNetworkParserStats & { aggregate: AggregateStats }
}

/**
 * Scrape a Prometheus page (kubelet /metrics/cadvisor or cAdvisor /metrics), streaming.
 * `aggregator`: the one of the previous scrapes, to reuse its per pod interface entries
 * (see PodCounterAggregator.begin); by default a new one.
 */
export async function scrapePromCounters (client: HttpClient, url: string, nowMs: number, opts: PodCounterFilter = {}, source: TrafficSourceKind = 'kubelet-metrics', aggregator?: PodCounterAggregator): Promise<TrafficScrape> {
  const res = await client.getStream(url)
  const agg = aggregator ?? new PodCounterAggregator(opts)
  if (aggregator !== undefined) agg.begin(opts)
  const parser = new PromNetworkParser({ onRecord: agg.add })
  let bytes = 0
  for await (const chunk of res.body) {
    bytes += chunk.length
    parser.push(chunk)
  }
  const stats = parser.end()
  const counters = agg.result(nowMs)
  return { source, counters, bytes, parse: { ...stats, aggregate: agg.stats } }
}

/** Scrape the kubelet's /stats/summary. */
export async function scrapeSummaryCounters (client: HttpClient, url: string, nowMs: number, opts: PodCounterFilter = {}): Promise<TrafficScrape> {
  const { text, bytes } = await client.getText(url)
  return { source: 'kubelet-summary', counters: parseKubeletSummary(text, nowMs, opts).counters, bytes }
}

/** Scrape a standalone cAdvisor's /api/v1.3/subcontainers. */
export async function scrapeCadvisorV1Counters (client: HttpClient, url: string, opts: PodCounterFilter = {}): Promise<TrafficScrape> {
  const { text, bytes } = await client.getText(url)
  return { source: 'cadvisor-v1', counters: parseCadvisorV1(text, opts).counters, bytes }
}

/** Scrape a standalone cAdvisor's /api/v2.0/stats (pass the /api/v2.0/spec answer or a UID resolver in opts). */
export async function scrapeCadvisorV2Counters (client: HttpClient, url: string, opts: CadvisorV2Options = {}): Promise<TrafficScrape> {
  const { text, bytes } = await client.getText(url)
  return { source: 'cadvisor-v2', counters: parseCadvisorV2Stats(text, opts).counters, bytes }
}
