import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { containerNames, listContainerRecords, newContainerId, overlappingDevices, pickAddress, pidsInNamespace, writeContainerRecord, type ContainerRecord } from '@smokestack/core';

describe('container records and addresses', () => {
  it('hands out the lowest free address of 10.213.0.2-126 (the lower half of 10.213.0.0/24) and none when all are taken', () => {
    expect(pickAddress([])).to.equal('10.213.0.2');
    expect(pickAddress(['10.213.0.2', '10.213.0.4'])).to.equal('10.213.0.3');
    const all = Array.from({ length: 125 }, (_, i) => `10.213.0.${i + 2}`);
    expect(pickAddress(all)).to.equal(undefined);
  });

  it('another network in the upper half of 10.213.0.0/24 is no conflict; one overlapping the containers\' half is, named', () => {
    // `ip -4 -o addr show` lines, as iproute2 prints them.
    const line = (n: number, dev: string, cidr: string) => `${n}: ${dev}    inet ${cidr} brd 10.213.0.255 scope global ${dev}\\       valid_lft forever preferred_lft forever`;
    const machine = [line(1, 'lo', '127.0.0.1/8'), line(2, 'eth0', '192.168.1.5/24'), line(7, 'smokestack0', '10.213.0.1/25')];
    expect(overlappingDevices([...machine, line(289, 'ssfacef61e8', '10.213.0.225/28')])).to.deep.equal([]);
    expect(overlappingDevices([...machine, line(12, 'br-lab', '10.213.0.100/30')])).to.deep.equal(['br-lab (10.213.0.100/30)']);
    expect(overlappingDevices([...machine, line(13, 'wide0', '10.213.0.200/24'), line(14, 'wide1@if3', '10.0.0.1/8')])).to.deep.equal(['wide0 (10.213.0.200/24)', 'wide1 (10.0.0.1/8)']);
  });

  it('names every piece of a container after its id, within the kernel\'s 15-character interface names', () => {
    const id = newContainerId();
    const names = containerNames(id, '/r');
    expect(names).to.include({ dir: `/r/${id}`, netns: id, rootfs: `/r/${id}/rootfs` });
    expect(names.veth.length).to.be.at.most(15);
    expect(() => containerNames('../../etc', '/r')).to.throw(/not a container id/);
  });

  it('lists recorded containers, and a directory whose record is unreadable as broken (so sweep still finds it)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-containers-'));
    try {
      const record: ContainerRecord = {
        id: newContainerId(),
        store: '/s/state.json',
        storeDir: '/s',
        group: 'g',
        host: 'h1',
        address: '10.213.0.2',
        image: { name: 'default', key: 'k', rootfs: '/i' },
        runtime: 'nspawn',
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      writeContainerRecord(record, root);
      const broken = newContainerId();
      fs.mkdirSync(path.join(root, broken));
      fs.mkdirSync(path.join(root, 'not-ours'));
      const listed = listContainerRecords(root);
      expect(listed).to.have.length(2);
      expect(listed).to.deep.include(record);
      expect(listed.find((c) => c.id === broken)).to.include({ broken: true });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("finds the processes in a network namespace as `ip netns pids` does, and none once they are gone or the namespace is", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const netns = `ss-test-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', netns]);
    const sleepers = [spawn('ip', ['netns', 'exec', netns, 'sleep', '30']), spawn('ip', ['netns', 'exec', netns, 'sleep', '30'])];
    try {
      const ipSays = () => execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number).sort();
      for (let i = 0; i < 100 && ipSays().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(ipSays()).to.have.length(2);
      expect(pidsInNamespace(netns).sort()).to.deep.equal(ipSays());
      expect(pidsInNamespace(netns)).to.not.include(process.pid);
      for (const child of sleepers) child.kill('SIGKILL');
      await Promise.all(sleepers.map((child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)))));
      expect(pidsInNamespace(netns)).to.deep.equal([]);
    } finally {
      for (const child of sleepers) child.kill('SIGKILL');
      execFileSync('ip', ['netns', 'del', netns]);
    }
    expect(pidsInNamespace(netns)).to.deep.equal([]);
  });
});
