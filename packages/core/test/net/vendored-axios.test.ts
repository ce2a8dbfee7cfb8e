import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { AxiosStatic } from 'axios';

// The axios every command uses: one bundled file (scripts/bundle-vendor.mjs) in which multipart bodies
// (form-data) and HTTPS through a proxy (https-proxy-agent) are loaded only when first used.
const axios = createRequire(import.meta.url)('@smokestack/core/vendor/axios.cjs') as AxiosStatic;

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('net: the vendored axios', () => {
  it('is the bundle, and sends a JSON request as the package does', async () => {
    expect(createRequire(import.meta.url).resolve('@smokestack/core/vendor/axios.cjs')).to.match(/\/packages\/core\/dist\/vendor\/axios\.cjs$/);
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ method: req.method, body: JSON.parse(body) })));
    });
    const port = await listen(server);
    try {
      const response = await axios.post(`http://127.0.0.1:${port}/x`, { a: 1 });
      expect(response.data).to.deep.equal({ method: 'POST', body: { a: 1 } });
    } finally {
      server.close();
    }
  });

  it('builds a multipart body with the form-data class it loads when first used', () => {
    const form = axios.toFormData({ change: '42', note: 'hello' }) as unknown as { getBoundary(): string; getBuffer(): Buffer };
    expect(form.getBoundary()).to.be.a('string');
    const text = form.getBuffer().toString();
    expect(text).to.contain('name="change"').and.to.contain('42').and.to.contain('name="note"');
  });

  it('tunnels HTTPS through a proxy with the agent class it loads when first used', async () => {
    const seen: string[] = [];
    const proxy = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        seen.push(chunk.toString().split('\r\n')[0]!);
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      });
    });
    const port = await listen(proxy);
    try {
      const failed = await axios.get('https://127.0.0.1:9443/', { proxy: { protocol: 'http', host: '127.0.0.1', port }, timeout: 5000 }).catch((err: unknown) => err);
      expect(failed).to.be.instanceOf(Error);
      expect(seen).to.deep.equal(['CONNECT 127.0.0.1:9443 HTTP/1.1']);
    } finally {
      proxy.close();
    }
  });
});
