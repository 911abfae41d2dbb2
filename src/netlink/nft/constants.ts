// nf_tables constants, named verbatim after include/uapi/linux/netfilter/nf_tables.h (and the
// few userspace-only ones after libnftnl and nftables, cited where they appear). Checked
// against the installed uapi header by test/netlink/constants.test.ts.

// ---------------------------------------------------------------- enum nf_tables_msg_types
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_GETTABLE = 1;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_GETSET = 10;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_GETSETELEM = 13;
export const NFT_MSG_DELSETELEM = 14;
export const NFT_MSG_NEWGEN = 15;
export const NFT_MSG_GETGEN = 16;
export const NFT_MSG_TRACE = 17;
export const NFT_MSG_NEWOBJ = 18;
export const NFT_MSG_GETOBJ = 19;
export const NFT_MSG_DELOBJ = 20;
export const NFT_MSG_GETOBJ_RESET = 21;

/** Names of the message types, for diagnostics (index = NFT_MSG_*). */
export const NFT_MSG_NAMES: readonly string[] = [
  'NFT_MSG_NEWTABLE', 'NFT_MSG_GETTABLE', 'NFT_MSG_DELTABLE',
  'NFT_MSG_NEWCHAIN', 'NFT_MSG_GETCHAIN', 'NFT_MSG_DELCHAIN',
  'NFT_MSG_NEWRULE', 'NFT_MSG_GETRULE', 'NFT_MSG_DELRULE',
  'NFT_MSG_NEWSET', 'NFT_MSG_GETSET', 'NFT_MSG_DELSET',
  'NFT_MSG_NEWSETELEM', 'NFT_MSG_GETSETELEM', 'NFT_MSG_DELSETELEM',
  'NFT_MSG_NEWGEN', 'NFT_MSG_GETGEN', 'NFT_MSG_TRACE',
  'NFT_MSG_NEWOBJ', 'NFT_MSG_GETOBJ', 'NFT_MSG_DELOBJ', 'NFT_MSG_GETOBJ_RESET',
];

// ---------------------------------------------------------------- enum nft_registers
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;
export const NFT_REG_3 = 3;
export const NFT_REG_4 = 4;
export const NFT_REG32_00 = 8;
/** NFT_REG_SIZE / NFT_REG32_SIZE */
export const NFT_REG_SIZE = 16;
export const NFT_REG32_SIZE = 4;

// ---------------------------------------------------------------- enum nft_list_attributes
export const NFTA_LIST_ELEM = 1;

// ---------------------------------------------------------------- enum nft_hook_attributes
export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;
export const NFTA_HOOK_DEV = 3;

// ---------------------------------------------------------------- enum nft_table_attributes
export const NFTA_TABLE_NAME = 1;
export const NFTA_TABLE_FLAGS = 2;
export const NFTA_TABLE_USE = 3;
export const NFTA_TABLE_HANDLE = 4;
export const NFTA_TABLE_PAD = 5;
export const NFTA_TABLE_USERDATA = 6;
export const NFTA_TABLE_OWNER = 7;
/** enum nft_table_flags */
export const NFT_TABLE_F_DORMANT = 0x1;
export const NFT_TABLE_F_OWNER = 0x2;

// ---------------------------------------------------------------- enum nft_chain_attributes
export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_HANDLE = 2;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
export const NFTA_CHAIN_USE = 6;
export const NFTA_CHAIN_TYPE = 7;
export const NFTA_CHAIN_COUNTERS = 8;
export const NFTA_CHAIN_PAD = 9;
export const NFTA_CHAIN_FLAGS = 10;
export const NFTA_CHAIN_ID = 11;
export const NFTA_CHAIN_USERDATA = 12;

// ---------------------------------------------------------------- enum nft_rule_attributes
export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_COMPAT = 5;
export const NFTA_RULE_POSITION = 6;
export const NFTA_RULE_USERDATA = 7;
export const NFTA_RULE_PAD = 8;
export const NFTA_RULE_ID = 9;

// ---------------------------------------------------------------- enum nft_set_flags
export const NFT_SET_ANONYMOUS = 0x1;
export const NFT_SET_CONSTANT = 0x2;
export const NFT_SET_INTERVAL = 0x4;
export const NFT_SET_MAP = 0x8;
export const NFT_SET_TIMEOUT = 0x10;
export const NFT_SET_EVAL = 0x20;
export const NFT_SET_OBJECT = 0x40;
export const NFT_SET_CONCAT = 0x80;
export const NFT_SET_EXPR = 0x100;

// ---------------------------------------------------------------- enum nft_set_desc_attributes / nft_set_field_attributes
export const NFTA_SET_DESC_SIZE = 1;
export const NFTA_SET_DESC_CONCAT = 2;
export const NFTA_SET_FIELD_LEN = 1;

// ---------------------------------------------------------------- enum nft_set_attributes
export const NFTA_SET_TABLE = 1;
export const NFTA_SET_NAME = 2;
export const NFTA_SET_FLAGS = 3;
export const NFTA_SET_KEY_TYPE = 4;
export const NFTA_SET_KEY_LEN = 5;
export const NFTA_SET_DATA_TYPE = 6;
export const NFTA_SET_DATA_LEN = 7;
export const NFTA_SET_POLICY = 8;
export const NFTA_SET_DESC = 9;
export const NFTA_SET_ID = 10;
export const NFTA_SET_TIMEOUT = 11;
export const NFTA_SET_GC_INTERVAL = 12;
export const NFTA_SET_USERDATA = 13;
export const NFTA_SET_PAD = 14;
export const NFTA_SET_OBJ_TYPE = 15;
export const NFTA_SET_HANDLE = 16;

// ---------------------------------------------------------------- enum nft_set_elem_attributes
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_FLAGS = 3;
export const NFTA_SET_ELEM_TIMEOUT = 4;
export const NFTA_SET_ELEM_EXPIRATION = 5;
export const NFTA_SET_ELEM_USERDATA = 6;
export const NFTA_SET_ELEM_EXPR = 7;
export const NFTA_SET_ELEM_PAD = 8;
export const NFTA_SET_ELEM_OBJREF = 9;
export const NFTA_SET_ELEM_KEY_END = 10;
/** enum nft_set_elem_flags */
export const NFT_SET_ELEM_INTERVAL_END = 0x1;

// ---------------------------------------------------------------- enum nft_set_elem_list_attributes
export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_ELEM_LIST_SET_ID = 4;

// ---------------------------------------------------------------- enum nft_data_attributes / nft_verdict_attributes
export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;
/** enum nft_data_types */
export const NFT_DATA_VALUE = 0;
export const NFT_DATA_VERDICT = 0xffffff00;

// ---------------------------------------------------------------- enum nft_expr_attributes
export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

// ---------------------------------------------------------------- enum nft_immediate_attributes
export const NFTA_IMMEDIATE_DREG = 1;
export const NFTA_IMMEDIATE_DATA = 2;

// ---------------------------------------------------------------- enum nft_bitwise_attributes
export const NFTA_BITWISE_SREG = 1;
export const NFTA_BITWISE_DREG = 2;
export const NFTA_BITWISE_LEN = 3;
export const NFTA_BITWISE_MASK = 4;
export const NFTA_BITWISE_XOR = 5;
export const NFTA_BITWISE_OP = 6;
export const NFTA_BITWISE_DATA = 7;

// ---------------------------------------------------------------- enum nft_byteorder_ops / nft_byteorder_attributes
export const NFT_BYTEORDER_NTOH = 0;
export const NFT_BYTEORDER_HTON = 1;
export const NFTA_BYTEORDER_SREG = 1;
export const NFTA_BYTEORDER_DREG = 2;
export const NFTA_BYTEORDER_OP = 3;
export const NFTA_BYTEORDER_LEN = 4;
export const NFTA_BYTEORDER_SIZE = 5;

// ---------------------------------------------------------------- enum nft_cmp_ops / nft_cmp_attributes
export const NFT_CMP_EQ = 0;
export const NFT_CMP_NEQ = 1;
export const NFT_CMP_LT = 2;
export const NFT_CMP_LTE = 3;
export const NFT_CMP_GT = 4;
export const NFT_CMP_GTE = 5;
export const NFTA_CMP_SREG = 1;
export const NFTA_CMP_OP = 2;
export const NFTA_CMP_DATA = 3;

// ---------------------------------------------------------------- enum nft_range_ops / nft_range_attributes
export const NFT_RANGE_EQ = 0;
export const NFT_RANGE_NEQ = 1;
export const NFTA_RANGE_SREG = 1;
export const NFTA_RANGE_OP = 2;
export const NFTA_RANGE_FROM_DATA = 3;
export const NFTA_RANGE_TO_DATA = 4;

// ---------------------------------------------------------------- enum nft_lookup_attributes
export const NFTA_LOOKUP_SET = 1;
export const NFTA_LOOKUP_SREG = 2;
export const NFTA_LOOKUP_DREG = 3;
export const NFTA_LOOKUP_SET_ID = 4;
export const NFTA_LOOKUP_FLAGS = 5;
/** enum nft_lookup_flags */
export const NFT_LOOKUP_F_INV = 1;

// ---------------------------------------------------------------- enum nft_payload_bases / nft_payload_attributes
export const NFT_PAYLOAD_LL_HEADER = 0;
export const NFT_PAYLOAD_NETWORK_HEADER = 1;
export const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
export const NFTA_PAYLOAD_DREG = 1;
export const NFTA_PAYLOAD_BASE = 2;
export const NFTA_PAYLOAD_OFFSET = 3;
export const NFTA_PAYLOAD_LEN = 4;
export const NFTA_PAYLOAD_SREG = 5;

// ---------------------------------------------------------------- enum nft_meta_keys / nft_meta_attributes
export const NFT_META_MARK = 3;
export const NFT_META_IIF = 4;
export const NFT_META_OIF = 5;
export const NFT_META_SECMARK = 14;
export const NFT_META_NFPROTO = 15;
export const NFT_META_L4PROTO = 16;
export const NFTA_META_DREG = 1;
export const NFTA_META_KEY = 2;
export const NFTA_META_SREG = 3;

// ---------------------------------------------------------------- enum nft_ct_keys / nft_ct_attributes
export const NFT_CT_STATE = 0;
export const NFT_CT_DIRECTION = 1;
export const NFT_CT_STATUS = 2;
export const NFT_CT_MARK = 3;
export const NFT_CT_SECMARK = 4;
export const NFTA_CT_DREG = 1;
export const NFTA_CT_KEY = 2;
export const NFTA_CT_DIRECTION = 3;
export const NFTA_CT_SREG = 4;

/**
 * Conntrack state bits, NF_CT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1) from
 * include/uapi/linux/netfilter/nf_conntrack_common.h. `ct state` loads them as a host-order u32.
 */
export const NF_CT_STATE_INVALID_BIT = 1 << 0;
export const NF_CT_STATE_ESTABLISHED_BIT = 1 << 1; // IP_CT_ESTABLISHED = 0
export const NF_CT_STATE_RELATED_BIT = 1 << 2; // IP_CT_RELATED = 1
export const NF_CT_STATE_NEW_BIT = 1 << 3; // IP_CT_NEW = 2
export const NF_CT_STATE_UNTRACKED_BIT = 1 << 6;

// ---------------------------------------------------------------- enum nft_counter_attributes
export const NFTA_COUNTER_BYTES = 1;
export const NFTA_COUNTER_PACKETS = 2;

// ---------------------------------------------------------------- enum nft_objref_attributes
export const NFTA_OBJREF_IMM_TYPE = 1;
export const NFTA_OBJREF_IMM_NAME = 2;
export const NFTA_OBJREF_SET_SREG = 3;
export const NFTA_OBJREF_SET_NAME = 4;
export const NFTA_OBJREF_SET_ID = 5;

// ---------------------------------------------------------------- enum nft_gen_attributes
export const NFTA_GEN_ID = 1;
export const NFTA_GEN_PROC_PID = 2;
export const NFTA_GEN_PROC_NAME = 3;

// ---------------------------------------------------------------- NFT_OBJECT_* / enum nft_object_attributes
export const NFT_OBJECT_UNSPEC = 0;
export const NFT_OBJECT_COUNTER = 1;
export const NFT_OBJECT_QUOTA = 2;
export const NFT_OBJECT_SECMARK = 8;
export const NFTA_OBJ_TABLE = 1;
export const NFTA_OBJ_NAME = 2;
export const NFTA_OBJ_TYPE = 3;
export const NFTA_OBJ_DATA = 4;
export const NFTA_OBJ_USE = 5;
export const NFTA_OBJ_HANDLE = 6;
export const NFTA_OBJ_PAD = 7;
export const NFTA_OBJ_USERDATA = 8;

// ---------------------------------------------------------------- enum nft_secmark_attributes
export const NFTA_SECMARK_CTX = 1;

// ---------------------------------------------------------------- libnftnl include/libnftnl/udata.h
// Userdata is opaque to the kernel: TLVs of { u8 type; u8 len; value } that nft(8) reads back.
export const NFTNL_UDATA_RULE_COMMENT = 0;
export const NFTNL_UDATA_SET_KEYBYTEORDER = 0;
export const NFTNL_UDATA_SET_DATABYTEORDER = 1;
export const NFTNL_UDATA_SET_MERGE_ELEMENTS = 2;
export const NFTNL_UDATA_SET_KEY_TYPEOF = 3;
export const NFTNL_UDATA_SET_DATA_TYPEOF = 4;
export const NFTNL_UDATA_SET_EXPR = 5;
export const NFTNL_UDATA_SET_DATA_INTERVAL = 6;
export const NFTNL_UDATA_SET_COMMENT = 7;
export const NFTNL_UDATA_SET_TYPEOF_EXPR = 0;
export const NFTNL_UDATA_SET_TYPEOF_DATA = 1;
/** NFTNL_UDATA_COMMENT_MAXLEN */
export const NFTNL_UDATA_COMMENT_MAXLEN = 128;

// ---------------------------------------------------------------- nftables include/datatype.h
// NFTA_SET_KEY_TYPE is nft's own datatype id (the kernel stores it for nft to read back).
// A concatenation is the ids shifted left by TYPE_BITS each, first field highest.
export const TYPE_BITS = 6;
export const TYPE_IPADDR = 7;
export const TYPE_IP6ADDR = 8;
export const TYPE_INET_PROTOCOL = 12;
export const TYPE_INET_SERVICE = 13;
/** enum byteorder (nftables include/expression.h): BYTEORDER_INVALID for concatenations. */
export const BYTEORDER_INVALID = 0;
