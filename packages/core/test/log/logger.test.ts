import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Logger } from '@smokestack/core';
import { secretsInEnvironment } from '../../src/log/secrets.js';

function capture(options: { tty?: boolean; verbose?: boolean } = {}): { logger: Logger; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (chunk) => (out += chunk));
  const logger = new Logger({ stream, tty: options.tty ?? false, verbose: options.verbose, now: () => new Date('2026-11-22T10:00:00Z') });
  return { logger, text: () => out };
}

describe('Logger', () => {
  it('prints plain timestamped lines without a TTY (cron, CI)', () => {
    const { logger, text } = capture();
    logger.child('web1').info('apt-get update\ndone');
    logger.warn('slow host');
    expect(text()).to.equal(
      '2026-11-22T10:00:00.000Z [web1] apt-get update\n2026-11-22T10:00:00.000Z [web1] done\n2026-11-22T10:00:00.000Z warn: slow host\n',
    );
  });

  it('never prints a registered secret, in any logger derived from it', () => {
    const { logger, text } = capture();
    logger.addSecret('hunter2-password');
    logger.child('gerrit').info('auth with hunter2-password failed');
    logger.error('hunter2-password');
    expect(text()).to.not.contain('hunter2-password');
    expect(text()).to.contain('auth with *** failed');
  });

  it('strips escape sequences and control characters from what it prints (remote output, Gerrit data)', () => {
    const { logger, text } = capture();
    logger.child('web1').info('subject \u001b]0;pwned\u0007Fix\u001b[2J it\r');
    expect(text()).to.equal('2026-11-22T10:00:00.000Z [web1] subject Fix it\n');
  });

  it('masks secrets found in the environment by their name, and passwords inside URLs', () => {
    const found = secretsInEnvironment({ GERRIT_HTTP_PASSWORD: 'pw-1', OS_APPLICATION_CREDENTIAL_SECRET: 's-2', GITHUB_TOKEN: 't-3', PATH: '/bin', https_proxy: 'http://me:p%40ss@proxy:3128' });
    expect(found).to.have.members(['pw-1', 's-2', 't-3', 'p%40ss', 'p@ss']);
  });

  it('shows debug lines only when verbose', () => {
    const quiet = capture();
    quiet.logger.debug('detail');
    expect(quiet.text()).to.equal('');
    const loud = capture({ verbose: true });
    loud.logger.debug('detail');
    expect(loud.text()).to.contain('debug: detail');
  });

  it('runs steps in order with timestamped progress when there is no TTY', async () => {
    const { logger, text } = capture();
    const order: string[] = [];
    await logger.steps(
      [
        { title: 'provision', run: () => void order.push('provision') },
        { title: 'build', run: (_ctx, log) => void (order.push('build'), log.info('dpkg-buildpackage')) },
      ],
      {},
    );
    expect(order).to.deep.equal(['provision', 'build']);
    const lines = text().trim().split('\n');
    expect(lines.every((l) => l.startsWith('2026-11-22T10:00:00.000Z '))).to.equal(true);
    expect(lines.map((l) => l.slice(25).replace(/\(\d+ ms\)/, '(N ms)'))).to.deep.equal([
      '> provision',
      'ok provision (N ms)',
      '> build',
      '[build] dpkg-buildpackage',
      'ok build (N ms)',
    ]);
  });

  it('stops at the first failing step and reports its error', async () => {
    const { logger } = capture();
    const ran: string[] = [];
    const err = await logger
      .steps(
        [
          { title: 'a', run: () => { throw new Error('a failed'); } },
          { title: 'b', run: () => void ran.push('b') },
        ],
        {},
      )
      .then(() => undefined, (e: Error) => e);
    expect(err?.message).to.equal('a failed');
    expect(ran).to.deep.equal([]);
  });
});
