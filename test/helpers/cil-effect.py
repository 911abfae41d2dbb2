# What a CIL module did to a binary policy (setools 4.x), for test/cil-oracle.test.ts: the
# policy semodule built with the module (POLICY) against the one it built before (ORIGINAL).
# Facts only; the test compares them with what policy.yaml says. Reads a JSON request on stdin:
#   {"mode": "types", "policy": P}  -> {"types": [every type and alias name]}
#   {"mode": "effect", "original": O, "policy": P} ->
#     newTypes      the types P has and O lacks: attributes, aliases, roles, permissive
#     removedTypes  the reverse
#     onNewTypes    every TE rule of P whose source, target (directly or through an attribute)
#                   or default is a new type, with its tuples: source and target expanded to types
#     otherRules    the TE rules naming no new type, as written (attributes kept), one tuple per
#                   permission: those P added and those it lost
#     components    everything else, as setools prints it, compared as sets (the old types
#                   with their attributes, aliases and permissive flag): what P added and lost
# A tuple is [ruletype, source, target, class, permission or "default=T[ name]", condition],
# the condition "" or "[ EXPR ]:True|False" (the branch).
import json, sys
import setools
from setools.exception import RuleNotConditional, RuleUseError

req = json.load(sys.stdin)


def names(x):
    return sorted(str(i) for i in x)


def condition(rule):
    try:
        return f"[ {rule.conditional} ]:{rule.conditional_block}"
    except RuleNotConditional:
        return ""


TYPE_RULES = {"type_transition", "type_change", "type_member"}


def outcomes(rule, ruletype):
    """The permissions of an AV rule, or the default of a type rule (with its file name)."""
    if ruletype in TYPE_RULES:
        try:
            name = f" {rule.filename}"
        except (RuleUseError, AttributeError):
            name = ""
        return [f"default={rule.default}{name}"]
    if rule.extended:
        return [f"{rule.xperm_type} {p}" for p in rule.perms]
    return rule.perms


if req["mode"] == "types":
    p = setools.SELinuxPolicy(req["policy"])
    out = set()
    for t in p.types():
        out.add(str(t))
        out.update(str(a) for a in t.aliases())
    json.dump({"types": sorted(out)}, sys.stdout)
    sys.exit(0)

original = setools.SELinuxPolicy(req["original"])
policy = setools.SELinuxPolicy(req["policy"])
old_types = {str(t) for t in original.types()}
new_types = {str(t) for t in policy.types()} - old_types

roles_of = {}
for r in policy.roles():
    for t in r.types():
        roles_of.setdefault(str(t), []).append(str(r))

# The names a rule may use to reach a new type: the type, or an attribute holding it.
reaching = set(new_types)
for t in policy.types():
    if str(t) in new_types:
        reaching.update(str(a) for a in t.attributes())

expanded = {}


def expand(x):
    key = str(x)
    if key not in expanded:
        expanded[key] = names(x.expand())
    return expanded[key]


on_new = []
tables = {}
for name, p in (("original", original), ("policy", policy)):
    table = tables[name] = {}
    for rule in p.terules():
        ruletype = rule.ruletype.name
        source, target = str(rule.source), str(rule.target)
        # In both policies, so that a rule on an attribute our type joined is not read as lost.
        if source in reaching or target in reaching or (ruletype in TYPE_RULES and str(rule.default) in new_types):
            if name == "policy":
                cond = condition(rule)
                tuples = [[ruletype, s, t, str(rule.tclass), o, cond] for s in expand(rule.source) for t in expand(rule.target) for o in sorted(outcomes(rule, ruletype))]
                on_new.append({"rule": str(rule), "tuples": tuples})
            continue
        table.setdefault((ruletype, source, target, str(rule.tclass), condition(rule)), set()).update(outcomes(rule, ruletype))


def rule_diff(a, b):
    """The tuples of table a that b lacks."""
    return sorted([*key[:4], o, key[4]] for key, outs in a.items() for o in outs - b.get(key, set()))


def type_text(t):
    if str(t) in new_types:
        return None
    return f"{t} attributes={names(t.attributes())} aliases={names(t.aliases())} permissive={bool(t.ispermissive)}"


def role_text(r):
    return f"{r}: {sorted(str(t) for t in r.types() if str(t) not in new_types)}"


def user_text(u):
    mls = f" level={u.mls_level} range={u.mls_range}" if original.mls else ""
    return f"{u}: roles={names(u.roles)}{mls}"


def class_text(c):
    try:
        common = f" inherits {c.common} {names(c.common.perms)}"
    except Exception:  # no common
        common = ""
    return f"{c}{common} {names(c.perms)}"


def with_context(x):
    return f"{x} {x.context}"


COMPONENTS = {
    "types": lambda p: (type_text(t) for t in p.types()),
    "attributes": lambda p: (str(a) for a in p.typeattributes()),
    "roles": lambda p: (role_text(r) for r in p.roles()),
    "users": lambda p: (user_text(u) for u in p.users()),
    "booleans": lambda p: (f"{b} default={b.state}" for b in p.bools()),
    "classes": lambda p: (class_text(c) for c in p.classes()),
    "commons": lambda p: (f"{c} {names(c.perms)}" for c in p.commons()),
    "rbacrules": lambda p: (str(r) for r in p.rbacrules()),
    "mlsrules": lambda p: (str(r) for r in p.mlsrules()),
    "constraints": lambda p: (str(c) for c in p.constraints()),
    "bounds": lambda p: (str(b) for b in p.bounds()),
    "defaults": lambda p: (str(d) for d in p.defaults()),
    "initialsids": lambda p: (with_context(s) for s in p.initialsids()),
    "fs_uses": lambda p: (str(x) for x in p.fs_uses()),
    "genfscons": lambda p: (str(x) for x in p.genfscons()),
    "portcons": lambda p: (str(x) for x in p.portcons()),
    "nodecons": lambda p: (str(x) for x in p.nodecons()),
    "netifcons": lambda p: (str(x) for x in p.netifcons()),
    "ibpkeycons": lambda p: (str(x) for x in p.ibpkeycons()),
    "ibendportcons": lambda p: (str(x) for x in p.ibendportcons()),
    "polcaps": lambda p: (str(x) for x in p.polcaps()),
    "categories": lambda p: (str(x) for x in p.categories()),
    "sensitivities": lambda p: (str(x) for x in p.sensitivities()),
    "settings": lambda p: [f"handle_unknown={p.handle_unknown} mls={p.mls} version={p.version}"],
}
components = {}
for key, read in COMPONENTS.items():
    before = {x for x in read(original) if x is not None}
    after = {x for x in read(policy) if x is not None}
    if before != after:
        components[key] = {"added": sorted(after - before), "removed": sorted(before - after)}

json.dump({
    "newTypes": [
        {
            "name": str(t),
            "attributes": names(t.attributes()),
            "aliases": names(t.aliases()),
            "roles": sorted(roles_of.get(str(t), [])),
            "permissive": bool(t.ispermissive),
        }
        for t in sorted(policy.types(), key=str) if str(t) in new_types
    ],
    "removedTypes": sorted(old_types - {str(t) for t in policy.types()}),
    "onNewTypes": on_new,
    "otherRules": {"added": rule_diff(tables["policy"], tables["original"]), "removed": rule_diff(tables["original"], tables["policy"])},
    "components": components,
}, sys.stdout)
