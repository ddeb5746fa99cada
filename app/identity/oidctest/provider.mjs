// A real OpenID Connect provider (panva's oidc-provider) for the Go tests.
// The Go package oidctest writes the signing keys and starts this file with
// its settings in the environment:
//
//   PORT           port to listen on, always on 127.0.0.1
//   ISSUER         the issuer URL, e.g. http://127.0.0.1:PORT
//   JWKS_FILE      JSON Web Key Set with the private signing keys; for each
//                  algorithm the first matching key signs, the rest are only
//                  published (so rotation can keep old keys verifiable)
//   CLIENT_SECRET  secret shared by every client below
//   REDIRECT_URIS  comma-separated redirect URIs of the "console" client
//   POST_LOGOUT_REDIRECT_URIS  comma-separated URIs the end_session_endpoint
//                  (RP-initiated logout) may send the "console" client's
//                  users back to
//   TOKEN_TTL      access token lifetime in seconds (default 600)
//   OUTSIDE_ISSUER     iss of a second, "outside" issuer whose JWTs the
//                      token-exchange grant accepts as subject tokens
//   OUTSIDE_JWKS_FILE  that issuer's public JSON Web Key Set
//
// Clients:
//   gateway-rs256, gateway-ps256, gateway-es256, gateway-eddsa
//       client_credentials; the access token for any resource indicator is
//       an RFC 9068 JWT whose aud is that resource and whose signature uses
//       the algorithm in the client's name.
//   gateway-exchange
//       the token-exchange grant (RFC 8693), client_secret_basic. The
//       subject token must be a JWT of the outside issuer, checked against
//       its key set, or an opaque access token this provider issued and
//       that has not expired; anything else is invalid_grant. The answer
//       is an RFC 9068 JWT for the resource (or audience) asked for, whose
//       sub is the subject token's.
//   console
//       authorization code + PKCE through the development login and consent
//       pages (any login and password is accepted; the login becomes "sub").
//       Its users sign out at the end_session_endpoint (RP-initiated
//       logout, on by default in oidc-provider), which asks to confirm and
//       then sends them to one of POST_LOGOUT_REDIRECT_URIS.
//
// GET /__test/hits answers how many requests each path has received since
// start, so tests can prove how often a verifier fetched the keys. Requests
// with an X-Oidctest-Probe header (the readiness probe) are not counted.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) {
      console.error(`provider.mjs: ${name} is required`);
      process.exit(2);
    }
    return fallback;
  }
  return v;
};

const port = Number(env('PORT'));
const issuer = env('ISSUER');
const jwks = JSON.parse(readFileSync(env('JWKS_FILE'), 'utf8'));
const secret = env('CLIENT_SECRET');
const redirectUris = env('REDIRECT_URIS', 'http://127.0.0.1/callback').split(',').filter(Boolean);
const postLogoutRedirectUris = env('POST_LOGOUT_REDIRECT_URIS', '').split(',').filter(Boolean);
const tokenTTL = Number(env('TOKEN_TTL', '600'));
const outsideIssuer = env('OUTSIDE_ISSUER', '');
const outsideKeys = outsideIssuer
  ? createLocalJWKSet(JSON.parse(readFileSync(env('OUTSIDE_JWKS_FILE'), 'utf8')))
  : undefined;

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

const algByClient = {
  'gateway-rs256': 'RS256',
  'gateway-ps256': 'PS256',
  'gateway-es256': 'ES256',
  'gateway-eddsa': 'EdDSA',
};

const machineClients = Object.keys(algByClient).map((id) => ({
  client_id: id,
  client_secret: secret,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_post',
}));

const config = {
  jwks,
  clients: [
    ...machineClients,
    {
      client_id: 'gateway-exchange',
      client_secret: secret,
      grant_types: [TOKEN_EXCHANGE],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'console',
      client_secret: secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  cookies: { keys: ['oidctest-cookie-key-not-a-secret'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  // Put the email and profile claims in the ID token too, not only behind
  // the userinfo endpoint, so a relying party can read them straight away.
  conformIdTokenClaims: false,
  ttl: { ClientCredentials: tokenTTL, AccessToken: tokenTTL },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Any absolute URI is a resource server of its own: the audience is the
      // indicator itself and every requested scope is granted.
      defaultResource: async () => undefined,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator, client) => ({
        audience: resourceIndicator,
        scope: ctx.oidc.params?.scope || 'api',
        accessTokenFormat: 'jwt',
        accessTokenTTL: tokenTTL,
        jwt: { sign: { alg: algByClient[client.clientId] || 'RS256' } },
      }),
    },
  },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.test`,
          // A login starting unverified- stands for a provider that did not
          // check the address.
          email_verified: !id.startsWith('unverified-'),
          name: `Test User ${id}`,
          // Every account is in "staff"; a login starting ops- is in
          // "gateway-ops" too.
          groups: id.startsWith('ops-') ? ['staff', 'gateway-ops'] : ['staff'],
        };
      },
    };
  },
};

const provider = new Provider(issuer, config);

// subjectOf checks a subject token and returns whom it names, or throws
// invalid_grant.
async function subjectOf(token) {
  if (token.split('.').length === 3) {
    if (!outsideKeys) throw new errors.InvalidGrant('no outside issuer is trusted');
    try {
      const { payload } = await jwtVerify(token, outsideKeys, { issuer: outsideIssuer, requiredClaims: ['exp', 'sub'] });
      return payload.sub;
    } catch {
      throw new errors.InvalidGrant('subject token is not valid');
    }
  }
  const found = (await provider.ClientCredentials.find(token)) || (await provider.AccessToken.find(token));
  if (!found) throw new errors.InvalidGrant('subject token is not valid');
  return found.accountId || found.clientId;
}

provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
  const { params, client } = ctx.oidc;
  if (![TYPE_ACCESS_TOKEN, TYPE_JWT].includes(params.subject_token_type)) {
    throw new errors.InvalidRequest('unsupported subject_token_type');
  }
  if (!params.subject_token) throw new errors.InvalidRequest('subject_token is required');
  const target = params.resource || params.audience;
  if (!target) throw new errors.InvalidTarget('resource or audience is required');
  const sub = await subjectOf(params.subject_token);

  const token = new provider.AccessToken({ accountId: sub, client, gty: 'token_exchange', scope: 'api' });
  token.resourceServer = new provider.ResourceServer(target, {
    audience: target,
    scope: 'api',
    accessTokenFormat: 'jwt',
    accessTokenTTL: tokenTTL,
    jwt: { sign: { alg: 'RS256' } },
  });
  ctx.body = {
    access_token: await token.save(),
    issued_token_type: TYPE_ACCESS_TOKEN,
    token_type: 'Bearer',
    expires_in: token.expiration,
  };
}, ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope']);

const hits = {};
provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/hits') {
    ctx.body = hits;
    return;
  }
  if (!ctx.get('x-oidctest-probe')) {
    hits[ctx.path] = (hits[ctx.path] || 0) + 1;
  }
  await next();
});

provider.on('server_error', (ctx, err) => {
  console.error('provider.mjs: server_error', err);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
