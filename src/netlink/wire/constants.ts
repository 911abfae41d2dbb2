// Generic netlink and nfnetlink constants, named verbatim after the kernel's uapi headers so
// that they can be grepped for there. Values are checked against /usr/include by a test.

// ---------------------------------------------------------------- include/uapi/linux/netlink.h

/** Netlink protocol of nfnetlink sockets. */
export const NETLINK_NETFILTER = 12;
/** Socket options (SOL_NETLINK) for capped acks and extended-ack TLVs. */
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;

/** sizeof(struct nlmsghdr) */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;

// nlmsg_type control messages
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

// nlmsg_flags: standard
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
// modifiers to GET requests
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// modifiers to NEW requests
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
// modifiers to DELETE requests
export const NLM_F_NONREC = 0x100;
// flags of NLMSG_ERROR replies (acknowledgements)
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** enum nlmsgerr_attrs: extended-ack TLVs after struct nlmsgerr. */
export const NLMSGERR_ATTR_UNUSED = 0;
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

/** sizeof(struct nlattr) */
export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
/** nla_len is a __u16: no attribute, nests included, can be longer. */
export const NLA_MAX_LEN = 0xffff;

// ---------------------------------------------------------------- include/uapi/linux/netfilter/nfnetlink.h

/** sizeof(struct nfgenmsg) */
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NONE = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = NLMSG_MIN_TYPE;
export const NFNL_MSG_BATCH_END = NLMSG_MIN_TYPE + 1;
/** enum nfnl_batch_attributes */
export const NFNL_BATCH_UNSPEC = 0;
export const NFNL_BATCH_GENID = 1;

/** NFNL_SUBSYS_ID(x) / NFNL_MSG_TYPE(x) */
export function NFNL_SUBSYS_ID(type: number): number {
  return (type & 0xff00) >> 8;
}
export function NFNL_MSG_TYPE(type: number): number {
  return type & 0x00ff;
}

// ---------------------------------------------------------------- include/uapi/linux/netfilter.h

export const NFPROTO_UNSPEC = 0;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_ARP = 3;
export const NFPROTO_NETDEV = 5;
export const NFPROTO_BRIDGE = 7;
export const NFPROTO_IPV6 = 10;

/** Verdicts (NF_ACCEPT is a chain policy). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** enum nf_inet_hooks */
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;
