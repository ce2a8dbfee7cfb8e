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

export interface CommitCuttingProxy {
  /** A database URL like `url`, through the proxy. */
  url: string;
  /** Cuts the next `count` COMMITs connections send (default one). */
  arm(count?: number): void;
  /** How many connections were cut at their COMMIT. */
  cuts(): number;
  close(): void;
}

/** A simple-protocol query message `COMMIT` as node-postgres sends it: 'Q', int32 length, text, NUL. */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

/**
 * A loopback TCP proxy in front of a PostgreSQL server that, once armed, cuts the next connection
 * sending COMMIT, as a server crash or a network failure at the worst moment does: `before` the
 * server receives it (the transaction is rolled back), `after` the server has committed and
 * answered (the client never hears that it did), or `held`: the client's side is cut while the
 * server's side stays open with the COMMIT not yet delivered (a network partition; the server
 * still holds the session, its transaction open). Everything else passes untouched.
 */
export async function commitCuttingProxy(url: string, when: 'before' | 'after' | 'held'): Promise<CommitCuttingProxy> {
  const target = new URL(url);
  let cut = 0;
  let armed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    let cutting = false;
    client.on('data', (chunk: Buffer) => {
      if (armed > 0 && chunk.includes(COMMIT_MESSAGE)) {
        armed--;
        cut++;
        cutting = true;
        if (when === 'before') {
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        if (when === 'held') {
          // The server's side outlives the client's: it ends only when the server ends the session.
          client.removeAllListeners('close');
          client.resetAndDestroy();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      // The server's answer to COMMIT is dropped with the connection: the commit has happened.
      if (cutting) {
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (client.writable) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    url: proxied.toString(),
    arm: (count = 1) => void (armed = count),
    cuts: () => cut,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
