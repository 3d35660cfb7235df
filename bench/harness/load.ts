/**
 * Load: a pool of sessions (one credential per autocannon connection), timed autocannon runs from
 * this process (programmatic API), and the lost-update burst. A session is presented the way the
 * contender's transport says: its cookies, or `Authorization: Bearer` with the token its
 * responses return in {@link TOKEN_HEADER}.
 */

import { Agent, type IncomingMessage, request } from 'node:http';
import autocannon, { type AutocannonResult, type Instance } from 'autocannon';
import { type BurstTrial, type Scenario, TOKEN_HEADER, type Transport } from './plan.js';

export type { BurstTrial, Scenario };

/** The request headers that present one session (`{}`: none). */
export type Credential = Readonly<Record<string, string>>;

/** Method and path of each scenario's request. */
export const ROUTES: Record<Scenario, { method: 'GET' | 'POST'; path: string }> = {
  A: { method: 'GET', path: '/a' },
  B: { method: 'GET', path: '/b' },
  C: { method: 'POST', path: '/c' },
};

let current: Instance | undefined;

/** Stop the autocannon run in progress, if any (time limit, Ctrl-C). */
export function stopLoad(): void {
  current?.stop();
}

/**
 * The credential a response issues under `transport`: its `Set-Cookie` pairs as one `cookie`
 * header, or its {@link TOKEN_HEADER} token as `Authorization: Bearer`; `{}` when it issues none.
 */
function issued(transport: Transport, res: IncomingMessage): Credential {
  if (transport === 'bearer') {
    const token = res.headers[TOKEN_HEADER];
    return typeof token === 'string' && token !== '' ? { authorization: `Bearer ${token}` } : {};
  }
  const pairs = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? '');
  return pairs.length === 0 ? {} : { cookie: pairs.join('; ') };
}

/** One response: status, body and the credential it issued under `transport`. */
export async function call(
  port: number,
  method: string,
  path: string,
  transport: Transport,
  credential: Credential,
  agent?: Agent,
): Promise<{ status: number; body: string; credential: Credential }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: credential,
        ...(agent === undefined ? {} : { agent }),
        timeout: 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body, credential: issued(transport, res) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Create `count` sessions (`POST /init`) and return their credentials under `transport`. Throws
 * when a response issues none: the load would otherwise measure anonymous requests.
 */
export async function createSessions(
  port: number,
  count: number,
  transport: Transport,
): Promise<Credential[]> {
  const credentials: Credential[] = [];
  for (let i = 0; i < count; i++) {
    const res = await call(port, 'POST', '/init', transport, {});
    if (res.status !== 200) throw new Error(`POST /init answered ${res.status}`);
    if (Object.keys(res.credential).length === 0) {
      throw new Error(`POST /init issued no session token (transport ${transport})`);
    }
    credentials.push(res.credential);
  }
  return credentials;
}

/**
 * Run autocannon for `seconds` with `connections` connections; connection i sends credential i
 * (scenario A sends none).
 */
export function runLoad(
  port: number,
  scenario: Scenario,
  credentials: readonly Credential[],
  connections: number,
  seconds: number,
): Promise<AutocannonResult> {
  const route = ROUTES[scenario];
  let next = 0;
  return new Promise((resolve, reject) => {
    current = autocannon(
      {
        url: `http://127.0.0.1:${port}${route.path}`,
        method: route.method,
        connections,
        duration: seconds,
        timeout: 10,
        setupClient: (client) => {
          const credential =
            scenario === 'A' ? {} : (credentials[next++ % credentials.length] ?? {});
          if (Object.keys(credential).length > 0) client.setHeaders({ ...credential });
        },
      },
      (error, result) => {
        current = undefined;
        if (error !== null) reject(error);
        else resolve(result);
      },
    );
  });
}

/**
 * `concurrency` concurrent `POST /c` on one fresh session, each on its own connection, then
 * `GET /counter`. A lost update is an increment that was answered 2xx yet is missing.
 */
export async function burst(
  port: number,
  concurrency: number,
  transport: Transport,
): Promise<BurstTrial> {
  const [credential = {}] = await createSessions(port, 1, transport);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: concurrency }, () =>
        call(port, 'POST', '/c', transport, credential, agent),
      ),
    );
    const ok = results.filter(
      (r) => r.status === 'fulfilled' && r.value.status >= 200 && r.value.status < 300,
    ).length;
    const res = await call(port, 'GET', '/counter', transport, credential);
    const final = Number((JSON.parse(res.body) as { counter?: number }).counter ?? 0);
    return { ok, failed: concurrency - ok, final, lost: Math.max(0, ok - final) };
  } finally {
    agent.destroy();
  }
}
