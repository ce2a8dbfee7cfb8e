import { expect } from 'chai';
import { changeFromEvent, commentBody, eventActor, eventKey, isRecheck, parseStreamEvent } from '../../src/gerrit/events.js';

const RECHECK = '^\\s*recheck(\\s+smokestack)?\\s*$';

/** Lines as `gerrit stream-events` prints them. */
const PATCHSET_CREATED =
  '{"uploader":{"name":"John Doe","email":"jd@example.com","username":"jdoe"},"patchSet":{"number":2,"revision":"b2","parents":["a"],"ref":"refs/changes/45/12345/2","uploader":{"name":"John Doe","username":"jdoe"},"createdOn":1763709510,"author":{"name":"John Doe"},"kind":"REWORK","sizeInsertions":3,"sizeDeletions":0},"change":{"project":"nova","branch":"master","id":"Iabc","number":12345,"subject":"Fix","owner":{"name":"John Doe","username":"jdoe"},"url":"https://review.example.org/c/nova/+/12345","commitMessage":"Fix\\n","createdOn":1763709000,"status":"NEW"},"project":"nova","refName":"refs/heads/master","changeKey":{"id":"Iabc"},"type":"patchset-created","eventCreatedOn":1763709511}';
const COMMENT_ADDED =
  '{"author":{"name":"Alice","username":"alice"},"approvals":[{"type":"Code-Review","description":"Code-Review","value":"0"}],"comment":"Patch Set 2:\\n\\nrecheck","patchSet":{"number":"2","revision":"b2"},"change":{"project":"nova","branch":"master","number":"12345"},"type":"comment-added","eventCreatedOn":"1763709600"}';

describe('gerrit/events', () => {
  it('parses stream lines and rejects junk', () => {
    const event = parseStreamEvent(PATCHSET_CREATED)!;
    expect(event.type).to.equal('patchset-created');
    expect(event.change?.number).to.equal(12345);
    expect(parseStreamEvent('')).to.equal(undefined);
    expect(parseStreamEvent('not json')).to.equal(undefined);
    expect(parseStreamEvent('[1,2]')).to.equal(undefined);
    expect(parseStreamEvent('{"no":"type"}')).to.equal(undefined);
  });

  it('keys events by type, change, patch set, time and author, numbers as strings or not', () => {
    const a = parseStreamEvent(COMMENT_ADDED)!;
    const b = parseStreamEvent(COMMENT_ADDED.replace('"12345"', '12345').replace('"1763709600"', '1763709600'))!;
    expect(eventKey(a)).to.match(/^comment-added\|nova\|12345\|2\|1763709600\|alice\|[0-9a-f]{12}$/);
    expect(eventKey(b)).to.equal(eventKey(a));
    expect(eventKey(parseStreamEvent(PATCHSET_CREATED)!)).to.equal('patchset-created|nova|12345|2|1763709511|jdoe');
  });

  it('tells apart two events of one second that reach different states', () => {
    const wip = (state: boolean) => eventKey({ type: 'wip-state-changed', change: { project: 'nova', number: 1, wip: state }, patchSet: { number: 1 }, changer: { username: 'a' }, eventCreatedOn: 5 });
    expect(wip(true)).to.not.equal(wip(false));
    const comment = (text: string) => eventKey({ type: 'comment-added', change: { project: 'nova', number: 1 }, author: { username: 'a' }, comment: text, eventCreatedOn: 5 });
    expect(comment('recheck')).to.equal(comment('recheck'));
    expect(comment('recheck')).to.not.equal(comment('looks good'));
  });

  it('finds the actor whatever the event calls it', () => {
    expect(eventActor({ type: 'change-abandoned', abandoner: { username: 'bob' } }).username).to.equal('bob');
    expect(eventActor({ type: 'wip-state-changed', changer: { username: 'carol' } }).username).to.equal('carol');
    expect(eventActor({ type: 'change-merged', submitter: { name: 'Dan' } }).name).to.equal('Dan');
  });

  it('recognises a recheck after the Patch Set header, and nothing else', () => {
    expect(commentBody('Patch Set 2: Code-Review+1\n\nrecheck')).to.equal('recheck');
    expect(isRecheck('Patch Set 2:\n\nrecheck', RECHECK)).to.equal(true);
    expect(isRecheck('recheck smokestack', RECHECK)).to.equal(true);
    expect(isRecheck('Patch Set 3:\n\nLooks good.\nrecheck\n', RECHECK)).to.equal(true);
    expect(isRecheck('Patch Set 3:\n\nplease do not recheck yet', RECHECK)).to.equal(false);
    expect(isRecheck('Patch Set 3: Verified-1', RECHECK)).to.equal(false);
    expect(isRecheck(undefined, RECHECK)).to.equal(false);
  });

  it("keeps a comment-added event's votes, which Gerrit sends at the event's top level", () => {
    // As cmd-stream-events documents it: change, patchSet, author, approvals, comment.
    const event = parseStreamEvent(
      JSON.stringify({
        type: 'comment-added',
        eventCreatedOn: 1_790_000_000,
        change: { project: 'nova', branch: 'master', id: 'I1', number: 8778, subject: 's', owner: { username: 'jdoe' }, status: 'NEW' },
        patchSet: { number: 3, revision: 'a'.repeat(40), ref: 'refs/changes/78/8778/3' },
        author: { name: 'Alice', username: 'alice' },
        approvals: [
          { type: 'Code-Review', description: 'Code-Review', value: '2', oldValue: '0', grantedOn: 1_790_000_000, by: { username: 'alice' } },
          { type: 'Verified', description: 'Verified', value: '0' },
        ],
        comment: 'Patch Set 3: Code-Review+2\n\nLooks good',
      }),
    )!;
    const change = changeFromEvent(event);
    expect(change.currentPatchSet.number).to.equal(3);
    expect(change.approvals.map((a) => [a.label, a.value, a.by?.username])).to.deep.equal([['Code-Review', 2, 'alice']]);
  });
});
