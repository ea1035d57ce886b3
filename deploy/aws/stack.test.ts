import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPTIONAL_SECRET_KEYS, propsFromContext, SECRET_KEYS, SluiceStack } from './stack.js';

// The stack as app.ts builds it: cdk.json's context (feature flags, defaults), then any -c overrides.
const cdkJson = JSON.parse(readFileSync(new URL('./cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkJson.context, ...context } });
  const stack = new SluiceStack(app, 'Sluice', { ...propsFromContext(app.node), analyticsReporting: false });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Fn = { Handler: string; Runtime: string; Timeout: number; Architectures: string[]; MemorySize: number; Environment: { Variables: Record<string, string> }; LoggingConfig: { LogGroup: { Ref: string } } };

let built: ReturnType<typeof synth>;
let template: Template;
let json: { Resources: Record<string, Resource>; Outputs: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
let fns: Record<string, Fn>; // by handler
let ids: Record<string, string>; // logical id by handler

beforeAll(() => {
  // Synthesized once: NodejsFunction bundles handler.ts with esbuild here (both functions share the asset).
  built = synth();
  template = built.template;
  json = template.toJSON() as typeof json;
  fns = {};
  ids = {};
  for (const [id, r] of Object.entries(json.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    fns[r.Properties.Handler] = r.Properties as Fn;
    ids[r.Properties.Handler] = id;
  }
}, 120_000);

describe('functions', () => {
  it('two functions from the one entry: index.http and index.scheduled, on Node 22, arm64, 512 MB', () => {
    expect(Object.keys(fns).sort()).toEqual(['index.http', 'index.scheduled']);
    for (const fn of Object.values(fns)) {
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.MemorySize).toBe(512);
    }
    expect(ids['index.http']).toMatch(/^SluiceHttp/);
    expect(ids['index.scheduled']).toMatch(/^SluiceDrain/);
  });

  it('every drain stops DRAIN_SAFETY_MARGIN_MS before its timeout; DRAIN_MAX_DURATION_MS is the timeout', () => {
    for (const fn of Object.values(fns)) {
      const env = fn.Environment.Variables;
      expect(fn.Timeout).toBe(60);
      expect(Number(env.DRAIN_SAFETY_MARGIN_MS)).toBe(3000);
      expect(Number(env.DRAIN_SAFETY_MARGIN_MS)).toBeLessThan(fn.Timeout * 1000);
      expect(Number(env.DRAIN_MAX_DURATION_MS)).toBe(fn.Timeout * 1000);
      expect(env.DATABASE_DRIVER).toBeUndefined();
      expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
    }
  });

  it('logs go to a log group of their own kept a month; no LogRetention custom resource', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const groups = Object.values(fns).map((fn) => fn.LoggingConfig.LogGroup.Ref);
    expect(new Set(groups).size).toBe(2);
    for (const g of groups) expect(json.Resources[g]?.Type).toBe('AWS::Logs::LogGroup');
    expect(JSON.stringify(json)).not.toMatch(/Custom::LogRetention/);
  });

  it('a failed scheduled drain is not retried (the next one is a minute away), and no concurrency is reserved', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: ids['index.scheduled'] }, MaximumRetryAttempts: 0 });
    for (const fn of Object.values(fns)) expect(fn).not.toHaveProperty('ReservedConcurrentExecutions');
  });
});

describe('the Function URL', () => {
  it('is on the http function, auth NONE, no CORS, and is the stack output Url', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [ids['index.http'], 'Arn'] },
      Cors: Match.absent(),
    });
    const [urlId] = Object.entries(json.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Url')!;
    // https://<id>.lambda-url.<region>.on.aws/ without its trailing slash: the BASE of the README's curl examples.
    expect(json.Outputs.Url.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }] }]] });
    expect(Object.keys(json.Outputs).sort()).toEqual(['DrainFunctionName', 'DrainLogGroup', 'HttpFunctionName', 'HttpLogGroup', 'Url']);
    expect(json.Outputs.DrainLogGroup.Value).toEqual({ Ref: fns['index.scheduled']!.LoggingConfig.LogGroup.Ref });
    // Public: both permissions a NONE URL needs, on the http function only.
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*', FunctionName: { 'Fn::GetAtt': [ids['index.http'], 'Arn'] } });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, Principal: '*', FunctionName: { 'Fn::GetAtt': [ids['index.http'], 'Arn'] } });
  });
});

describe('the schedule', () => {
  it('invokes the drain function every minute, once (no retries), with a role allowed only that', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [ids['index.scheduled'], 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        RoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: Match.arrayWith([{ 'Fn::GetAtt': [ids['index.scheduled'], 'Arn'] }]) }] },
    });
  });
});

describe('kicks, fan-out and continuations', () => {
  it('both functions know the drain function by name (SLUICE_DRAIN_FUNCTION) and may invoke it, and only it', () => {
    const drain = json.Resources[ids['index.scheduled']!]!.Properties;
    expect(drain.FunctionName).toBe('Sluice-SluiceDrain');
    for (const fn of Object.values(fns)) expect(fn.Environment.Variables.SLUICE_DRAIN_FUNCTION).toBe('Sluice-SluiceDrain');
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':function:Sluice-SluiceDrain']] };
    const invokers = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy'
      && JSON.stringify(r.Properties.PolicyDocument.Statement).includes(':function:Sluice-SluiceDrain'));
    expect(invokers).toHaveLength(2); // the http function's role and the drain function's own
    for (const policy of invokers) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: arn });
    }
  });
});

describe('secrets', () => {
  const ref = (key: string, name = 'sluice') => `{{resolve:secretsmanager:${name}:SecretString:${key}::}}`;

  it('each is the same environment variable every runtime reads, a Secrets Manager reference resolved at deploy time', () => {
    for (const fn of Object.values(fns)) {
      for (const key of SECRET_KEYS) expect(fn.Environment.Variables[key]).toBe(ref(key));
      for (const key of OPTIONAL_SECRET_KEYS) expect(fn.Environment.Variables[key]).toBeUndefined();
    }
  });

  it('no value in the template is a plain-text secret', () => {
    const text = JSON.stringify(json);
    // Every variable that holds a secret, in any resource, is a dynamic reference...
    const secretish = /SECRET|DATABASE_URL|PASSWORD|TOKEN/;
    for (const fn of Object.values(fns)) {
      for (const [k, v] of Object.entries(fn.Environment.Variables)) if (secretish.test(k)) expect(v).toMatch(/^\{\{resolve:secretsmanager:[^}]+\}\}$/);
    }
    // ...every reference in the template is one of those, and nothing looks like a connection string or a key.
    const refs = text.match(/\{\{resolve:[^}]*\}\}/g) ?? [];
    expect(refs.length).toBe(2 * SECRET_KEYS.length);
    for (const r of refs) expect(r).toMatch(/^\{\{resolve:secretsmanager:sluice:SecretString:[A-Z_]+::\}\}$/);
    expect(text).not.toMatch(/postgres(ql)?:\/\//i);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(text).not.toMatch(/"(DATABASE_URL|ENQUEUE_SECRET|ADMIN_SECRET|CRON_SECRET)":"(?!\{\{resolve:)/);
  });
});

describe('context parameters', () => {
  it('override the defaults: secret name and version, optional keys, driver, timeouts, margin, memory, retention, schedule', () => {
    const { template: t } = synth({
      secretName: 'prod/sluice', secretVersionId: 'v-2', optionalSecretKeys: 'DRAIN_SECRET,HEALTH_SECRET', databaseDriver: 'neon',
      httpTimeoutSeconds: '30', drainTimeoutSeconds: '300', drainSafetyMarginMs: '5000', memorySize: '1024', logRetentionDays: '7', schedule: 'rate(5 minutes)',
      nodeExtraCaCerts: '/var/runtime/ca-cert.pem', runtime: 'nodejs24.x',
    });
    const byHandler: Record<string, Fn> = Object.fromEntries(Object.values(t.findResources('AWS::Lambda::Function')).map((r) => [r.Properties.Handler, r.Properties as Fn]));
    expect(byHandler['index.http']!.Timeout).toBe(30);
    expect(byHandler['index.scheduled']!.Timeout).toBe(300);
    expect(byHandler['index.scheduled']!.Environment.Variables.DRAIN_MAX_DURATION_MS).toBe('300000');
    for (const fn of Object.values(byHandler)) {
      const env = fn.Environment.Variables;
      expect(fn.MemorySize).toBe(1024);
      expect(fn.Runtime).toBe('nodejs24.x');
      expect(env.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
      expect(env.DRAIN_SAFETY_MARGIN_MS).toBe('5000');
      expect(env.DATABASE_DRIVER).toBe('neon');
      expect(env.DATABASE_URL).toBe('{{resolve:secretsmanager:prod/sluice:SecretString:DATABASE_URL::v-2}}');
      expect(env.DRAIN_SECRET).toBe('{{resolve:secretsmanager:prod/sluice:SecretString:DRAIN_SECRET::v-2}}');
      expect(env.HEALTH_SECRET).toBe('{{resolve:secretsmanager:prod/sluice:SecretString:HEALTH_SECRET::v-2}}');
    }
    t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  it('refuses a margin that does not fit in a timeout, and values that are not valid', () => {
    expect(() => synth({ drainSafetyMarginMs: '10000', httpTimeoutSeconds: '10' })).toThrow(/SluiceHttp: drainSafetyMarginMs 10000 must be a whole number of ms, at most half its timeout \(10 s\)/);
    expect(() => synth({ drainTimeoutSeconds: '3' })).toThrow(/SluiceDrain: drainSafetyMarginMs 3000 must be a whole number of ms, at most half/);
    expect(() => synth({ drainSafetyMarginMs: '59999' })).toThrow(/at most half its timeout/);
    expect(() => synth({ memorySize: '20000' })).toThrow(/from 128 to 10240/);
    expect(() => synth({ schedule: 'rate(30 seconds)' })).toThrow(/rate\(N minute/);
    expect(() => synth({ schedule: 'every minute' })).toThrow(/rate\(N minute/);
    expect(() => synth({ drainTimeoutSeconds: '901' })).toThrow(/from 1 to 900/);
    expect(() => synth({ drainSafetyMarginMs: '-1' })).toThrow(/must be a whole number of ms/);
    expect(() => synth({ logRetentionDays: '31' })).toThrow(/not a CloudWatch Logs retention/);
    expect(() => synth({ databaseDriver: 'mysql' })).toThrow(/pg or neon/);
    expect(() => synth({ runtime: 'nodejs20.x' })).toThrow(/one of nodejs22.x, nodejs24.x/);
    expect(() => synth({ optionalSecretKeys: 'AWS_SECRET' })).toThrow(/not one of/);
    expect(() => synth({ memorySize: 'lots' })).toThrow(/not a number/);
  });
});

describe('offline synthesis', () => {
  it('is environment-agnostic, with no version reporting', () => {
    expect(Token.isUnresolved(built.stack.account)).toBe(true);
    expect(Token.isUnresolved(built.stack.region)).toBe(true);
    template.resourceCountIs('AWS::CDK::Metadata', 0);
  });

  it('bundles one ESM file that loads alone (no node_modules, no drizzle/) and answers a Function URL event', () => {
    const assembly = built.app.synth();
    // Both functions run the one bundle (same S3 object), the assembly's only file asset.
    expect(new Set(Object.values(fns).map((fn) => (fn as unknown as { Code: { S3Key: unknown } }).Code.S3Key)).size).toBe(1);
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${built.stack.artifactId}.assets.json`), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const assets = Object.values(manifest.files).map((f) => f.source.path).filter((p) => p.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const dir = join(assembly.directory, assets[0]!);
    expect(readdirSync(dir)).toEqual(['index.mjs']);
    const size = statSync(join(dir, 'index.mjs')).size;
    expect(size).toBeLessThan(5 * 1024 * 1024);

    const alone = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
    try {
      copyFileSync(join(dir, 'index.mjs'), join(alone, 'index.mjs'));
      // A Function URL event (payload format 2.0, as in AWS's documentation): GET /api/health.
      const event = {
        version: '2.0', routeKey: '$default', rawPath: '/api/health', rawQueryString: '', headers: { host: 'abc.lambda-url.us-west-2.on.aws', 'user-agent': 'curl' },
        requestContext: {
          accountId: 'anonymous', apiId: 'abc', domainName: 'abc.lambda-url.us-west-2.on.aws', domainPrefix: 'abc', requestId: 'id', routeKey: '$default', stage: '$default',
          http: { method: 'GET', path: '/api/health', protocol: 'HTTP/1.1', sourceIp: '123.123.123.123', userAgent: 'curl' }, time: '12/Mar/2020:19:03:58 +0000', timeEpoch: 1583348638390,
        },
        isBase64Encoded: false,
      };
      const script = `
        const m = await import(${JSON.stringify(join(alone, 'index.mjs'))});
        const res = await m.http(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 10000 });
        console.log(JSON.stringify({ exports: Object.keys(m).sort(), status: res.statusCode, body: res.body }));
        process.exit(0);`;
      // No DATABASE_URL: the health check answers 503 without touching a network.
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: alone, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] });
      const result = JSON.parse(out.toString().trim().split('\n').pop()!) as { exports: string[]; status: number; body: string };
      expect(result.exports).toEqual(['http', 'scheduled']);
      expect(result.status).toBe(503);
      expect(JSON.parse(result.body)).toMatchObject({ ok: false });
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  }, 60_000);
});
