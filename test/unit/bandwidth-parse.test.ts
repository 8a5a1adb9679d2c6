// netrank.io/expected-bandwidth and the API's expectedBandwidth: every accepted form with
// its exact bits/s, every refusal with a reason that names the input.
import t from 'tap'
import { formatRate, MAX_EXPECTED_BPS, parseExpectedBandwidth, parseRate } from '../../contract/bandwidth.js'

t.test('accepted forms, bits per second per direction', async t => {
  const both: Array<[string, number]> = [
    ['200M', 200e6], ['1G', 1e9], ['1.5G', 1.5e9], ['500k', 500e3], ['500K', 500e3], ['2T', 2e12], ['10000', 1e4], ['0', 0],
    [' 200M ', 200e6], ['200 M', 200e6], ['200 Mbit/s', 200e6], ['200Mbps', 200e6], ['200Mb/s', 200e6], ['1 Gbit/s', 1e9], ['64 bits/s', 64],
    ['10Mi', 10 * 1024 ** 2], ['1Gi', 1024 ** 3], ['.5G', 5e8], ['1e3M', 1e9], ['10T', MAX_EXPECTED_BPS],
  ]
  for (const [s, v] of both) t.same(parseExpectedBandwidth(s), { ok: true, rxBps: v, txBps: v }, s)
  const per: Array<[string, number, number]> = [
    ['{"rx":"1G","tx":"100M"}', 1e9, 1e8],
    [' { "tx": "5M", "rx": 2000000 } ', 2e6, 5e6],
    ['{"rx":"300M"}', 300e6, 0],
    ['{"tx":0}', 0, 0],
  ]
  for (const [s, rx, tx] of per) t.same(parseExpectedBandwidth(s), { ok: true, rxBps: rx, txBps: tx }, s)
})

t.test('refusals say why and name the value', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /^an empty value is not a rate/],
    ['   ', /^an empty value is not a rate/],
    ['fast', /^"fast" is not a rate: use 200M, 1G, 500k/],
    ['-5M', /^"-5M" is negative: a rate is ≥ 0$/],
    ['99999T', /^"99999T" is beyond 10 Tbit\/s$/],
    ['10.1T', /beyond 10 Tbit\/s/],
    ['200X', /^"200X" is not a rate/],
    ['200 MB/s', /^"200 MB\/s" is not a rate/],
    ['NaN', /^"NaN" is not a rate/],
    ['Infinity', /^"Infinity" is not a rate/],
    ['1e400', /^"1e400" is not a finite rate$/],
    ['1,5G', /is not a rate/],
    ['{"rx":"1G"', /^"\{\\"rx\\":\\"1G\\"" is not valid JSON/],
    ['["1G"]', /must be an object \{"rx": …, "tx": …\}, not an array/],
    ['{}', /needs "rx", "tx" or both/],
    ['{"rx":"1G","up":"1M"}', /^unknown key "up": only "rx" and "tx"$/],
    ['{"rx":"fast"}', /^rx: "fast" is not a rate/],
    ['{"rx":"1G","tx":-1}', /^tx: -1 is negative/],
    ['{"rx":null}', /^rx: null is not a rate/],
    ['{"rx":[1]}', /^rx: an array is not a rate/],
    ['{"rx":true}', /^rx: boolean is not a rate/],
    ['{"tx":1e20}', /^tx: 100000000000000000000 bit\/s is beyond 10 Tbit\/s$/],
    ['9'.repeat(300), /^a value of 300 characters is not a rate \(at most 256\)$/],
  ]
  for (const [s, why] of cases) {
    const r = parseExpectedBandwidth(s)
    t.equal(r.ok, false, `${s.slice(0, 30)} is refused`)
    if (!r.ok) t.match(r.why, why, s.slice(0, 30))
  }
  t.match(parseRate(Number.NaN), /NaN is not a rate/)
  t.match(parseRate(-1), /negative/)
  t.equal(parseRate(5), 5)
})

t.test('formatRate writes what the parser reads back', async t => {
  const cases: Array<[number, string]> = [[200e6, '200M'], [1.5e9, '1.5G'], [0, '0'], [500e3, '500k'], [999, '999'], [2e12, '2T'], [10e6, '10M'], [123456789, '123.457M']]
  for (const [v, s] of cases) {
    t.equal(formatRate(v), s, `${v}`)
    const back = parseExpectedBandwidth(s)
    if (back.ok) t.ok(Math.abs(back.rxBps - v) <= v * 1e-5, `${s} reads back as ${back.rxBps}`)
    else t.fail(`${s} did not parse: ${back.why}`)
  }
  t.throws(() => formatRate(-1), /not a rate/)
  t.throws(() => formatRate(Number.NaN), /not a rate/)
})
