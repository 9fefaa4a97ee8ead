// A certified OpenID provider (panva's oidc-provider) set up as a province
// would set up its identity provider for Blangkon, for the tests:
//
// - people: accounts with a Blangkon role and its bindings (regency,
//   vendor, work unit) as flat claims of their access tokens;
// - the CLI: a public client signing people in with the device
//   authorization grant (RFC 8628), refresh tokens rotating on every use;
// - services: confidential clients with the client-credentials grant, each
//   allowed the audiences of the services it calls only;
// - access tokens are JWTs for one resource (RFC 8707 resource indicators,
//   `urn:blangkon:<service>`), signed with the provider's current key.
//
//   node provider.mjs <port> <state-dir>
//
// POST /__accounts (loopback only) adds an account, as an administrator
// adds a user and its attributes: {"id": ..., "claims": {"role": ...}}.
// Keys live in <state-dir>/keys.json. POST /__rotate (loopback only)
// replaces the signing key with a new one of the other algorithm (RS256
// <-> ES256) and re-creates the provider over the same store, as the
// provider reads its keys at start: the old key is withdrawn at once.

import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import Provider, { errors } from "oidc-provider";

const [port, stateDir] = process.argv.slice(2);
if (!port || !stateDir) {
  console.error("usage: node provider.mjs <port> <state-dir>");
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const SERVICES = ["vendor", "catalog", "order", "reporting"];
const resource = (service) => `urn:blangkon:${service}`;

// The people of the tests. A real provider keeps them in its directory;
// their Blangkon role and bindings are attributes mapped into claims.
const ACCOUNTS = {
  "admin@jatengprov.go.id": { role: "province_admin" },
  "admin@semarangkota.go.id": { role: "regency_admin", regency: "33.74" },
  "admin@cilacapkab.go.id": { role: "regency_admin", regency: "33.01" },
  "ppk@disdik.semarangkota.go.id": {
    role: "buyer",
    regency: "33.74",
    work_unit: "Dinas Pendidikan Kota Semarang",
  },
  "analyst@jatengprov.go.id": { role: "analyst" },
  "umkm@example.id": { role: "vendor" },
};

// Confidential clients of services, and which services each may call.
const SERVICE_CLIENTS = {
  "order-service": { secret: "order-service-secret-for-tests-only", calls: ["vendor", "catalog"] },
  // A service that calls nothing of the suite: it gets no token for it.
  "stranger-service": { secret: "stranger-service-secret-for-tests-only", calls: [] },
  // Tokens that expire after a second, to see an expired one refused.
  "short-lived-service": { secret: "short-lived-service-secret-for-tests-only", calls: ["vendor"], ttl: 1 },
};

function newKey(alg) {
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const pair =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...pair.privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };
}

const keysFile = join(stateDir, "keys.json");
function loadKeys() {
  if (existsSync(keysFile)) return JSON.parse(readFileSync(keysFile, "utf8"));
  const keys = { keys: [newKey("RS256")] };
  writeFileSync(keysFile, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

// One store for every provider object this process makes, so grants,
// device codes and refresh tokens survive a key rotation.
const store = new Map();
class MemoryAdapter {
  constructor(name) {
    this.name = name;
  }
  key(id) {
    return `${this.name}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    const expires = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
    store.set(this.key(id), { payload, expires });
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      store.set(grantKey, [...(store.get(grantKey) || []), this.key(id)]);
    }
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
    if (payload.uid) store.set(`uid:${this.name}:${payload.uid}`, id);
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry || (entry.expires && entry.expires < Date.now())) return undefined;
    return entry.payload;
  }
  async findByUserCode(userCode) {
    const id = store.get(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }
  async findByUid(uid) {
    const id = store.get(`uid:${this.name}:${uid}`);
    return id ? this.find(id) : undefined;
  }
  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const key of store.get(`grant:${grantId}`) || []) store.delete(key);
    store.delete(`grant:${grantId}`);
  }
}

function makeProvider(jwks) {
  const signing = jwks.keys[0].alg;
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks,
    clients: [
      {
        client_id: "blangkon-cli",
        client_name: "Blangkon CLI",
        token_endpoint_auth_method: "none",
        id_token_signed_response_alg: signing,
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        response_types: [],
        redirect_uris: [],
      },
      ...Object.entries(SERVICE_CLIENTS).map(([id, client]) => ({
        client_id: id,
        client_secret: client.secret,
        id_token_signed_response_alg: signing,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      })),
    ],
    scopes: ["openid", "offline_access", "api"],
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          const service = SERVICES.find((s) => resource(s) === indicator);
          const allowed =
            client.clientId === "blangkon-cli"
              ? SERVICES
              : (SERVICE_CLIENTS[client.clientId] || { calls: [] }).calls;
          if (!service || !allowed.includes(service)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: "api",
            audience: indicator,
            accessTokenTTL: 300,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: signing } },
          };
        },
      },
    },
    // The CLI is first-party: signing in is consenting.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid offline_access api");
      for (const service of SERVICES) grant.addResourceScope(resource(service), "api");
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    findAccount: async (_ctx, sub) =>
      ACCOUNTS[sub] ? { accountId: sub, claims: async () => ({ sub }) } : undefined,
    // The role and bindings ride in the access tokens, as a realm's
    // mappers would put them there.
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind === "ClientCredentials") return { role: "service" };
      return ACCOUNTS[token.accountId];
    },
    ttl: {
      AccessToken: 300,
      ClientCredentials: (_ctx, _token, client) => SERVICE_CLIENTS[client.clientId]?.ttl ?? 300,
      DeviceCode: 600,
      Grant: 86400,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 86400,
      IdToken: 300,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["blangkon-test-cookie-key"] },
  });
  provider.on("server_error", (_ctx, err) => console.error("server_error", err));
  return provider;
}

let provider = makeProvider(loadKeys());

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

// The login page: the account name is all it asks (a test provider).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!DOCTYPE html><html><body><h1>Sign in</h1>
      <form method="post" action="/interaction/${details.uid}">
        <label>Account <input name="login"></label><button type="submit">Sign in</button>
      </form></body></html>`);
    return;
  }
  const form = await readForm(req);
  const login = form.get("login") || "";
  if (!ACCOUNTS[login]) {
    res.statusCode = 403;
    res.end("no such account");
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
}

const isLoopback = (req) => ["127.0.0.1", "::1", "::ffff:127.0.0.1"].includes(req.socket.remoteAddress);
const isJson = (req) => (req.headers["content-type"] || "").startsWith("application/json");

createServer(async (req, res) => {
  try {
    // The test's administration: from this machine, as JSON only (a page
    // in a browser cannot send that without asking first).
    const admin = req.url === "/__accounts" || req.url === "/__rotate";
    if (admin && (!isLoopback(req) || req.method !== "POST" || !isJson(req))) {
      res.statusCode = 403;
      res.end("administration is for this machine's tests, as JSON");
      return;
    }
    if (req.url === "/__accounts") {
      const body = await new Promise((resolve, reject) => {
        let text = "";
        req.on("data", (chunk) => (text += chunk));
        req.on("end", () => {
          try {
            resolve(JSON.parse(text));
          } catch (err) {
            reject(err);
          }
        });
        req.on("error", reject);
      });
      ACCOUNTS[body.id] = body.claims;
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.url === "/__rotate") {
      const old = loadKeys().keys[0];
      const rotated = { keys: [newKey(old.alg === "RS256" ? "ES256" : "RS256")] };
      writeFileSync(keysFile, JSON.stringify(rotated), { mode: 0o600 });
      provider = makeProvider(rotated);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ withdrawn: old.kid, current: rotated.keys[0].kid }));
      return;
    }
    if (req.url.startsWith("/interaction/")) {
      await interaction(req, res);
      return;
    }
    provider.callback()(req, res);
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end(String(err));
  }
}).listen(Number(port), "127.0.0.1", () => console.log(`oidc-provider listening at ${issuer}`));
