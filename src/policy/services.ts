// Well-known service names → their ports, for the hint when a policy (or `explain --connect`)
// names a service instead of a port: `https` → tcp/443. A small built-in table rather than
// /etc/services, so that parsing stays pure and a diagnostic reads the same on every host (a
// minbase system has no /etc/services at all). Ports as IANA assigns them.

const TABLE: Readonly<Record<string, readonly string[]>> = {
  ftp: ['tcp/21'],
  ssh: ['tcp/22'],
  telnet: ['tcp/23'],
  smtp: ['tcp/25'],
  dns: ['udp/53', 'tcp/53'],
  domain: ['udp/53', 'tcp/53'],
  dhcp: ['udp/67', 'udp/68'],
  tftp: ['udp/69'],
  http: ['tcp/80'],
  www: ['tcp/80'],
  kerberos: ['udp/88', 'tcp/88'],
  pop3: ['tcp/110'],
  ntp: ['udp/123'],
  imap: ['tcp/143'],
  snmp: ['udp/161'],
  ldap: ['tcp/389'],
  https: ['tcp/443'],
  smb: ['tcp/445'],
  syslog: ['udp/514'],
  submission: ['tcp/587'],
  ldaps: ['tcp/636'],
  imaps: ['tcp/993'],
  pop3s: ['tcp/995'],
  openvpn: ['udp/1194'],
  mssql: ['tcp/1433'],
  nfs: ['tcp/2049', 'udp/2049'],
  mysql: ['tcp/3306'],
  rdp: ['tcp/3389'],
  squid: ['tcp/3128'],
  proxy: ['tcp/3128'],
  postgres: ['tcp/5432'],
  postgresql: ['tcp/5432'],
  amqp: ['tcp/5672'],
  vnc: ['tcp/5900'],
  redis: ['tcp/6379'],
  'http-alt': ['tcp/8080'],
  'https-alt': ['tcp/8443'],
  wireguard: ['udp/51820'],
};

/** The ports of a well-known service name (any case), or undefined. */
export function servicePorts(name: string): readonly string[] | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(TABLE, key) ? TABLE[key] : undefined;
}

/** `tcp/443`, or `udp/53 and tcp/53` (two entries). */
export function describeServicePorts(entries: readonly string[]): string {
  return entries.length === 1 ? entries[0]! : `${entries.slice(0, -1).join(', ')} and ${entries[entries.length - 1]!} (one entry each)`;
}
