// Packages an app installs that this repository does not: their one call a sample makes, declared as
// the packages' own types declare it.
declare module 'next/server' {
  export function after<T>(task: Promise<T> | (() => T | Promise<T>)): void;
}
declare module '@vercel/otel' {
  export function registerOTel(options: { serviceName: string }): void;
}
declare module '@opentelemetry/exporter-trace-otlp-http' {
  import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
  export class OTLPTraceExporter implements SpanExporter {
    constructor(config?: { url?: string });
    export: SpanExporter['export'];
    shutdown: SpanExporter['shutdown'];
  }
}
declare module 'next' {
  export interface NextConfig {
    serverExternalPackages?: string[];
  }
}
