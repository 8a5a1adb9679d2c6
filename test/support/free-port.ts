// A TCP port nobody listens on right now: bound on `host`, then closed. Tests start
// servers on it (or connect to it to get "connection refused").
import { createServer } from 'node:net'

export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      srv.close(() => {
        if (typeof addr === 'object' && addr !== null) resolve(addr.port)
        else reject(new Error('the probe socket has no port'))
      })
    })
  })
}
