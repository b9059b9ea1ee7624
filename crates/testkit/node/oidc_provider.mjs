// A real OpenID Connect provider for the tests: npm's oidc-provider (OpenID
// Certified), several issuers on one loopback port (two play Entra ID
// tenants under /{tid}/v2.0, one is a plain provider under /generic), its
// own login page (devInteractions: any login name, any password).
//
// A test can make the next token answer lie ("forge"), so each check Folio
// makes of an ID token is seen to refuse it: the forged token is signed with
// a key the provider publishes too (kid "forger"), or not ("unknown_kid").
//
// Prints its port on the first line, then serves until killed.
//   POST /_control {"setup": {"redirect_uri", "client_id", "client_secret", "tenants": [tid…],
//                   "key_client": {"client_id", "private_key"}?}}
//     key_client: a second client that authenticates with private_key_jwt
//     (RFC 7523, as Entra ID's certificate credentials), trusting the
//     public half of private_key (PEM)
//   POST /_control {"last_assertion": true} → {"assertion": …, "jwks_fetches": n}:
//     the last client assertion the token endpoint was sent, and how often
//     any issuer's JWKS was fetched
//   POST /_control {"forge": "wrong_iss" | … | null}
//   POST /_control {"publish_forger": false | true}
//   POST /_control {"user": {"login", "email", "email_verified", "name", "guest"}}
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const issuers = new Map(); // path prefix → { provider, tid }
const users = new Map();
let forge = null;
// Whether the JWKS lists the forger's key (off: as if the provider had not rotated to it yet).
let publishForger = true;
let port = 0;
const lastIdToken = new Map();
let lastAssertion = null;
let jwksFetches = 0;

const forger = await jose.generateKeyPair('RS256', { extractable: true });
const forgerJwk = { ...(await jose.exportJWK(forger.publicKey)), kid: 'forger', alg: 'RS256', use: 'sig' };
const stranger = await jose.generateKeyPair('RS256', { extractable: true });

async function forged(prefix, token) {
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  const sign = (c, key = forger.privateKey, kid = 'forger') =>
    new jose.SignJWT(c).setProtectedHeader({ alg: 'RS256', kid, typ: header.typ }).sign(key);
  switch (forge) {
    case 'none': return token;
    case 'resign': return sign(claims);
    case 'wrong_iss': return sign({ ...claims, iss: `http://127.0.0.1:${port}/somewhere-else` });
    case 'other_aud': return sign({ ...claims, aud: 'someone-else' });
    case 'expired': return sign({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'nbf_future': return sign({ ...claims, nbf: now + 3600 });
    case 'alg_none': {
      const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
    }
    case 'hs256': {
      const key = new TextEncoder().encode('folio-test-client-secret-folio-test');
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
    }
    case 'unknown_kid': return sign(claims, stranger.privateKey, 'stranger');
    case 'replay_nonce': return lastIdToken.get(prefix) ?? token;
    case 'other_tid': return sign({ ...claims, tid: '00000000-0000-4000-8000-0000000000ff' });
    default: return token;
  }
}

function makeProvider(prefix, tid, setup) {
  const issuer = `http://127.0.0.1:${port}${prefix}`;
  const clients = [{
    client_id: setup.client_id,
    client_secret: setup.client_secret,
    redirect_uris: setup.redirect_uris ?? [setup.redirect_uri],
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }];
  if (setup.key_client) {
    const jwk = crypto.createPublicKey(setup.key_client.private_key).export({ format: 'jwk' });
    clients.push({
      client_id: setup.key_client.client_id,
      redirect_uris: setup.redirect_uris ?? [setup.redirect_uri],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: { keys: [{ ...jwk, use: 'sig', alg: 'RS256' }] },
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
  }
  const provider = new Provider(issuer, {
    clients,
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: { openid: ['sub', 'tid', 'oid', 'idp'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const user = users.get(id) ?? {};
      return {
        accountId: id,
        async claims() {
          const claims = {
            sub: `sub-${id}`,
            email: user.email ?? `${id}@example.com`,
            email_verified: user.email_verified ?? true,
            name: user.name ?? id,
          };
          if (tid) {
            claims.tid = tid;
            claims.oid = `oid-${id}`;
            if (user.guest) claims.idp = 'https://sts.elsewhere.example/';
          }
          return claims;
        },
      };
    },
    async loadExistingGrant(ctx) {
      // Consent is not what the tests are about: every scope is granted.
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.oidc?.body?.client_assertion) {
      lastAssertion = ctx.oidc.body.client_assertion;
    }
    if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const original = ctx.body.id_token;
      ctx.body = { ...ctx.body, id_token: await forged(prefix, original) };
      lastIdToken.set(prefix, original);
    }
    if (ctx.path === '/jwks') jwksFetches += 1;
    if (ctx.path === '/jwks' && ctx.body && ctx.body.keys && publishForger) {
      ctx.body = { keys: [...ctx.body.keys, forgerJwk] };
    }
  });
  return provider;
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/_control') {
    const body = JSON.parse((await readBody(req)) || '{}');
    if (body.setup) {
      issuers.clear();
      for (const tid of body.setup.tenants ?? []) {
        issuers.set(`/${tid}/v2.0`, makeProvider(`/${tid}/v2.0`, tid, body.setup));
      }
      issuers.set('/generic', makeProvider('/generic', null, body.setup));
    }
    if ('forge' in body) forge = body.forge;
    if ('publish_forger' in body) publishForger = body.publish_forger;
    if (body.user) users.set(body.user.login, body.user);
    if (body.last_assertion) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ assertion: lastAssertion, jwks_fetches: jwksFetches }));
      return;
    }
    res.writeHead(204).end();
    return;
  }
  for (const [prefix, provider] of issuers) {
    if (req.url === prefix || req.url.startsWith(`${prefix}/`) || req.url.startsWith(`${prefix}?`)) {
      req.originalUrl = req.url;
      req.baseUrl = prefix;
      req.url = req.url.slice(prefix.length) || '/';
      provider.callback()(req, res);
      return;
    }
  }
  res.writeHead(404).end();
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  console.log(port);
});
