export default function Home() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '3rem auto', lineHeight: 1.5 }}>
      <h1>Sluice on Next.js</h1>
      <p>
        A Postgres job queue mounted in one route file, <code>app/api/[...sluice]/route.ts</code>. Try{' '}
        <a href="/api/health">/api/health</a>, or sign up a user:
      </p>
      <pre>{`curl -X POST http://localhost:3000/api/signup \\
  -H 'Content-Type: application/json' -d '{"email":"ada@example.com","name":"Ada"}'`}</pre>
    </main>
  );
}
