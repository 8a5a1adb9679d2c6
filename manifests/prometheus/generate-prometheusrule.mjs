#!/usr/bin/env node
// Writes prometheusrule.yaml (Prometheus Operator) from netrank-rules.yaml (plain rules),
// so the rules have one source. Run after editing the rules:
//   node manifests/prometheus/generate-prometheusrule.mjs
// test/system/prometheus-rules.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'

const here = dirname(fileURLToPath(import.meta.url))
const rules = parse(readFileSync(join(here, 'netrank-rules.yaml'), 'utf8'))
const resource = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: {
    name: 'netrank',
    labels: { 'app.kubernetes.io/name': 'netrank', 'app.kubernetes.io/component': 'alerts' },
  },
  spec: { groups: rules.groups },
}
const header = '# GENERATED from netrank-rules.yaml by generate-prometheusrule.mjs: edit that file, then rerun.\n'
writeFileSync(join(here, 'prometheusrule.yaml'), header + stringify(resource, { lineWidth: 0 }))
