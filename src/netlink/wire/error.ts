// NLMSG_ERROR replies: struct nlmsgerr { int error; struct nlmsghdr msg; } then the request's
// payload (unless NLM_F_CAPPED) then extended-ack TLVs (if NLM_F_ACK_TLVS): the kernel's text
// (NLMSGERR_ATTR_MSG) and the offset of the offending attribute in the request (NLMSGERR_ATTR_OFFS).

import { constants } from 'node:os';
import { AttrSet } from './attributes.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ALIGNTO,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';
import { HOST_LITTLE_ENDIAN } from './byte-order.js';
import { MalformedMessageError, type NetlinkMessage } from './message.js';

/** A decoded nlmsgerr: an acknowledgement when errno is 0, else an error. */
export interface NetlinkError {
  /** Positive errno; 0 for an ACK. */
  readonly errno: number;
  /** Symbolic name, e.g. `ENOENT` (`E<n>` when unknown). */
  readonly code: string;
  /** Header of the request this answers. */
  readonly request: { readonly seq: number; readonly type: number; readonly flags: number; readonly length: number };
  /** The kernel echoed only the request header (NLM_F_CAPPED). */
  readonly capped: boolean;
  /** NLMSGERR_ATTR_MSG */
  readonly message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset in the request, counted from its nlmsghdr. */
  readonly attrOffset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE / NLMSGERR_ATTR_MISS_NEST */
  readonly missingType?: number;
  readonly missingNestOffset?: number;
}

/**
 * The errno values the TypeScript side acts on, by name: the one place they are spelled (the
 * addon, in C, has errno.h). ERESTART is Linux-only, so Node does not list it.
 */
export const ERRNO = {
  EPERM: constants.errno.EPERM,
  ENOENT: constants.errno.ENOENT,
  EINTR: constants.errno.EINTR,
  ERESTART: 85,
} as const;

const ERRNO_NAMES: Record<number, string> = {};
for (const [name, value] of Object.entries(constants.errno)) ERRNO_NAMES[value] ??= name;
// Linux-only codes Node does not list.
ERRNO_NAMES[ERRNO.ERESTART] ??= 'ERESTART';

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** strerror(3) text for the codes nf_tables returns in practice. */
const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  E2BIG: 'Argument list too long',
  ENOMEM: 'Cannot allocate memory',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  ERESTART: 'Interrupted system call should be restarted',
  EMSGSIZE: 'Message too long',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENOBUFS: 'No buffer space available',
  ELOOP: 'Too many levels of symbolic links',
  ENOTDIR: 'Not a directory',
};

export function errnoText(errno: number): string {
  const name = errnoName(errno);
  return ERRNO_TEXT[name] ?? name;
}

export function decodeNlmsgerr(msg: NetlinkMessage): NetlinkError {
  const b = msg.buf;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const p = msg.offset + NLMSG_HDRLEN;
  const end = msg.offset + msg.length;
  if (p + 4 + NLMSG_HDRLEN > end) throw new MalformedMessageError('NLMSG_ERROR too short for struct nlmsgerr', msg.offset);
  const error = view.getInt32(p, HOST_LITTLE_ENDIAN);
  const r = p + 4;
  const request = {
    length: view.getUint32(r, HOST_LITTLE_ENDIAN),
    type: view.getUint16(r + 4, HOST_LITTLE_ENDIAN),
    flags: view.getUint16(r + 6, HOST_LITTLE_ENDIAN),
    seq: view.getUint32(r + 8, HOST_LITTLE_ENDIAN),
  };
  const capped = (msg.flags & NLM_F_CAPPED) !== 0 || error === 0;
  const errno = error === 0 ? 0 : -error;
  let result: NetlinkError = { errno, code: errno === 0 ? 'OK' : errnoName(errno), request, capped };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0) return result;
  // TLVs follow the echoed request: its header only when capped (and always for ACKs), else all of it.
  const echoed = (msg.flags & NLM_F_CAPPED) !== 0 || error === 0 ? NLMSG_HDRLEN : request.length;
  const tlvStart = r + ((echoed + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1));
  if (tlvStart >= end) return result;
  const tlvs = new AttrSet(b, tlvStart, end);
  const text = tlvs.str(NLMSGERR_ATTR_MSG);
  const offs = tlvs.hostU32(NLMSGERR_ATTR_OFFS);
  const missType = tlvs.hostU32(NLMSGERR_ATTR_MISS_TYPE);
  const missNest = tlvs.hostU32(NLMSGERR_ATTR_MISS_NEST);
  result = {
    ...result,
    ...(text !== undefined ? { message: text } : {}),
    ...(offs !== undefined ? { attrOffset: offs } : {}),
    ...(missType !== undefined ? { missingType: missType } : {}),
    ...(missNest !== undefined ? { missingNestOffset: missNest } : {}),
  };
  return result;
}
