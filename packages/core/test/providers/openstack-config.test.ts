import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { UserError } from '../../src/errors.js';
import { findCloudsFile, loadCloudConfig } from '../../src/providers/openstack-config.js';

describe('openstack clouds.yaml, secure.yaml and OS_* loading', () => {
  let dir: string;
  let home: string;
  let cwd: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-clouds-'));
    home = path.join(dir, 'home');
    cwd = path.join(dir, 'work');
    fs.mkdirSync(path.join(home, '.config', 'openstack'), { recursive: true });
    fs.mkdirSync(cwd);
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };

  const userClouds = `clouds:
  ci:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: ci-bot
      project_name: ci
      user_domain_name: Users
      project_domain_name: Projects
    region_name: RegionTwo
    interface: internal
    verify: false
  other:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org/identity
      application_credential_id: ac-1
      application_credential_secret: ac-secret
`;

  it('reads the named cloud from ~/.config/openstack and merges the password from secure.yaml beside it', () => {
    write(path.join(home, '.config', 'openstack', 'clouds.yaml'), userClouds);
    write(path.join(home, '.config', 'openstack', 'secure.yaml'), 'clouds:\n  ci:\n    auth:\n      password: s3cret\n');
    const cloud = loadCloudConfig({ cloud: 'ci', env: { HOME: home }, cwd });
    expect(cloud).to.deep.include({ name: 'ci', authType: 'password', regionName: 'RegionTwo', interface: 'internal', verify: false });
    expect(cloud.auth).to.deep.include({
      authUrl: 'https://keystone.example.org:5000/v3',
      username: 'ci-bot',
      password: 's3cret',
      projectName: 'ci',
      userDomainName: 'Users',
      projectDomainName: 'Projects',
    });
    expect(cloud.source).to.equal(path.join(home, '.config', 'openstack', 'clouds.yaml'));
  });

  it('selects the cloud with OS_CLOUD and reads application credentials', () => {
    write(path.join(home, '.config', 'openstack', 'clouds.yaml'), userClouds);
    const cloud = loadCloudConfig({ env: { HOME: home, OS_CLOUD: 'other' }, cwd });
    expect(cloud.authType).to.equal('v3applicationcredential');
    expect(cloud.auth).to.deep.include({ applicationCredentialId: 'ac-1', applicationCredentialSecret: 'ac-secret' });
    expect(cloud.interface).to.equal('public');
  });

  it('searches OS_CLIENT_CONFIG_FILE first, then ./clouds.yaml, then ~/.config/openstack', () => {
    const userFile = write(path.join(home, '.config', 'openstack', 'clouds.yaml'), userClouds);
    expect(findCloudsFile({ HOME: home }, cwd)).to.equal(userFile);
    const local = write(path.join(cwd, 'clouds.yaml'), userClouds);
    expect(findCloudsFile({ HOME: home }, cwd)).to.equal(local);
    const explicit = write(path.join(dir, 'elsewhere.yaml'), userClouds);
    expect(findCloudsFile({ HOME: home, OS_CLIENT_CONFIG_FILE: explicit }, cwd)).to.equal(explicit);
    expect(() => findCloudsFile({ HOME: home, OS_CLIENT_CONFIG_FILE: path.join(dir, 'missing.yaml') }, cwd)).to.throw(UserError, /OS_CLIENT_CONFIG_FILE/);
  });

  it('builds the cloud from OS_* variables when no cloud is named', () => {
    const cloud = loadCloudConfig({
      env: {
        OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
        OS_USERNAME: 'admin',
        OS_PASSWORD: 'pw',
        OS_PROJECT_NAME: 'admin',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_REGION_NAME: 'RegionOne',
      },
      cwd,
    });
    expect(cloud).to.deep.include({ name: 'envvars', source: 'environment', authType: 'password', regionName: 'RegionOne', interface: 'public' });
    expect(cloud.auth).to.deep.include({ username: 'admin', password: 'pw', projectName: 'admin' });
    const app = loadCloudConfig({
      env: { OS_AUTH_URL: 'http://127.0.0.1:5000', OS_APPLICATION_CREDENTIAL_ID: 'id', OS_APPLICATION_CREDENTIAL_SECRET: 'sec' },
      cwd,
    });
    expect(app.authType).to.equal('v3applicationcredential');
  });

  it('names the file, the cloud and the missing key in one line, without printing secrets', () => {
    write(path.join(cwd, 'clouds.yaml'), userClouds);
    expect(() => loadCloudConfig({ cloud: 'nope', env: { HOME: home }, cwd })).to.throw(UserError, /clouds\.yaml: clouds\.nope: no such cloud/);
    expect(() => loadCloudConfig({ cloud: 'ci', env: { HOME: home }, cwd })).to.throw(UserError, /clouds\.ci: auth\.password is missing/);
    expect(() => loadCloudConfig({ env: { HOME: home }, cwd })).to.throw(UserError, /no OpenStack cloud selected/);
    expect(() => loadCloudConfig({ env: { OS_AUTH_URL: 'http://x/v3', OS_USERNAME: 'u', OS_PASSWORD: 'topsecret' }, cwd })).to.throw(
      UserError,
      /OS_PROJECT_NAME is missing/,
    );
    try {
      loadCloudConfig({ env: { OS_AUTH_URL: 'http://x/v3', OS_USERNAME: 'u', OS_PASSWORD: 'topsecret' }, cwd });
    } catch (err) {
      expect(String((err as Error).message)).not.to.contain('topsecret');
    }
    write(path.join(dir, 'bad.yaml'), 'clouds: [unclosed');
    expect(() => loadCloudConfig({ cloud: 'ci', env: { OS_CLIENT_CONFIG_FILE: path.join(dir, 'bad.yaml') }, cwd })).to.throw(UserError, /bad\.yaml: not valid YAML/);
  });
});
