import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { canCreateTestNetwork, createTestNetwork } from '../src/netns.js';

const run = promisify(execFile);

describe('test network: machines in network namespaces on a bridge', function () {
  this.timeout(60_000);
  before(function () {
    if (!canCreateTestNetwork()) this.skip();
  });

  it('each machine has its own address and host name, reaches a server on the host, and nothing is left after remove', async () => {
    const network = await createTestNetwork({ machines: 2 });
    const server = net.createServer((socket) => socket.end(`hello ${socket.remoteAddress}\n`));
    try {
      await new Promise<void>((resolve) => server.listen(0, network.hostAddress, resolve));
      const port = (server.address() as net.AddressInfo).port;
      const [a, b] = network.machines;
      const [cmd, ...args] = a!.command(['hostname']);
      const inA = await run(cmd!, args);
      expect(inA.stdout.split('\n')[0]).to.equal('machine1');
      const [cmd2, ...args2] = b!.command(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      expect((await run(cmd2!, args2)).stdout).to.contain(`${b!.address}/28`);
      const [cmd3, ...args3] = a!.command([process.execPath, '-e', `require('net').connect(${port}, '${network.hostAddress}').on('data', (d) => process.stdout.write(d))`]);
      expect((await run(cmd3!, args3)).stdout).to.equal(`hello ${a!.address}\n`);
    } finally {
      server.close();
      await network.remove();
    }
    const { stdout: namespaces } = await run('ip', ['netns', 'list']);
    for (const m of network.machines) expect(namespaces).to.not.contain(m.namespace);
    const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
    expect(links).to.not.contain(network.bridge);
  });
});
