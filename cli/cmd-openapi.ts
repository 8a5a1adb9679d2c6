/** `netrank openapi`: prints the OpenAPI document generated from the route schemas. */
import type { Command } from './command.js'
import { openapiDocument } from '../agent/http/openapi.js'

export const openapiCommand: Command = {
  name: 'openapi',
  summary: 'print the OpenAPI document of the agent\'s HTTP API (docs/openapi.json)',
  usage: `netrank openapi

Prints the document the agent serves at /openapi.json; docs/openapi.json is this output.`,
  options: {},
  async run (_values, _positionals, io) {
    io.stdout.write(await openapiDocument())
    return 0
  },
}
