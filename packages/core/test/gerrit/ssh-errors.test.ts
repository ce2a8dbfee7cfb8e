import { expect } from 'chai';
import { GerritSshClient, generateSshKeyPair } from '@smokestack/core';
import { GerritSim, resettingProxy, uncaughtDuring } from '@smokestack/testkit';

describe('Gerrit SSH client: late socket errors', function () {
  this.timeout(30_000);
  let sim: GerritSim;
  before(async () => (sim = await GerritSim.start()));
  after(async () => sim?.stop());

  it('refuses a wrong pinned host key, and a reset arriving afterwards cannot crash bellows', async () => {
    const proxy = await resettingProxy(sim.sshPort);
    const wrongKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOw0bR9Tq1bqG3tq3pBe1rUJm5Gu5fJQ3z1rQ9vWm6Tb';
    const client = new GerritSshClient({
      host: '127.0.0.1',
      port: proxy.port,
      username: 'smokestack',
      privateKey: generateSshKeyPair().private,
      hostKeyPolicy: { kind: 'pinned', hostKey: wrongKey },
    });
    try {
      const unhandled = await uncaughtDuring(async () => {
        const error = await client.exec(['gerrit', 'version']).then(
          () => undefined,
          (err: Error) => err,
        );
        expect(error?.message).to.match(/^gerrit ssh: /);
        expect(error?.message).to.match(/host key/i);
        proxy.resetClients();
      });
      expect(unhandled.map(String)).to.deep.equal([]);
    } finally {
      proxy.close();
    }
  });
});
