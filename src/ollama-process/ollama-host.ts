import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/** The TCP port of an http(s) URL, defaults included (`http://host` is port 80, as Ollama reads it too). */
export function portOf(url: URL): number {
  if (url.port !== '') {
    return Number(url.port);
  }
  return url.protocol === 'https:' ? 443 : 80;
}

/** `OLLAMA_HOST` for an `ollama serve` that must listen where `url` points, e.g. `127.0.0.1:11434`. */
export function ollamaHostFor(url: URL): string {
  // URL keeps IPv6 hosts in brackets (`[::1]`), which is the form Ollama expects with a port.
  return `${url.hostname}:${portOf(url)}`;
}

/**
 * True when `hostname` names this machine: `localhost`, a loopback or unspecified address, or an address
 * of one of its network interfaces. Only then may the service start Ollama for that URL.
 */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return true;
  }
  const family = isIP(host);
  if (family === 4) {
    return host.startsWith('127.') || host === '0.0.0.0' || localAddresses('IPv4').includes(host);
  }
  if (family === 6) {
    const normalized = normalizeIpv6(host);
    return (
      normalized === '::1' || normalized === '::' || localAddresses('IPv6').map(normalizeIpv6).includes(normalized)
    );
  }
  return false;
}

function localAddresses(family: 'IPv4' | 'IPv6'): string[] {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => address.family === family)
    .map((address) => address.address.toLowerCase());
}

/** `0:0:0:0:0:0:0:1` and `::1` compare equal after this; good enough for the addresses compared here. */
function normalizeIpv6(address: string): string {
  // The zone (`fe80::1%eth0`) is not part of the address.
  return new URL(`http://[${address.replace(/%.*$/, '')}]`).hostname.replace(/^\[(.*)\]$/, '$1');
}
