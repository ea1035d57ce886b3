import { httpSuite } from '../http/suite.js';
import { startLambdaHttp } from './lambda.js';

// The AWS Lambda http handler, invoked with function URL events (payload 2.0) for every request.
httpSuite('AWS Lambda (function URL)', ({ env }) => startLambdaHttp({ env }));
