// Trying a registry's mirrors in order, then the registry itself (as containerd's resolver does).
// A mirror that cannot be reached, does not have the image, refuses us or fails is skipped; content
// that does not match its digest is never "skipped": it stops the pull, because it means someone is
// serving wrong bytes for this reference.
import { StrataError } from '../errors';
import type { Endpoint } from './config';

export interface EndpointFailure {
  endpoint: Endpoint;
  error: StrataError;
}

/** Runs `attempt` against each endpoint until one succeeds; returns its result and endpoint. */
export async function firstEndpoint<T>(
  endpoints: Endpoint[],
  what: string,
  attempt: (endpoint: Endpoint) => Promise<T>,
): Promise<{ endpoint: Endpoint; value: T }> {
  const failures: EndpointFailure[] = [];
  for (const endpoint of endpoints) {
    try {
      return { endpoint, value: await attempt(endpoint) };
    } catch (e) {
      if (!(e instanceof StrataError) || e.code === 'DIGEST' || e.code === 'CANCELLED') throw e;
      failures.push({ endpoint, error: e });
    }
  }
  if (failures.length === 1) throw failures[0]!.error;
  const lines = failures.map(
    (f) => `  ${f.endpoint.mirror ? 'mirror' : 'registry'} ${f.endpoint.base}: ${f.error.message}`,
  );
  // The most telling error decides the code: "not found" when any endpoint said so.
  const code = failures.some((f) => f.error.code === 'REF') ? 'REF' : 'REGISTRY';
  throw new StrataError(
    code,
    `cannot get ${what} from any of ${failures.length} places:\n${lines.join('\n')}`,
    failures[0]!.error.hint,
  );
}
