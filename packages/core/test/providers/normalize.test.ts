import { expect } from 'chai';
import { GroupDefinitionSchema, normalizeGroupDefinition, groupNameForJob, parseAge, planSweep, renderHostsFile, type ServerGroup } from '@smokestack/core';

const parse = (data: unknown) => GroupDefinitionSchema.parse(data);
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

describe('group definitions', () => {
  it('reads Kytoon servers into hosts with the gateway, image and flavor', () => {
    const hosts = normalizeGroupDefinition(
      parse({
        name: 'nova',
        servers: [
          { hostname: 'login', gateway: 'true', image_ref: 'debian-12', flavor_ref: 2 },
          { hostname: 'nova1', image_ref: 'debian-12', flavor_ref: 3, memory: 4096 },
        ],
      }),
      'nova.json',
    );
    expect(hosts).to.deep.equal([
      { name: 'login', roles: [], gateway: true, image: 'debian-12', flavor: '2' },
      { name: 'nova1', roles: [], gateway: false, image: 'debian-12', flavor: '3' },
    ]);
  });

  it('makes a lone host the gateway and applies group-level defaults to ssh hosts', () => {
    const [host] = normalizeGroupDefinition(parse({ provider: 'ssh', user: 'ci', identityFile: '/k', hosts: [{ name: 'box', address: '10.0.0.5' }] }));
    expect(host).to.deep.equal({ name: 'box', roles: [], gateway: true, address: '10.0.0.5', port: 22, user: 'ci', identityFile: '/k' });
  });

  it('names the file and key path of every mistake in one line', () => {
    const two = [{ name: 'a', gateway: true }, { name: 'b', gateway: true }];
    expect(errorOf(() => normalizeGroupDefinition(parse({ hosts: two }), 'g.yaml'))).to.equal('g.yaml: hosts[1].gateway: more than one gateway (also hosts[0])');
    expect(errorOf(() => normalizeGroupDefinition(parse({ hosts: [{ name: 'a' }, { name: 'b' }] }), 'g.yaml'))).to.equal('g.yaml: hosts: no gateway among 2 hosts');
    expect(errorOf(() => normalizeGroupDefinition(parse({ hosts: [{ name: 'a', gateway: true }, { name: 'a' }] }), 'g.yaml'))).to.equal(
      'g.yaml: hosts[1].name: duplicate host name "a" (also hosts[0])',
    );
    expect(errorOf(() => normalizeGroupDefinition(parse({ servers: [{ hostname: 'x_y' }] }), 'k.json'))).to.match(/^k\.json: servers\[0\]\.hostname: expected a host name/);
    expect(errorOf(() => normalizeGroupDefinition(parse({ provider: 'ssh', hosts: [{ name: 'a' }] }), 'g.yaml'))).to.equal('g.yaml: hosts[0].address: the ssh provider needs the address of host "a"');
    expect(errorOf(() => normalizeGroupDefinition(parse({ name: 'x' }), 'g.yaml'))).to.equal('g.yaml: hosts: expected at least one host');
    expect(errorOf(() => normalizeGroupDefinition(parse({ hosts: [{ name: 'a' }], servers: [{ hostname: 'b' }] }), 'g.yaml'))).to.match(/^g\.yaml: servers: use either hosts/);
  });

  it('derives unique, valid group names for jobs', () => {
    expect(groupNameForJob('devstack', '42')).to.equal('devstack-42');
    expect(groupNameForJob('my template/x', '7')).to.equal('my-template-x-7');
  });

  it('parses sweep ages', () => {
    expect(parseAge('24h')).to.equal(86_400_000);
    expect(parseAge('90m')).to.equal(5_400_000);
    expect(parseAge('2d')).to.equal(172_800_000);
    expect(errorOf(() => parseAge('soon'))).to.equal('--older-than: "soon" is not an age');
  });

  it('plans a sweep: old groups, and old resources no live group owns', () => {
    const group = (name: string, createdAt: string, state: ServerGroup['state'] = 'ready'): ServerGroup => ({ name, provider: 'local', hosts: [], createdAt, state });
    const plan = planSweep(
      [group('old', '2026-01-01T00:00:00Z'), group('new', '2026-01-03T00:00:00Z')],
      [
        { provider: 'openstack', kind: 'server', id: 's1', group: 'new', createdAt: '2026-01-01T00:00:00Z' },
        { provider: 'openstack', kind: 'server', id: 's2', group: 'gone', createdAt: '2026-01-01T00:00:00Z' },
        { provider: 'openstack', kind: 'server', id: 's3', group: 'gone', createdAt: '2026-01-02T23:00:00Z' },
      ],
      new Date('2026-01-02T12:00:00Z'),
    );
    expect(plan.groups.map((g) => g.name)).to.deep.equal(['old']);
    expect(plan.orphans.map((r) => r.id)).to.deep.equal(['s2']);
  });

  it('renders the hosts file with the gateway first', () => {
    const group = {
      name: 'g',
      hosts: [
        { name: 'db', address: '10.0.0.2', port: 22, user: 'u', roles: [], gateway: false },
        { name: 'gw', address: '10.0.0.1', port: 22, user: 'u', roles: [], gateway: true },
      ],
    };
    expect(renderHostsFile(group)).to.equal('# server group g; gateway: gw\n10.0.0.1\tgw\n10.0.0.2\tdb\n');
  });
});
