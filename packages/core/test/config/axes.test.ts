import { expect } from 'chai';
import { chooseConfiguration, combinations, configurationLabel, parseAxisSpec, sameConfiguration } from '../../src/config/axes.js';
import { TemplateSchema } from '../../src/config/schema.js';
import { parseOrThrow } from '../../src/config/validate.js';
import { UserError } from '../../src/errors.js';

const AXES = { database: ['mysql', 'postgresql'], hypervisor: ['libvirt', 'qemu'] };

describe('config/axes: combinations of a template’s axes', () => {
  it('gives every combination, the first axis varying slowest', () => {
    expect(combinations(AXES).map(configurationLabel)).to.deep.equal([
      'database=mysql, hypervisor=libvirt',
      'database=mysql, hypervisor=qemu',
      'database=postgresql, hypervisor=libvirt',
      'database=postgresql, hypervisor=qemu',
    ]);
  });

  it('a template without axes is one job without a combination', () => {
    expect(combinations({})).to.deep.equal([{}]);
    expect(configurationLabel({})).to.equal('');
    expect(configurationLabel(undefined)).to.equal('');
  });

  it('an exclusion removes every combination it matches, whether it names one axis or all', () => {
    expect(combinations(AXES, [{ database: 'mysql', hypervisor: 'qemu' }]).map(configurationLabel)).to.deep.equal([
      'database=mysql, hypervisor=libvirt',
      'database=postgresql, hypervisor=libvirt',
      'database=postgresql, hypervisor=qemu',
    ]);
    expect(combinations(AXES, [{ hypervisor: 'qemu' }]).map(configurationLabel)).to.deep.equal(['database=mysql, hypervisor=libvirt', 'database=postgresql, hypervisor=libvirt']);
  });

  it('labels a combination the same whatever order its keys come back in (a database may reorder them)', () => {
    expect(configurationLabel({ hypervisor: 'qemu', database: 'mysql' })).to.equal('database=mysql, hypervisor=qemu');
    expect(sameConfiguration({ hypervisor: 'qemu', database: 'mysql' }, { database: 'mysql', hypervisor: 'qemu' })).to.equal(true);
    expect(sameConfiguration(undefined, {})).to.equal(true);
  });

  it('a run names some axes; the others take the first value that is not excluded', () => {
    const definition = { axes: AXES, exclude: [{ database: 'postgresql', hypervisor: 'libvirt' }] };
    expect(chooseConfiguration('nova', definition, {})).to.deep.equal({ database: 'mysql', hypervisor: 'libvirt' });
    expect(chooseConfiguration('nova', definition, { database: 'postgresql' })).to.deep.equal({ database: 'postgresql', hypervisor: 'qemu' });
    expect(() => chooseConfiguration('nova', definition, { database: 'postgresql', hypervisor: 'libvirt' })).to.throw(UserError, /template nova excludes that combination/);
    expect(() => chooseConfiguration('nova', definition, { os: 'debian' })).to.throw(UserError, /template nova has no axis "os"/);
    expect(() => chooseConfiguration('nova', definition, { database: 'mongodb' })).to.throw(UserError, /not a value of axis database/);
    expect(chooseConfiguration('plain', { axes: {}, exclude: [] }, {})).to.deep.equal({});
  });

  it('reads --axis AXIS=VALUE, and refuses anything else in one line', () => {
    expect(parseAxisSpec('database=postgresql')).to.deep.equal(['database', 'postgresql']);
    expect(() => parseAxisSpec('database')).to.throw(UserError, /expected AXIS=VALUE/);
    expect(() => parseAxisSpec('Database=x')).to.throw(UserError, /expected AXIS=VALUE/);
    expect(() => parseAxisSpec("database=x'; rm -rf /")).to.throw(UserError, /expected AXIS=VALUE/);
  });
});

describe('config/schema: axes and exclusions', () => {
  const parse = (extra: Record<string, unknown>) => parseOrThrow(TemplateSchema, { suites: [{ name: 's', command: 'true' }], ...extra }, 'smokestack.yaml');
  const refusal = (extra: Record<string, unknown>): string => {
    try {
      parse(extra);
    } catch (err) {
      expect(err).to.be.instanceOf(UserError);
      return (err as Error).message;
    }
    return expect.fail('expected the template to be refused');
  };

  it('accepts axes with exclusions, and defaults to none', () => {
    expect(parse({ axes: AXES, exclude: [{ database: 'mysql', hypervisor: 'qemu' }] })).to.deep.include({ axes: AXES, exclude: [{ database: 'mysql', hypervisor: 'qemu' }] });
    expect(parse({})).to.deep.include({ axes: {}, exclude: [] });
  });

  it('refuses an exclusion naming an axis or value that is not declared, naming where', () => {
    expect(refusal({ axes: AXES, exclude: [{ os: 'debian' }] })).to.equal('smokestack.yaml: exclude[0].os: no axis "os" is declared under axes');
    expect(refusal({ axes: AXES, exclude: [{ database: 'mongodb' }] })).to.equal('smokestack.yaml: exclude[0].database: "mongodb" is not a value of axis database (mysql, postgresql)');
  });

  it('refuses exclusions that leave nothing to run, values given twice, and names that cannot be facts', () => {
    expect(refusal({ axes: AXES, exclude: [{ database: 'mysql' }, { database: 'postgresql' }] })).to.equal('smokestack.yaml: exclude: excludes every combination of the axes');
    expect(refusal({ axes: { database: ['mysql', 'mysql'] } })).to.equal('smokestack.yaml: axes.database: expected each value once');
    expect(refusal({ axes: { 'Data-Base': ['mysql'] } })).to.equal('smokestack.yaml: axes.Data-Base: expected an axis name (lower-case letters, digits, _)');
    expect(refusal({ axes: { database: ['my sql'] } })).to.match(/^smokestack.yaml: axes.database\[0\]: expected an axis value/);
    expect(refusal({ axes: { database: [] } })).to.equal('smokestack.yaml: axes.database: expected at least 1 item(s)');
  });

  it('refuses a matrix too large to be meant', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `v${i}`);
    expect(refusal({ axes: { a: ten, b: ten } })).to.equal('smokestack.yaml: axes: 100 combinations; at most 64');
  });
});
