// Shared fixtures of the scenarios: the peer network and the policy skeleton.
//
// Every scenario's policy comes from policy() below: within a boot the apps, their directions and
// the `unlabeled` mode stay the same, so the generated CIL module is the same and `secmarkc
// apply` installs it only once per boot: a semodule rebuild costs ~30 s under TCG. Only the
// addresses and ports differ, and those live in the nft table alone.

/** Peer namespace "peer" on a veth: host side .1 / ::1, peer side .10 / .20 / ::10 / ::20. */
export const HOST4 = '192.0.2.1';
export const PEER4 = '192.0.2.10';
export const HOST4B = '198.51.100.1';
export const PEER4B = '198.51.100.20';
export const HOST6 = '2001:db8::1';
export const PEER6 = '2001:db8::10';
export const HOST6B = '2001:db8:1::1';
export const PEER6B = '2001:db8:1::20';

/**
 * A remote host never sees our labels, but a namespace on the guest's own kernel does: a packet
 * keeps its secmark across the veth. So the peer's table relabels everything it receives with
 * smc_peer_packet_t (image/test-domains.cil), which its processes (unconfined_t) may use; what it
 * sends leaves unlabelled, as from a remote host.
 */
const PEER_TABLE = `table inet smc_peer {
  secmark peer { "system_u:object_r:smc_peer_packet_t:s0" }
  chain input {
    type filter hook input priority 0; policy accept;
    meta secmark set "peer"
  }
}
`;

/**
 * The peer namespace. `relabel: false` leaves its table out, for a scenario that needs a host
 * with no secmark object at all (one object anywhere turns packet checks on for every packet).
 */
export function peerNetwork(t, { relabel = true } = {}) {
  const ns = t.netns('peer', [
    [`${HOST4}/24`, `${PEER4}/24`],
    [`${HOST4B}/24`, `${PEER4B}/24`],
    [`${HOST6}/64`, `${PEER6}/64`],
    [`${HOST6B}/64`, `${PEER6B}/64`],
  ]);
  if (relabel) t.run(['nsenter', `--net=/run/netns/${ns}`, 'nft', '-f', '-'], { input: PEER_TABLE });
  return ns;
}

/** TCP and UDP echo listeners on every address, IPv4 and IPv6. */
export const listeners = (tcp = [], udp = []) => [
  ...tcp.flatMap((port) => [{ proto: 'tcp', host: '0.0.0.0', port }, { proto: 'tcp', host: '::', port }]),
  ...udp.flatMap((port) => [{ proto: 'udp', host: '0.0.0.0', port }, { proto: 'udp', host: '::', port }]),
];

const list = (xs) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
const rules = (key, rs) =>
  rs.map((r) => [`      - ports: ${list(r.ports)}`, ...(r[key] ? [`        ${key}: ${list(r[key])}`] : [])].join('\n')).join('\n');

const APP_A = { domain: 'smc_a_t', connect: [{ to: [PEER4, PEER6], ports: ['tcp/3128'] }] };
const APP_OTHER = { domain: 'smc_other_t', serve: [{ ports: ['tcp/9090'], from: ['192.0.2.0/24'] }] };

/**
 * The apps of the two skeletons, with their default rules. An option named app + direction
 * (`aConnect`, `srvServe`, ...) replaces that app's rules in that direction. Every boot but
 * `ports` uses the first; the boot `ports` (08-ports, 09-explain) has `ports: policy` and its own
 * apps (b connects too, srv only serves), so that those two scenarios share one CIL module.
 */
const SKELETONS = {
  default: {
    a: APP_A,
    srv: {
      domain: ['smc_server_t', 'smc_a_t'],
      connect: [{ to: ['127.0.0.1', '::1'], ports: ['tcp/8080', 'udp/8053'] }],
      serve: [{ ports: ['tcp/8080', 'udp/8053'] }],
    },
    other: APP_OTHER,
  },
  ports: {
    a: APP_A,
    b: { domain: 'smc_b_t', connect: [{ to: [PEER4B], ports: ['tcp/3129'] }] },
    srv: { domain: 'smc_server_t', serve: [{ ports: ['tcp/8080'] }] },
    other: APP_OTHER,
  },
};
const DIRECTIONS = { connect: 'to', serve: 'from' };
const optionName = (app, direction) => `${app}${direction[0].toUpperCase()}${direction.slice(1)}`;

/**
 * The policy every scenario applies: `ports: 'policy'` picks the `ports` boot's skeleton.
 * Each rule list must be non-empty (the directions decide the packet types, hence the module);
 * rules are {ports, to} for connect and {ports, from} for serve. An option the chosen skeleton
 * has no app or direction for throws, rather than leave the caller's rules silently out.
 */
export function policy({ unlabeled = 'deny', level, ports, ...rulesFor } = {}) {
  const apps = SKELETONS[ports === 'policy' ? 'ports' : 'default'];
  const known = Object.entries(apps).flatMap(([app, def]) => Object.keys(DIRECTIONS).filter((d) => def[d]).map((d) => optionName(app, d)));
  const unknown = Object.keys(rulesFor).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`policy(): ${unknown.join(', ')} not in this skeleton (${known.join(', ')})`);
  const appText = Object.entries(apps).map(([app, def]) => {
    const domain = Array.isArray(def.domain) ? `[${def.domain.join(', ')}]` : def.domain;
    const directions = Object.entries(DIRECTIONS)
      .filter(([d]) => def[d])
      .map(([d, key]) => `    ${d}:\n${rules(key, rulesFor[optionName(app, d)] ?? def[d])}\n`);
    return `  ${app}:\n    domain: ${domain}\n${directions.join('')}`;
  });
  return `# generated by vm-tests/guest/fixtures.mjs${ports === 'policy' ? ' (ports: policy)' : ''}
version: 1
table: secmarkc
unlabeled: ${unlabeled}
${level ? `level: ${level}\n` : ''}${ports ? `ports: ${ports}\n` : ''}apps:
${appText.join('')}`;
}

/**
 * The two policies 04-swap, 12-reload and 13-rollback switch between (P1 is also the systemd
 * scenarios' boot policy): the same apps and directions, hence the same module, but smc_a_t
 * reaches the peer's tcp/3128 under P1 and its tcp/3129 under P2.
 */
export const P1 = policy();
export const P2 = policy({ aConnect: [{ to: [PEER4], ports: ['tcp/3129'] }] });

/** A port that no portcon of Debian's refpolicy names specifically (unreserved_port_t: no packet types). */
export const UNNAMED_PORT = 40000;

/**
 * Lets the test domains listen on tcp/80 in the init namespace: they have no
 * CAP_NET_BIND_SERVICE (SELinux denies it), so lower the unprivileged port start for the
 * scenario; SELinux still checks name_bind on the port type. Restored at cleanup.
 */
export function allowLowPorts(t) {
  const key = '/proc/sys/net/ipv4/ip_unprivileged_port_start';
  const before = t.run(['cat', key]).stdout.trim();
  t.sh(`echo 0 > ${key}`);
  t.cleanups.push(() => t.sh(`echo ${before} > ${key}`, { allowFail: true }));
}
