# compare-domains.py DOMAIN PARENT OWN_TYPES_REGEX [POLICY]
# "Never more than the parent", asked of a binary SELinux policy (the loaded one by default) with
# setools: every (target, class, permission) that DOMAIN holds through an allow rule (its own, or
# an attribute's it is in; conditional rules as their booleans decide) must be held by PARENT,
# reading DOMAIN as PARENT where it is the target, except packet permissions on OWN_TYPES_REGEX
# (the app's own labels). Checked under the booleans as they are, all on, and all off.
# Prints JSON: {"compared": N, "extra": [[state, target, class, perm], ...], "entrypoints": [...],
#               "parentOnly": N}; exit 0 (the caller judges).
import json, re, sys
import setools

domain, parent, own = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
policy = setools.SELinuxPolicy(sys.argv[4] if len(sys.argv) > 4 else None)
booleans = {str(b): bool(b.state) for b in policy.bools()}
states = {"current": booleans, "all-on": {b: True for b in booleans}, "all-off": {b: False for b in booleans}}

def expand(t, source):
    name = str(t)
    if name == "self":
        return [source]
    if isinstance(t, setools.policyrep.TypeAttribute):
        return [str(x) for x in t.expand()]
    return [name]

def rules_of(source):
    """[(targets, class, perms, conditional or None, block)] for the allow rules source holds."""
    out = []
    for r in setools.TERuleQuery(policy, ruletype=[setools.TERuletype.allow], source=source, source_indirect=True).results():
        try:
            cond, block = r.conditional, bool(r.conditional_block)
        except setools.exception.RuleNotConditional:
            cond, block = None, True
        out.append((expand(r.target, source), str(r.tclass), [str(p) for p in r.perms], cond, block))
    return out

def held(rules, values):
    got = set()
    for targets, tclass, perms, cond, block in rules:
        if cond is not None and bool(cond.evaluate(**{str(b): values[str(b)] for b in cond.booleans})) != block:
            continue
        for t in targets:
            for p in perms:
                got.add((t, tclass, p))
    return got

mine, theirs = rules_of(domain), rules_of(parent)
extra, compared, parent_only = [], 0, 0
entrypoints = set()
for name, values in states.items():
    g, p = held(mine, values), held(theirs, values)
    compared = max(compared, len(g))
    for t, c, perm in sorted(g):
        if c == "file" and perm == "entrypoint":
            entrypoints.add(t)
        if c == "packet" and own.search(t):
            continue
        if (parent if t == domain else t, c, perm) not in p:
            extra.append([name, t, c, perm])
    if name == "current":
        mapped = {(parent if t == domain else t, c, perm) for t, c, perm in g}
        parent_only = len([x for x in p if x not in mapped and x[1] != "packet"])
json.dump({"compared": compared, "extra": extra[:200], "extraCount": len(extra), "entrypoints": sorted(entrypoints), "parentOnly": parent_only}, sys.stdout)
