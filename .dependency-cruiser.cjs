// The direction of the data flow, enforced (`npm run lint`; docs/architecture.md):
//   contract ← selector ← store ← collectors ← agent ← cli ← bin      cni → contract
// A folder may import its own files and the folders to its left; nothing in the product
// imports the lab, the benchmarks or the tests; the shim imports only cni/ and contract/.
const PRODUCT = ['contract', 'selector', 'store', 'collectors', 'agent', 'cli', 'bin', 'cni']
const DEV = ['lab', 'bench', 'test']
const FLOW = ['contract', 'selector', 'store', 'collectors', 'agent', 'cli', 'bin']
const dir = (names) => `^(${names.join('|')})/`

// each layer of the flow may not import the layers after it, nor the shim
const flowRules = FLOW.map((layer, i) => ({
  name: `${layer}-imports-only-earlier-layers`,
  comment: `${layer}/ may import ${FLOW.slice(0, i + 1).join(', ')} (the data flows contract → selector → store → collectors → agent → cli → bin)`,
  severity: 'error',
  from: { path: `^${layer}/` },
  to: { path: dir([...FLOW.slice(i + 1), 'cni'].filter((d) => d !== 'bin' || layer !== 'bin')) },
}))

module.exports = {
  forbidden: [
    ...flowRules,
    {
      name: 'contract-imports-nothing',
      comment: 'contract/ holds the wire and file formats: it imports only itself and Node built-ins',
      severity: 'error',
      from: { path: '^contract/' },
      to: { pathNot: '^contract/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'shim-imports-only-cni-and-contract',
      comment: 'cni/ is the shim the runtime executes once per pod operation: it imports only cni/, contract/ and what it loads lazily from npm',
      severity: 'error',
      from: { path: '^cni/' },
      to: { path: dir(PRODUCT.filter((d) => d !== 'cni' && d !== 'contract')) },
    },
    {
      name: 'product-imports-no-dev-code',
      comment: 'the lab, the benchmarks and the test support are not shipped: product code never imports them (bin/ loads the lab only when the build has it)',
      severity: 'error',
      from: { path: dir(PRODUCT.filter((d) => d !== 'bin')) },
      to: { path: dir(DEV) },
    },
    {
      name: 'bin-imports-only-the-lab-command',
      comment: 'bin/ composes the CLI: the core commands plus the lab\'s, nothing else of dev code',
      severity: 'error',
      from: { path: '^bin/' },
      to: { path: dir(DEV), pathNot: '^lab/cli-lab\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'modules that import each other in a cycle',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test/fixtures|test/conformance)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
