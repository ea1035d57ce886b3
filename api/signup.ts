import { signUp, signupSchema } from '../lib/app/users.js';
import { jsonBody } from '../lib/http/body.js';
import { db } from '../lib/http/db.js';
import { route } from '../lib/http/route.js';

/** POST /api/signup { email, name }: the example app. Inserts the user and enqueues the welcome email atomically. */
export default route({
  POST: async (req, res) => {
    const { user, jobId } = await signUp(db(), jsonBody(req, signupSchema));
    res.status(201).json({ user: { id: user.id, email: user.email, name: user.name }, jobId });
  },
});
