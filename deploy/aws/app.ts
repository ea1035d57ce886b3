/**
 * The CDK app: one Sluice stack, its parameters from context (`npx cdk deploy -c secretName=prod/sluice`,
 * or cdk.json's "context"). No account or region in the code: the stack is environment-agnostic, so
 * `cdk synth` works offline, and `cdk deploy` deploys to the account and region of your AWS profile.
 */
import { App } from 'aws-cdk-lib';
import { propsFromContext, SluiceStack } from './stack.js';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) || 'Sluice';
new SluiceStack(app, stackName, { ...propsFromContext(app.node), analyticsReporting: false });
app.synth();
