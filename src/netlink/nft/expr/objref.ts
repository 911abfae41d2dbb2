// objref: apply a named stateful object, by name (`meta secmark set "x"`, `counter name "x"`)
// or by looking the key in sreg up in an object map (libnftnl src/expr/objref.c).
// libnftnl sends both names WITHOUT a trailing NUL (mnl_attr_put_str); so do we.

import {
  NFTA_OBJREF_IMM_NAME,
  NFTA_OBJREF_IMM_TYPE,
  NFTA_OBJREF_SET_ID,
  NFTA_OBJREF_SET_NAME,
  NFTA_OBJREF_SET_SREG,
} from '../constants.js';
import { need } from './data.js';
import type { ExprOps, ObjrefExpr } from './types.js';

export const objrefOps: ExprOps<ObjrefExpr> = {
  name: 'objref',
  encode(w, e) {
    if (e.mode === 'immediate') {
      w.attrU32(NFTA_OBJREF_IMM_TYPE, e.objType);
      w.attrStr(NFTA_OBJREF_IMM_NAME, e.name);
    } else {
      w.attrU32(NFTA_OBJREF_SET_SREG, e.sreg);
      w.attrStr(NFTA_OBJREF_SET_NAME, e.set);
      if (e.setId !== undefined) w.attrU32(NFTA_OBJREF_SET_ID, e.setId);
    }
  },
  decode(a) {
    const set = a.str(NFTA_OBJREF_SET_NAME);
    if (set === undefined) {
      return {
        kind: 'objref',
        mode: 'immediate',
        objType: need(a.u32(NFTA_OBJREF_IMM_TYPE), 'NFTA_OBJREF_IMM_TYPE'),
        name: need(a.str(NFTA_OBJREF_IMM_NAME), 'NFTA_OBJREF_IMM_NAME'),
      };
    }
    const setId = a.u32(NFTA_OBJREF_SET_ID);
    return {
      kind: 'objref',
      mode: 'set',
      sreg: need(a.u32(NFTA_OBJREF_SET_SREG), 'NFTA_OBJREF_SET_SREG'),
      set,
      ...(setId !== undefined ? { setId } : {}),
    };
  },
};
