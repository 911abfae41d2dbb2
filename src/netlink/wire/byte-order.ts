// Netlink headers (nlmsghdr, nlattr, nlmsgerr) are in host byte order; nf_tables attribute
// values are big-endian (network order), except register data whose order the expression
// defines (e.g. ct state bits are a host-order u32). One flag, computed once, says which.

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A host-order u32 as the 4 bytes the kernel keeps in a register. */
export function hostU32Bytes(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, HOST_LITTLE_ENDIAN);
  return out;
}
