import { expect } from 'chai';
import { sourceLine } from '../../src/pipeline/report.js';

describe('pipeline/report', () => {
  it('names a source fetched from git by its ref and revision', () => {
    expect(sourceLine({ kind: 'build', name: 'nova', project: 'nova', url: 'u', ref: 'refs/changes/45/1045/2', revision: 'a1b2c3d4e5f6a7b8', changed: true })).to.equal(
      'Source nova: refs/changes/45/1045/2 at a1b2c3d4e5f6a7b8 (under test)',
    );
  });

  it('names a local checkout by its HEAD and how many uncommitted files went in, not by the throwaway commit', () => {
    const line = sourceLine({
      kind: 'build', name: 'demoapp', project: 'demoapp', url: '/src/demoapp', ref: 'HEAD', revision: '99887766554433221100', localPath: '/src/demoapp',
      localHead: '4f93853e9450aabbccdd', uncommitted: ['NOTES.sh (added)', 'etc/demoapp.conf (modified)'], changed: true,
    });
    expect(line).to.equal('Source demoapp: /src/demoapp at 4f93853e9450 with 2 uncommitted file(s), built as 998877665544 (under test)');
  });

  it('names a directory that is no checkout as shipped as it is', () => {
    expect(sourceLine({ kind: 'build', name: 'demoapp', project: 'demoapp', url: '/ex/demo-project', ref: 'HEAD', revision: 'abcdefabcdefabcdef', localPath: '/ex/demo-project', changed: false })).to.equal(
      'Source demoapp: the directory /ex/demo-project as it is, built as abcdefabcdef',
    );
  });
});
