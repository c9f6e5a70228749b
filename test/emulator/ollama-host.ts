/** `OLLAMA_HOST` as Ollama's `envconfig.Host()` reads it (used by the fake `ollama serve`). */
import { isIP } from 'node:net';

import { trimEnvValue } from './keep-alive';

export interface OllamaHost {
  scheme: string;
  /** '' means every interface. */
  host: string;
  port: number;
  /** `net.JoinHostPort(host, port)`, as Go prints it in `listen tcp …` errors. */
  hostport: string;
  /** Set when the port was invalid and the default was used instead. */
  warning?: { port: string; default: string };
}

/** Go's `net.SplitHostPort`; undefined where Go returns an error. */
function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || hostport[end + 1] !== ':') {
      return undefined;
    }
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const colon = hostport.lastIndexOf(':');
  if (colon < 0) {
    return undefined;
  }
  const host = hostport.slice(0, colon);
  if (host.includes(':') || host.includes('[') || host.includes(']')) {
    return undefined;
  }
  return { host, port: hostport.slice(colon + 1) };
}

export function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `[scheme://]host[:port][/path]`: a bare host gets 11434, `:PORT` binds every interface, an
 * explicit `http://` or `https://` without a port means 80 or 443, an invalid port falls back to
 * the default with a warning, and nothing at all means 127.0.0.1:11434.
 */
export function parseOllamaHost(raw: string | undefined): OllamaHost {
  const s = trimEnvValue(raw ?? '').trim();
  let scheme = 'http';
  let hostport = s;
  let defaultPort = '11434';
  const sep = s.indexOf('://');
  if (sep >= 0) {
    scheme = s.slice(0, sep);
    hostport = s.slice(sep + 3);
    if (scheme === 'http') {
      defaultPort = '80';
    } else if (scheme === 'https') {
      defaultPort = '443';
    }
  }
  const slash = hostport.indexOf('/');
  if (slash >= 0) {
    hostport = hostport.slice(0, slash);
  }
  let host: string;
  let port: string;
  const split = splitHostPort(hostport);
  if (split !== undefined) {
    host = split.host;
    port = split.port;
  } else {
    host = '127.0.0.1';
    port = defaultPort;
    const bare = hostport.replace(/^[[\]]+|[[\]]+$/g, '');
    if (isIP(bare) !== 0) {
      host = bare;
    } else if (hostport !== '') {
      host = hostport;
    }
  }
  let warning: OllamaHost['warning'];
  if (!/^[+-]?\d+$/.test(port) || Number(port) > 65535 || Number(port) < 0) {
    warning = { port, default: defaultPort };
    port = defaultPort;
  }
  const result: OllamaHost = { scheme, host, port: Number(port), hostport: joinHostPort(host, port) };
  return warning === undefined ? result : { ...result, warning };
}
