import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../src/config.js';

describe('config', () => {
  it('uses documented defaults', () => {
    const c = loadConfig({}, { XDG_CONFIG_HOME: '/x/cfg', XDG_DATA_HOME: '/x/data' }, '/work/p');
    expect(c).toMatchObject({
      sandbox: false,
      readOnly: false,
      outputDir: undefined,
      pixelmuseBaseUrl: 'https://www.pixelmuse.studio',
      modelslabBaseUrl: 'https://modelslab.com',
      stripeApiBase: 'https://api.stripe.com',
      home: '/x/cfg/atelier-mcp',
      credentialStore: 'auto',
      maxUsdPerCall: 50,
      maxUsdPerDay: 100,
      autoApproveUsd: 0,
      dataDir: '/x/data/atelier-mcp',
    });
    expect(c.toolsets).toEqual(['generate', 'account', 'onboarding', 'billing', 'images']);
  });

  it('reads env twins, and flags win over them', () => {
    const env = {
      ATELIER_SANDBOX: '1',
      ATELIER_READ_ONLY: 'true',
      ATELIER_TOOLSETS: 'generate',
      ATELIER_OUTPUT_DIR: 'art',
      PIXELMUSE_BASE_URL: 'http://127.0.0.1:9/',
      ATELIER_CREDENTIAL_STORE: 'file',
    };
    const fromEnv = loadConfig({}, env, '/p');
    expect(fromEnv).toMatchObject({
      sandbox: true,
      readOnly: true,
      toolsets: ['generate'],
      outputDir: '/p/art',
    });
    expect(fromEnv.pixelmuseBaseUrl).toBe('http://127.0.0.1:9');
    // The sandbox never touches real credential stores.
    expect(fromEnv.credentialStore).toBe('memory');
    const fromFlags = loadConfig(
      { sandbox: false, readOnly: false, toolsets: 'images', outputDir: '/abs' },
      env,
      '/p',
    );
    expect(fromFlags).toMatchObject({
      sandbox: false,
      readOnly: false,
      toolsets: ['images'],
      outputDir: '/abs',
    });
    expect(fromFlags.credentialStore).toBe('file');
  });

  it.each([
    ['ATELIER_CREDENTIAL_STORE', 'vault', /ATELIER_CREDENTIAL_STORE=vault is not valid/],
    ['ATELIER_MAX_USD_PER_DAY', '-3', /not a non-negative number/],
    ['PIXELMUSE_BASE_URL', 'not a url', /is not a URL/],
    ['ATELIER_LOG_LEVEL', 'loud', /ATELIER_LOG_LEVEL=loud/],
  ])('rejects %s=%s clearly', (name, value, message) => {
    expect(() => loadConfig({}, { [name]: value }, '/p')).toThrow(message);
  });

  it('lowers the default per-call cap to a day cap below it, and refuses the two set the other way round', () => {
    // mcp.example.json sets only the day cap, at 20: the server must start, with $20 as the most one call spends.
    expect(loadConfig({}, { ATELIER_MAX_USD_PER_DAY: '20' }, '/p')).toMatchObject({
      maxUsdPerCall: 20,
      maxUsdPerDay: 20,
    });
    expect(loadConfig({}, { ATELIER_MAX_USD_PER_DAY: '80' }, '/p').maxUsdPerCall).toBe(50);
    expect(
      loadConfig({}, { ATELIER_MAX_USD_PER_DAY: '20', ATELIER_MAX_USD_PER_CALL: '5' }, '/p').maxUsdPerCall,
    ).toBe(5);
    expect(() =>
      loadConfig({}, { ATELIER_MAX_USD_PER_DAY: '20', ATELIER_MAX_USD_PER_CALL: '30' }, '/p'),
    ).toThrow(/ATELIER_MAX_USD_PER_CALL \(30\) is above ATELIER_MAX_USD_PER_DAY \(20\)/);
  });

  it('documents every env var it reads', () => {
    const documented = new Set(SETTINGS.map((s) => s.env));
    const source = loadConfig.toString();
    for (const name of source.match(/env\.([A-Z_]+)/g)!.map((m) => m.slice(4))) {
      if (name.startsWith('XDG_')) continue;
      expect(documented.has(name), name).toBe(true);
    }
  });

  it.each([
    [
      'localhost:8080',
      /MODELSLAB_BASE_URL=localhost:8080 is not usable: the scheme must be http or https, not localhost/,
    ],
    ['ftp://files.example.com', /the scheme must be http or https, not ftp/],
    ['https://modelslab.com/api/v6', /must not have a path, query or fragment/],
    ['https://modelslab.com?x=1', /must not have a path, query or fragment/],
    ['https://user:pw@modelslab.com', /credentials do not belong in the URL/],
    ['not a url', /it is not a URL/],
  ])('refuses MODELSLAB_BASE_URL=%s at start with a clear message', (value, message) => {
    expect(() => loadConfig({}, { MODELSLAB_BASE_URL: value }, '/tmp')).toThrow(message);
    expect(() => loadConfig({}, { PIXELMUSE_BASE_URL: value }, '/tmp')).toThrow(/PIXELMUSE_BASE_URL=/);
  });

  it('accepts http(s) origins with a port and a trailing slash', () => {
    const config = loadConfig({}, { MODELSLAB_BASE_URL: 'http://127.0.0.1:8080/' }, '/tmp');
    expect(config.modelslabBaseUrl).toBe('http://127.0.0.1:8080');
  });
});
