import fs from 'node:fs';
import path from 'node:path';
import type { GerritSim } from '../gerrit/sim.js';
import type { SimFiles } from '../gerrit/types.js';
import type { LaunchpadSim } from '../launchpad/sim.js';

/** The two demo projects, both built from examples/: the application and its Puppet module. */
export const DEMO_APP = 'demo/demoapp';
export const DEMO_PUPPET = 'demo/demoapp-puppet';
export const DEMO_LAUNCHPAD = { [DEMO_APP]: 'demoapp', [DEMO_PUPPET]: 'demoapp-puppet' } as const;

/** What a demo change is expected to produce, so the end-to-end test can check every outcome. */
export type Expectation = 'success' | 'test_failed' | 'build_failed' | 'wip';

export interface DemoChange {
  key: string;
  project: string;
  number: number;
  expect: Expectation;
  topic?: string;
}

/** Reads a directory into simulator files, keeping the executable bit (scripts, debian/rules). */
export function projectFiles(dir: string, prefix = ''): SimFiles {
  const files: SimFiles = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, projectFiles(full, name));
    else if (entry.isFile()) {
      const executable = (fs.statSync(full).mode & 0o111) !== 0;
      files[name] = { content: fs.readFileSync(full, 'utf8'), executable };
    }
  }
  return files;
}

const DAY = 86_400_000;

/**
 * Seeds a realistic review queue: a dozen changes over the two demo projects, several patch sets,
 * bug and blueprint topics, a WIP change, a Code-Review -2, one change whose tests fail and one
 * whose package build fails. Launchpad gets the matching bugs and blueprints.
 */
export function seedDemo(sim: GerritSim, launchpad: LaunchpadSim, examplesDir: string, now = new Date()): DemoChange[] {
  const app = projectFiles(path.join(examplesDir, 'demo-project'));
  // The Puppet project is the demoapp module itself, as module repositories usually are.
  const puppet = projectFiles(path.join(examplesDir, 'puppet', 'modules', 'demoapp'));
  sim.createProject(DEMO_APP, { files: app });
  sim.createProject(DEMO_PUPPET, { files: puppet });
  const daysAgo = (days: number): Date => new Date(now.getTime() - days * DAY);
  const changes: DemoChange[] = [];
  const add: AddChange = (key, expect, input) => {
    const change = sim.createChange(input);
    changes.push({ key, project: input.project, number: change.number, expect, topic: input.topic });
    return change.number;
  };
  seedAppChanges(sim, app, add, daysAgo);
  seedPuppetChanges(add, daysAgo);
  seedLaunchpad(launchpad);
  return changes;
}

type AddChange = (key: string, expect: Expectation, input: Parameters<GerritSim['createChange']>[0]) => number;

/** Changes of the demo application: green ones, a failing test, a failing package build, a WIP and a vetoed one. */
function seedAppChanges(sim: GerritSim, app: SimFiles, add: AddChange, daysAgo: (days: number) => Date): void {
  const text = (file: SimFiles[string]): string => (typeof file === 'string' ? file : file.content);
  const exe = (content: string) => ({ content, executable: true });
  const demoapp = text(app['bin/demoapp']!);
  const version = add('version-flag', 'success', {
    project: DEMO_APP, subject: 'Print the version with --version too', owner: 'alice', topic: 'bug/1001', created: daysAgo(9),
    files: { 'bin/demoapp': exe(demoapp.replace('  version)', '  version|--version)')) },
  });
  sim.uploadPatchSet(version, {
    created: daysAgo(6),
    files: { 'bin/demoapp': exe(demoapp.replace('  version)', '  version|--version|-V)')) },
  });
  sim.comment(version, { author: 'bob', message: 'Nice, thanks.', labels: { 'Code-Review': 1 } });

  add('empty-lines', 'success', {
    project: DEMO_APP, subject: 'Ignore empty lines in demoapp.conf', owner: 'bob', topic: 'bug/1002', created: daysAgo(3),
    files: { 'etc/demoapp.conf': `${text(app['etc/demoapp.conf']!)}\n` },
  });

  const colour = add('colour', 'success', {
    project: DEMO_APP, subject: 'Document colour output', owner: 'carol', topic: 'bp/colour-output', created: daysAgo(12),
    files: { 'README.md': `${text(app['README.md'] ?? '')}\nColour output is planned.\n` },
  });
  sim.comment(colour, { author: 'alice', message: 'Ship it.', labels: { 'Code-Review': 2 } });

  add('greeting', 'test_failed', {
    project: DEMO_APP, subject: 'Shorter greeting without punctuation', owner: 'dave', topic: 'bug/1004', created: daysAgo(2),
    // Drops the comma the smoke suite's greeting test expects, whatever the managed config says.
    files: { 'bin/demoapp': exe(demoapp.replace('echo "$GREETING, ${2:-world}!"', 'echo "$GREETING ${2:-world}"')) },
  });

  add('packaging', 'build_failed', {
    project: DEMO_APP, subject: 'Switch packaging to a custom build step', owner: 'erin', created: daysAgo(1),
    files: { 'debian/rules': exe('#!/usr/bin/make -f\n%:\n\tdh $@\n\noverride_dh_auto_build:\n\t./configure --enable-everything\n') },
  });

  add('rewrite', 'wip', {
    project: DEMO_APP, subject: 'WIP: rewrite demoapp in Python', owner: 'frank', wip: true, created: daysAgo(20),
    files: { 'demoapp.py': 'print("Hello, world!")\n' },
  });

  const vetoed = add('legacy', 'success', {
    project: DEMO_APP, subject: 'Drop the legacy PORT variable', owner: 'grace', topic: 'bp/fast-start', created: daysAgo(15),
    files: { 'NOTES': 'PORT stays for now.\n' },
  });
  sim.comment(vetoed, { author: 'alice', message: 'We still need PORT for existing deployments.', labels: { 'Code-Review': -2 } });

  add('startup', 'success', {
    project: DEMO_APP, subject: 'Start faster by loading the config once', owner: 'heidi', topic: 'bp/fast-start', created: daysAgo(5),
    files: { 'CHANGES': 'Faster start-up.\n' },
  });
}

/** Changes of the demo Puppet module, all expected green. */
function seedPuppetChanges(add: AddChange, daysAgo: (days: number) => Date): void {
  add('config-mode', 'success', {
    project: DEMO_PUPPET, subject: 'Manage the mode of demoapp.conf explicitly', owner: 'ivan', topic: 'bug/1003', created: daysAgo(4),
    files: { 'CHANGES': 'demoapp.conf is 0644.\n' },
  });

  add('logrotate', 'success', {
    project: DEMO_PUPPET, subject: 'Plan a logrotate snippet', owner: 'judy', topic: 'logrotate', created: daysAgo(7),
    files: { 'TODO': 'logrotate snippet\n' },
  });

  add('readme', 'success', {
    project: DEMO_PUPPET, subject: 'Fix a typo in the module README', owner: 'mallory', created: daysAgo(8),
    files: { 'README.md': 'The demoapp Puppet module.\n' },
  });

  add('merged-soon', 'success', {
    project: DEMO_PUPPET, subject: 'Add module metadata tags', owner: 'alice', created: daysAgo(10),
    // A file no other open change touches: once this change merges, the others still merge cleanly onto the branch.
    files: { 'TAGS': 'metadata tags\n' },
  });
}

/** The bugs and blueprints the changes' topics name. */
function seedLaunchpad(launchpad: LaunchpadSim): void {
  launchpad
    .addBug({ id: 1001, title: 'demoapp has no --version', tasks: [{ target: 'demoapp', importance: 'High', status: 'Triaged' }] })
    .addBug({
      id: 1002,
      title: 'Empty lines in demoapp.conf',
      tasks: [
        { target: 'demoapp-puppet', importance: 'Low', status: 'New' },
        { target: 'demoapp', importance: 'Critical', status: 'Confirmed' },
      ],
    })
    .addBug({ id: 1003, title: 'demoapp.conf mode', tasks: [{ target: 'demoapp-puppet', importance: 'Medium', status: 'Triaged' }] })
    .addBug({ id: 1004, title: 'Greeting too formal', tasks: [{ target: 'demoapp', importance: 'Wishlist', status: 'New' }] })
    .addSpecification({ project: 'demoapp', name: 'colour-output', priority: 'Medium', title: 'Colour output' })
    .addSpecification({ project: 'demoapp', name: 'fast-start', priority: 'High', title: 'Fast start-up' })
    .addSpecification({ project: 'demoapp-puppet', name: 'logrotate', priority: 'Low', title: 'Log rotation' });
}

