import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, FunctionUrlAuthType, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct, Node } from 'constructs';

/** Keys the Secrets Manager secret (a JSON object) must hold: each becomes the environment variable of that name. */
export const SECRET_KEYS = ['DATABASE_URL', 'ENQUEUE_SECRET', 'ADMIN_SECRET', 'CRON_SECRET'] as const;
/** Keys taken from the secret only when listed in `optionalSecretKeys` (a missing key fails the deploy). */
export const OPTIONAL_SECRET_KEYS = ['DRAIN_SECRET', 'HEALTH_SECRET', 'EMAIL_WEBHOOK_URL'] as const;
/** nodejs20.x is past its deprecation (April 2026): Lambda no longer creates functions on it. */
export const RUNTIMES = ['nodejs22.x', 'nodejs24.x'] as const;

export interface SluiceStackProps extends StackProps {
  /** Name (or ARN) of the Secrets Manager secret. Default 'sluice'. */
  secretName?: string;
  /** Pin a version of the secret: changing it makes the next deploy pick up rotated values. Default: the current one. */
  secretVersionId?: string;
  optionalSecretKeys?: (typeof OPTIONAL_SECRET_KEYS)[number][];
  /** DATABASE_DRIVER; default unset (neon for *.neon.tech, pg otherwise). */
  databaseDriver?: 'pg' | 'neon';
  /** NODE_EXTRA_CA_CERTS, e.g. '/var/runtime/ca-cert.pem' (Amazon's CAs, RDS's among them) to verify RDS's TLS certificate. Default unset. */
  nodeExtraCaCerts?: string;
  /** Lambda runtime. Default 'nodejs22.x'. */
  runtime?: (typeof RUNTIMES)[number];
  /** Timeout of the http function (it serves POST /api/drain and GET /api/cron/drain too). Default 60. */
  httpTimeoutSeconds?: number;
  /** Timeout of the scheduled drain function. Default 60. */
  drainTimeoutSeconds?: number;
  /** DRAIN_SAFETY_MARGIN_MS: drains stop this long before the invocation's time runs out. Default 3000. */
  drainSafetyMarginMs?: number;
  /** Memory of both functions, MB. Default 512. */
  memorySize?: number;
  /** Days the functions' logs are kept (a CloudWatch Logs retention value). Default 30. */
  logRetentionDays?: number;
  /** When the drain runs (EventBridge Scheduler expression). Default 'rate(1 minute)'. */
  schedule?: string;
}

/** The handlers' module: this folder's handler.ts, found from this file so the cwd does not matter. */
export const ENTRY = fileURLToPath(new URL('./handler.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('.', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('./package-lock.json', import.meta.url));
// ESM bundle: CommonJS dependencies (pg, ws) call require() for Node's built-ins, which ESM lacks.
const BANNER = "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);";

export class SluiceStack extends Stack {
  readonly httpFunction: NodejsFunction;
  readonly drainFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, { description: 'Sluice: a cron-drained Postgres job queue on AWS Lambda', ...props });
    const marginMs = props.drainSafetyMarginMs ?? 3_000;
    const timeouts = { SluiceHttp: props.httpTimeoutSeconds ?? 60, SluiceDrain: props.drainTimeoutSeconds ?? 60 };
    for (const [name, seconds] of Object.entries(timeouts)) {
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 900) throw new Error(`${name}: timeout ${seconds} s is not a whole number of seconds from 1 to 900`);
      // At most half the timeout: a margin that leaves the drain a few ms is a mistake, not a setting.
      if (!Number.isInteger(marginMs) || marginMs < 0 || marginMs > (seconds * 1000) / 2) throw new Error(`${name}: drainSafetyMarginMs ${marginMs} must be a whole number of ms, at most half its timeout (${seconds} s)`);
    }
    const memory = props.memorySize ?? 512;
    if (!Number.isInteger(memory) || memory < 128 || memory > 10_240) throw new Error(`memorySize ${memory} must be a whole number of MB from 128 to 10240`);
    const schedule = props.schedule ?? 'rate(1 minute)';
    // Scheduler's own forms; its minimum rate is one minute.
    if (!/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)|at\(.+\))$/.test(schedule) || /^rate\(0 /.test(schedule)) {
      throw new Error(`schedule "${schedule}" must be rate(N minute(s)|hour(s)|day(s)) or cron(...), e.g. rate(1 minute)`);
    }
    const retention = props.logRetentionDays ?? RetentionDays.ONE_MONTH;
    if (!Object.values(RetentionDays).includes(retention)) throw new Error(`logRetentionDays ${retention} is not a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ...)`);
    // Bundling runs esbuild from this folder's node_modules; without it NodejsFunction would try Docker.
    try {
      createRequire(import.meta.url).resolve('esbuild');
    } catch {
      throw new Error('esbuild is missing: run `npm ci` in deploy/aws first');
    }

    const secret = (key: string) =>
      SecretValue.secretsManager(props.secretName ?? 'sluice', { jsonField: key, versionId: props.secretVersionId }).unsafeUnwrap();
    const environment: Record<string, string> = { DRAIN_SAFETY_MARGIN_MS: String(marginMs) };
    for (const key of [...SECRET_KEYS, ...(props.optionalSecretKeys ?? [])]) environment[key] = secret(key);
    if (props.databaseDriver) environment.DATABASE_DRIVER = props.databaseDriver;
    if (props.nodeExtraCaCerts) environment.NODE_EXTRA_CA_CERTS = props.nodeExtraCaCerts;
    const runtime = props.runtime ?? 'nodejs22.x';
    if (!RUNTIMES.includes(runtime)) throw new Error(`runtime ${runtime}: one of ${RUNTIMES.join(', ')}`);

    // Kicks, fan-out and continuations invoke the drain function (SLUICE_DRAIN_FUNCTION), the drain
    // function itself included: a name fixed here, as its own generated name would be a circular reference.
    const drainName = `${this.stackName}-SluiceDrain`.slice(0, 64);
    environment.SLUICE_DRAIN_FUNCTION = drainName;
    const fn = (name: keyof typeof timeouts, handler: 'http' | 'scheduled', description: string, functionName?: string) => {
      const timeoutSeconds = timeouts[name];
      const logGroup = new LogGroup(this, `${name}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY });
      return new NodejsFunction(this, name, {
        entry: ENTRY,
        functionName,
        handler, // NodejsFunction names it index.<handler>
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: LOCK_FILE,
        description,
        runtime: runtime === 'nodejs24.x' ? Runtime.NODEJS_24_X : Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: memory,
        timeout: Duration.seconds(timeoutSeconds),
        logGroup,
        // The platform's deadline is context.getRemainingTimeInMillis(); this is the fallback.
        environment: { ...environment, DRAIN_MAX_DURATION_MS: String(timeoutSeconds * 1000) },
        bundling: {
          format: OutputFormat.ESM,
          target: runtime === 'nodejs24.x' ? 'node24' : 'node22',
          mainFields: ['module', 'main'],
          banner: BANNER,
          externalModules: ['@aws-sdk/*', 'pg-native'],
          forceDockerBundling: false,
          logLevel: LogLevel.ERROR,
        },
      });
    };

    this.httpFunction = fn('SluiceHttp', 'http', 'Sluice HTTP API (Function URL)');
    this.drainFunction = fn('SluiceDrain', 'scheduled', 'Sluice drain: scheduled (EventBridge Scheduler), kicked, fanned out, continued', drainName);
    const drainArn = this.formatArn({ service: 'lambda', resource: 'function', resourceName: drainName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    for (const caller of [this.httpFunction, this.drainFunction]) {
      caller.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [drainArn] }));
    }
    // Scheduler invokes asynchronously: a failed drain is not retried, the next one is a minute away.
    this.drainFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    // Public URL: Sluice's bearer secrets guard every route but /api/health and the app's signup.
    const url = this.httpFunction.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });

    // Vercel Cron's part. No input: Scheduler sends its default notification, and the handler ignores the event.
    // Overlapping runs are safe (jobs are claimed with SKIP LOCKED), so no reserved concurrency.
    new Schedule(this, 'SluiceDrainSchedule', {
      schedule: ScheduleExpression.expression(schedule),
      description: 'Drains the Sluice queue (Vercel Cron part)',
      target: new LambdaInvoke(this.drainFunction, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
    });

    // The URL without its trailing slash (https://<id>.lambda-url.<region>.on.aws), so $BASE/api/health is one slash.
    const base = Fn.join('', ['https://', Fn.select(2, Fn.split('/', url.url))]);
    new CfnOutput(this, 'Url', { value: base, description: 'BASE for the API: $BASE/api/health' });
    new CfnOutput(this, 'HttpFunctionName', { value: this.httpFunction.functionName });
    new CfnOutput(this, 'DrainFunctionName', { value: this.drainFunction.functionName });
    new CfnOutput(this, 'HttpLogGroup', { value: this.httpFunction.logGroup.logGroupName });
    new CfnOutput(this, 'DrainLogGroup', { value: this.drainFunction.logGroup.logGroupName });
  }
}

/** The stack's props from CDK context (`-c key=value` or cdk.json): strings are parsed, '' means default. */
export function propsFromContext(node: Node): SluiceStackProps {
  const str = (key: string): string | undefined => {
    const v: unknown = node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const num = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`context ${key}=${v} is not a number`);
    return n;
  };
  const driver = str('databaseDriver');
  if (driver !== undefined && driver !== 'pg' && driver !== 'neon') throw new Error(`context databaseDriver=${driver}: pg or neon`);
  const optional = (str('optionalSecretKeys') ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of optional) if (!(OPTIONAL_SECRET_KEYS as readonly string[]).includes(k)) throw new Error(`context optionalSecretKeys: ${k} is not one of ${OPTIONAL_SECRET_KEYS.join(', ')}`);
  return {
    secretName: str('secretName'),
    secretVersionId: str('secretVersionId'),
    optionalSecretKeys: optional as SluiceStackProps['optionalSecretKeys'],
    databaseDriver: driver,
    nodeExtraCaCerts: str('nodeExtraCaCerts'),
    runtime: str('runtime') as SluiceStackProps['runtime'],
    httpTimeoutSeconds: num('httpTimeoutSeconds'),
    drainTimeoutSeconds: num('drainTimeoutSeconds'),
    drainSafetyMarginMs: num('drainSafetyMarginMs'),
    memorySize: num('memorySize'),
    logRetentionDays: num('logRetentionDays'),
    schedule: str('schedule'),
  };
}
