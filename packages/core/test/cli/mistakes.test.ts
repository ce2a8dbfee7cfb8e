import { expect } from 'chai';
import { parseErrorLine, unknownCommandLine } from '@smokestack/core/cli';

const parseError = (name: string, fields: Record<string, unknown>) => Object.assign(Object.create({ constructor: { name } }) as object, { parse: {}, message: '', ...fields }) as Parameters<typeof parseErrorLine>[0];

describe('command-line mistakes', () => {
  it('names an unknown flag with the command and where its help is', () => {
    expect(parseErrorLine(parseError('NonExistentFlagsError', { flags: ['--bogus'] }), 'bellows', 'jobs:list')).to.equal('jobs list: unknown flag --bogus (see: bellows jobs list --help)');
  });

  it('names missing arguments the way the usage line spells them', () => {
    expect(parseErrorLine(parseError('RequiredArgsError', { args: [{ name: 'id' }] }), 'bellows', 'jobs:show')).to.equal('jobs show: missing argument ID (see: bellows jobs show --help)');
  });

  it('folds any other parse message onto one line without oclif\'s help pointer', () => {
    const message = 'The following error occurred:\n  --keep=true cannot also be provided when using --keep-on-failure\nSee more help with --help';
    expect(parseErrorLine(parseError('FailedFlagValidationError', { message }), 'firestack', 'run')).to.equal(
      'run: --keep=true cannot also be provided when using --keep-on-failure (see: firestack run --help)',
    );
  });

  it('suggests the command a typo meant, and only a close one', () => {
    const known = ['sync', 'fire', 'jobs:list', 'jobs:show'];
    expect(unknownCommandLine('synk', known, 'bellows')).to.equal('no command "synk"; did you mean "sync"? (see: bellows --help)');
    expect(unknownCommandLine('jobs:lst', known, 'bellows')).to.equal('no command "jobs lst"; did you mean "jobs list"? (see: bellows --help)');
    expect(unknownCommandLine('deploy-everything', known, 'bellows')).to.equal('no command "deploy-everything" (see: bellows --help)');
  });

  it('reads words after a command that takes no arguments as extra arguments', () => {
    expect(unknownCommandLine('report:extra:more', ['report'], 'reviewday')).to.equal('report: unexpected arguments "extra", "more" (see: reviewday report --help)');
  });
});
