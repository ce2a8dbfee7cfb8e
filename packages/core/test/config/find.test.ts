import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigSchema, defaultConfig, hasConfigFile, loadConfig } from '@smokestack/core';

describe('finding the config', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-config-find-'));
    env = { XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the embedded default is exactly what the schema makes of an empty config', () => {
    // Commands without a config file use the default without loading the validator; a new default in the schema must appear here too.
    expect(defaultConfig(dir)).to.deep.equal({ dir, config: ConfigSchema.parse({}) });
    expect(loadConfig({ env, cwd: dir })).to.deep.equal(defaultConfig(dir));
  });

  it('there is a config to read when one is named (even a missing one, to report it) or found in the working or XDG directory', () => {
    expect(hasConfigFile({ env, cwd: dir })).to.equal(false);
    expect(hasConfigFile({ flag: 'nope.yaml', env, cwd: dir })).to.equal(true);
    expect(hasConfigFile({ env: { ...env, SMOKESTACK_CONFIG: 'nope.yaml' }, cwd: dir })).to.equal(true);
    fs.mkdirSync(path.join(dir, 'xdg', 'smokestack'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'xdg', 'smokestack', 'smokestack.yaml'), 'projects: []\n');
    expect(hasConfigFile({ env, cwd: dir })).to.equal(true);
    const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
    fs.writeFileSync(path.join(cwd, 'smokestack.json'), '{}');
    expect(hasConfigFile({ env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'none') }, cwd })).to.equal(true);
  });
});
