import { expect } from 'chai';
import { gerritSshWord, parseSshQueryOutput } from '../../src/gerrit/ssh.js';

describe('gerrit/ssh output', () => {
  it('parses `gerrit query --format=JSON` rows and the stats line', () => {
    const out = [
      '{"project":"nova","branch":"master","id":"Ia","number":"11","subject":"A","owner":{"name":"X"},"status":"NEW","open":true,"currentPatchSet":{"number":"2","revision":"r2","ref":"refs/changes/11/11/2"}}',
      '{"project":"nova","branch":"master","id":"Ib","number":12,"subject":"B","status":"NEW","wip":true}',
      '{"id":"broken"}',
      '{"type":"stats","rowCount":3,"runTimeMilliseconds":4,"moreChanges":false}',
      '',
    ].join('\n');
    const { changes, stats, skipped } = parseSshQueryOutput(out);
    expect(changes.map((c) => [c.number, c.currentPatchSet.number, c.wip])).to.deep.equal([
      [11, 2, false],
      [12, 0, true],
    ]);
    expect(stats).to.deep.include({ rowCount: 3, moreChanges: false });
    expect(skipped).to.have.length(1);
  });

  it('turns an error line into an error', () => {
    expect(() => parseSshQueryOutput('{"type":"error","message":"permission denied"}\n')).to.throw('gerrit query: permission denied');
  });

  it('quotes words for the Gerrit command parser', () => {
    expect(gerritSshWord('--format=JSON')).to.equal('--format=JSON');
    expect(gerritSshWord('status:open project:nova')).to.equal("'status:open project:nova'");
    expect(gerritSshWord("it's")).to.equal('"it\'s"');
  });
});
