// An API that accepts Gatehouse access tokens. From this project: `node examples/verifier-api.ts`;
// in yours: `npm install gatehouse express`, same code. ISSUER, AUDIENCE and (for revocation)
// CLIENT_ID/CLIENT_SECRET of a client created with --introspect come from the environment.
import express from 'express';
import { createVerifier } from 'gatehouse/verifier';

const { ISSUER = 'http://localhost:3000', AUDIENCE = 'https://api.example.com', CLIENT_ID, CLIENT_SECRET, PORT = '4000' } = process.env;
const verifier = createVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  revocation: CLIENT_ID && CLIENT_SECRET ? { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } : undefined,
});

const app = express();
app.get('/reports', verifier.express({ scope: 'read' }), (req, res) => {
  res.json({ for: req.auth!.sub, client: req.auth!.client_id });
});
const server = app.listen(Number(PORT), '127.0.0.1', () => console.log(`listening on ${JSON.stringify(server.address())}`));
