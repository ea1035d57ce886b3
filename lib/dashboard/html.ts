// STUB until branch dash lands.
const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
export const loginPage = ({ error }: { error?: string }) =>
  `<!doctype html><title>Sluice</title><form method="post" action="/api/dashboard/login"><input name="password" type="password">${error ? `<p>${esc(error)}</p>` : ''}<button>Log in</button></form>`;
export const dashboardPage = ({ csrf }: { csrf: string }) =>
  `<!doctype html><title>Sluice</title><meta name="sluice-csrf" content="${esc(csrf)}"><script src="/api/dashboard/assets/app.js" defer></script>`;
