import net from 'node:net';

export interface ResettingProxy {
  port: number;
  /** Resets every proxied connection (RST), as a host that vanishes or a middlebox does. */
  resetClients(): void;
  close(): void;
}

/**
 * A loopback TCP proxy to `port` that keeps each connection open after the client's FIN until
 * told to reset it: for testing that a late socket error never goes unheard.
 */
export async function resettingProxy(port: number): Promise<ResettingProxy> {
  const clients = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    clients.add(client);
    const upstream = net.connect(port, '127.0.0.1');
    upstreams.add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.writable && client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    resetClients: () => {
      for (const client of clients) client.resetAndDestroy();
    },
    close: () => {
      for (const socket of [...clients, ...upstreams]) socket.destroy();
      server.close();
    },
  };
}
