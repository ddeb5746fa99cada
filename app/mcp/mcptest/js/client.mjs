// A real MCP client, the official TypeScript SDK, driven by the gateway's
// tests. It connects to MCP_URL, lists the tools and calls "whoami", then
// prints one JSON line of what happened.
//
// MODE=discover: the client starts without a token, as a new MCP client
// does. It first sends one bare request to show the 401 and its challenge,
// then lets the SDK do the MCP authorization flow: read resource_metadata
// from the challenge, fetch the protected resource metadata, discover the
// authorization server it names (ISSUER must be it), get a token with the
// client_credentials grant for the resource (RFC 8707) with CLIENT_ID and
// CLIENT_SECRET, and retry. MODE=token: it sends TOKEN as its bearer token
// from the start (a gateway API key).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { extractResourceMetadataUrl } from '@modelcontextprotocol/sdk/client/auth.js';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

// The oidctest machine clients authenticate with client_secret_post.
class PostSecretProvider extends ClientCredentialsProvider {
  clientInformation() {
    return { ...super.clientInformation(), token_endpoint_auth_method: 'client_secret_post' };
  }
}

const url = new URL(env('MCP_URL'));
const mode = env('MODE');
const out = { requests: [] };

// Every request the SDK makes, in order, without its headers.
const tracedFetch = async (input, init) => {
  const res = await fetch(input, init);
  out.requests.push({ method: init?.method || 'GET', url: String(input), status: res.status });
  return res;
};

async function main() {
  let transportOpts;
  let provider;
  if (mode === 'discover') {
    const bare = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'ping' }),
    });
    out.bare = {
      status: bare.status,
      challenge: bare.headers.get('www-authenticate'),
      resourceMetadata: extractResourceMetadataUrl(bare)?.href ?? null,
    };
    provider = new PostSecretProvider({
      clientId: env('CLIENT_ID'),
      clientSecret: env('CLIENT_SECRET'),
      expectedIssuer: env('ISSUER'),
    });
    transportOpts = { authProvider: provider, fetch: tracedFetch };
  } else if (mode === 'token') {
    transportOpts = { requestInit: { headers: { authorization: `Bearer ${env('TOKEN')}` } }, fetch: tracedFetch };
  } else {
    throw new Error(`unknown MODE ${mode}`);
  }

  const client = new Client({ name: 'attach-mcptest-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, transportOpts);
  await client.connect(transport);
  out.sessionId = transport.sessionId ?? null;
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name);
  const result = await client.callTool({ name: 'whoami', arguments: { note: 'hello from the TypeScript SDK' } });
  out.result = result.structuredContent ?? null;
  out.isError = Boolean(result.isError);
  if (provider) {
    const tok = provider.tokens()?.access_token;
    if (tok) {
      const claims = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString());
      out.tokenAudience = claims.aud;
      // Whether the server could have seen the client's token.
      out.tokenSuffix = tok.slice(-16);
    }
  }
  await transport.terminateSession().catch(() => {});
  await client.close();
}

main().then(
  () => {
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  (err) => {
    out.error = String(err?.stack || err);
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(1);
  },
);
