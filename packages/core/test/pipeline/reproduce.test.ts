import { expect } from 'chai';
import { TemplateSchema } from '../../src/config/schema.js';
import { reproduceJob } from '../../src/pipeline/reproduce.js';
import { templateSources } from '../../src/pipeline/plan.js';
import { emptySummary, type Job } from '../../src/model.js';

const definition = TemplateSchema.parse({
  group: 'groups/pair.yaml',
  builds: [{ name: 'demoapp', url: 'https://git.example.org/demoapp' }],
  puppet: { modules: [{ name: 'demoapp', project: 'puppet-demoapp', url: 'https://git.example.org/puppet-demoapp' }] },
});

const job = (sources: Job['sources']): Job => ({
  id: 'j9', configId: 'c1', project: 'demoapp', number: 45, patchSet: 2, revision: 'a1', template: 'demo', status: 'success', attempt: 1,
  createdAt: '2024-01-01T00:00:00Z', summary: emptySummary(), skipped: [], message: '', logDir: 'jobs/j9', sources,
});

describe('pipeline/reproduce', () => {
  it('pins every source at its recorded revision, naming the URL only where the change came from elsewhere', () => {
    const r = reproduceJob(
      job([
        { kind: 'build', name: 'demoapp', project: 'demoapp', url: 'https://review.example.org/demoapp', ref: 'refs/changes/45/45/2', revision: 'a1b2c3', changed: true },
        { kind: 'module', name: 'demoapp', project: 'puppet-demoapp', url: 'https://git.example.org/puppet-demoapp', ref: 'master', revision: 'd4e5f6', changed: false },
      ]),
      templateSources(definition),
    );
    expect(r.argv).to.deep.equal([
      'firestack', 'run', '--template', 'demo',
      '--change', 'demoapp=https://review.example.org/demoapp#a1b2c3',
      '--change', 'puppet-demoapp=d4e5f6',
    ]);
    expect(r.command).to.equal("firestack run --template demo --change 'demoapp=https://review.example.org/demoapp#a1b2c3' --change puppet-demoapp=d4e5f6");
  });

  it('repeats the job’s combination of axes and the changes merged into a source (Depends-On), each at its revision', () => {
    const r = reproduceJob(
      {
        ...job([
          {
            kind: 'build', name: 'demoapp', project: 'demoapp', url: 'https://git.example.org/demoapp', ref: 'refs/changes/45/45/2', revision: 'a1b2c3', changed: true,
            merges: [{ name: 'demoapp change 44,1', url: 'https://git.example.org/demoapp', ref: 'refs/changes/44/44/1', revision: 'beef01' }],
          },
        ]),
        configuration: { port: '9090', greeting: 'Howdy' },
      },
      templateSources(definition),
    );
    expect(r.argv).to.deep.equal([
      'firestack', 'run', '--template', 'demo', '--axis', 'greeting=Howdy', '--axis', 'port=9090',
      '--change', 'demoapp=a1b2c3', '--change', 'demoapp=https://git.example.org/demoapp#beef01',
    ]);
  });

  it('quotes hostile values so the printed line is safe to paste', () => {
    const r = reproduceJob({ ...job([{ kind: 'build', name: 'x', project: "p'; rm -rf ~ #", url: 'u', ref: 'r', revision: 'abc', changed: true }]), template: 't$(id)' });
    expect(r.command).to.equal(`firestack run --template 't$(id)' --change 'p'"'"'; rm -rf ~ #=u#abc'`);
  });

  it('says so when a source came from a local checkout or was never fetched', () => {
    const r = reproduceJob(job([
      { kind: 'build', name: 'demoapp', project: 'demoapp', url: '/home/alice/demoapp', ref: 'HEAD', revision: 'abc', localPath: '/home/alice/demoapp', changed: true },
      { kind: 'module', name: 'demoapp', project: 'puppet-demoapp', url: 'https://git.example.org/puppet-demoapp', ref: 'master', changed: false },
    ]), templateSources(definition));
    expect(r.changes).to.deep.equal(['demoapp=/home/alice/demoapp', 'puppet-demoapp=master']);
    expect(r.notes.join('\n')).to.match(/local checkout \/home\/alice\/demoapp at abc/).and.to.match(/no revision was recorded/);
  });

  it('names the config file by its absolute path, so the line works in any directory', () => {
    const r = reproduceJob(job([]), undefined, { configPath: 'conf/smokestack.yaml' });
    expect(r.argv.slice(0, 4)).to.deep.equal(['firestack', 'run', '--config', `${process.cwd()}/conf/smokestack.yaml`]);
    expect(r.command).to.equal(`firestack run --config ${process.cwd()}/conf/smokestack.yaml --template demo`);
    expect(reproduceJob(job([]), undefined, { configPath: "/etc/smoke stack/it's.yaml" }).command).to.equal(
      `firestack run --config '/etc/smoke stack/it'"'"'s.yaml' --template demo`,
    );
  });

  it('names the uncommitted files a local checkout shipped, and leaves a template\'s own directory to the template', () => {
    const r = reproduceJob(job([
      { kind: 'build', name: 'demoapp', project: 'demoapp', url: '/home/alice/demoapp', ref: 'HEAD', revision: 'snap1', localPath: '/home/alice/demoapp', localHead: 'abc', uncommitted: ['a.c (modified)', 'b.c (added)'], changed: true },
      { kind: 'build', name: 'docs', project: 'docs', url: '/srv/examples/docs', ref: 'HEAD', revision: 'snap2', localPath: '/srv/examples/docs', changed: false },
    ]));
    expect(r.changes).to.deep.equal(['demoapp=/home/alice/demoapp']);
    expect(r.notes).to.deep.equal([
      'demoapp came from the local checkout /home/alice/demoapp at abc with uncommitted changes to a.c (modified), b.c (added); the run ships that checkout as it is then',
      'docs is the directory /srv/examples/docs, shipped as it is when the run starts',
    ]);
  });
});
