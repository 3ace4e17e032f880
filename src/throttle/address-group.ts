import ipaddr from 'ipaddr.js';

/**
 * What a per-address limit counts by: an IPv4 address as it is, an IPv6 address by its /64 —
 * the smallest block a provider hands one customer (RFC 6177), so one customer holds 2^64
 * addresses and rotating through them must not reset a throttle. IPv4-mapped IPv6 is its IPv4
 * address. Anything unparsable is counted as given. (Audit records keep the full address.)
 */
export function addressGroup(address: string): string {
  const bare = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface, not a host
  if (!ipaddr.isValid(bare)) return address;
  const parsed = ipaddr.process(bare); // IPv4-mapped → IPv4
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
