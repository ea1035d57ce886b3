// STUB until branch dash lands.
export const DASHBOARD_ASSETS: Readonly<Record<string, { contentType: string; body: string; etag: string }>> = {
  'app.js': { contentType: 'text/javascript; charset=utf-8', body: '', etag: '"0"' },
};
