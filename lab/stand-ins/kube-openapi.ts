// /openapi/v2 for the Kubernetes API stand-in. `kubectl apply` and `kubectl create` validate a
// manifest against the server's OpenAPI v2 document before sending it (kubectl 1.20 always,
// 1.32 when the server does not advertise server-side field validation in /openapi/v3, which
// the stand-in does not serve) and refuse to go on without one. kubectl reads only the
// protobuf form (gnostic's openapi_v2.Document) and skips validation for kinds the document
// has no definition for, so the stand-in serves a document with no definitions: kubectl still
// checks apiVersion and kind, and the stand-in answers for the rest.

/** The Content-Type the real server answers with (kubectl asks for `…spec.v2@v1.0+protobuf`, which Go cannot parse back). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'

function varint (n: number): number[] {
  const out: number[] = []
  let v = n
  while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 0x80) }
  out.push(v)
  return out
}

/** A length-delimited protobuf field (wire type 2): a string or an embedded message. */
export function protoField (field: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes])
}

/**
 * The stand-in's OpenAPI v2 document in protobuf: Document{swagger: "2.0" (field 1),
 * info (field 2): Info{title (1), version (2)}}, no paths and no definitions.
 */
export function openApiV2Document (version: string): Buffer {
  const info = Buffer.concat([protoField(1, 'netrank Kubernetes API stand-in'), protoField(2, version)])
  return Buffer.concat([protoField(1, '2.0'), protoField(2, info)])
}
