/**
 * HTTP requests written byte for byte over a TCP socket: what `fetch` will not send (no or an
 * odd `Host` header, HTTP/1.0). The request should ask the server to close the connection
 * (`Connection: close`, or HTTP/1.0): the answer is everything read until then.
 */
export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

export async function rawHttp(url: string, request: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  const text = await new Promise<string>((resolve, reject) => {
    let received = ''
    const decoder = new TextDecoder()
    Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        open: (socket) => void socket.write(request),
        data: (_socket, chunk) => void (received += decoder.decode(chunk, { stream: true })),
        close: () => resolve(received),
        error: (_socket, error) => reject(error),
      },
    }).catch(reject)
  })
  const end = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = text.slice(0, end === -1 ? text.length : end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: end === -1 ? '' : text.slice(end + 4) }
}
