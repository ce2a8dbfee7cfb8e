import { expect } from 'chai';
import { printable } from '../../src/log/terminal.js';

describe('log/terminal printable', () => {
  it('removes escape sequences of every kind and control characters, keeping tabs and newlines', () => {
    expect(printable('a\u001b]0;title\u0007b\u001b]8;;http://x\u001b\\c\u001b[2Jd\u001b[31me\u009b1mf\u001bPdcs\u001b\\g')).to.equal('abcdefg');
    expect(printable('x\ty\nz\r\u0000\u0008\u007f\u202eq')).to.equal('x\ty\nzq');
  });

  it('keeps colour codes only when asked, and still strips everything else', () => {
    expect(printable('\u001b[36mhead\u001b[39m \u001b]0;t\u0007x', { keepColour: true })).to.equal('\u001b[36mhead\u001b[39m x');
    expect(printable('\u001b[36mhead\u001b[39m')).to.equal('head');
  });
});
