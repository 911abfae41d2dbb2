# Compare generated program domains with their parents (setools 4.x), for
# test/program-domain-refpolicy.test.ts. Reads a JSON request on stdin:
#   {"policy": BUILT, "original": ORIGINAL, "readAs": {TYPE: TYPE}, "execType": E,
#    "packetTypes": [...], "pairs": [{"parent": P, "domain": G}]}
# G's rights are read in BUILT (the policy with our module), P's in ORIGINAL (without it), so
# that nothing our module gives P can hide a right of G. Each of G's targets is read through
# readAs (G -> P, a sibling generated domain -> its parent, E -> bin_t). Prints, per pair and per
# boolean state (current, all-true, all-false), from the allow rules whose source is the domain
# or an attribute holding it, targets expanded to types:
#   excess      (target, class, perm) G holds and P does not, apart from the app's packet
#               types and G's entrypoint on E
#   packet      every packet permission G holds
#   entrypointTargets, backToParent (transition/dyntransition from G to P), dyntransition (G's targets)
#   lacks       what P holds and G does not (packets and entrypoints left out)
# and, in BUILT, the rules that may enter G (process transition/dyntransition on G or on an
# attribute of G) and the process type_transitions whose default is G.
import json, sys
import setools
from setools.exception import RuleNotConditional

req = json.load(sys.stdin)
built = setools.SELinuxPolicy(req["policy"])
original = setools.SELinuxPolicy(req["original"])
read_as = req["readAs"]
E = req["execType"]
tolerated = set(req["packetTypes"])
ENTERING = {"transition", "dyntransition"}
pairs = req["pairs"]
domains = {pair["domain"] for pair in pairs}

bools = {str(b): bool(b.state) for b in built.bools()}
states = {"current": bools, "all-true": {b: True for b in bools}, "all-false": {b: False for b in bools}}

expanded = {}
def expand(policy, x):
    key = (id(policy), str(x))
    if key not in expanded:
        expanded[key] = [str(t) for t in x.expand()]
    return expanded[key]

def allow_rules(policy, wanted):
    """The allow rules whose source is each of `wanted` or an attribute holding it."""
    holding = {}
    for d in wanted:
        for n in [d] + [str(a) for a in policy.lookup_type(d).attributes()]:
            holding.setdefault(n, set()).add(d)
    out = {d: [] for d in wanted}
    for rule in policy.terules():
        if rule.ruletype == setools.TERuletype.allow:
            for d in holding.get(str(rule.source), ()):
                out[d].append(rule)
    return out, holding

g_rules, g_holding = allow_rules(built, domains)
p_rules, _ = allow_rules(original, {pair["parent"] for pair in pairs})

into = {g: [] for g in domains}
type_into = {g: [] for g in domains}
xperm = {"built": [], "original": []}
for name, policy in (("built", built), ("original", original)):
    for rule in policy.terules():
        if str(rule.ruletype).endswith("xperm"):
            xperm[name].append(str(rule))
for rule in built.terules():
    kind = str(rule.ruletype)
    if kind == "allow" and str(rule.tclass) == "process":
        perms = ENTERING & {str(p) for p in rule.perms}
        if perms:
            for g in g_holding.get(str(rule.target), ()):
                into[g].append({"rule": str(rule), "source": str(rule.source), "target": str(rule.target),
                                "perms": sorted(perms), "sources": sorted(expand(built, rule.source))})
    elif kind == "type_transition" and str(rule.tclass) == "process" and str(rule.default) in domains:
        type_into[str(rule.default)].append(str(rule))

def active(rule, state):
    try:
        cond = rule.conditional
    except RuleNotConditional:
        return True
    return bool(cond.evaluate(**state)) == bool(rule.conditional_block)

def effective(policy, rules, state, rename):
    out = {}
    for rule in rules:
        if not active(rule, state):
            continue
        perms = {str(p) for p in rule.perms}
        for t in expand(policy, rule.target):
            out.setdefault((rename(t), str(rule.tclass)), set()).update(perms)
    return out

result = {"booleans": len(bools), "xperm": xperm, "pairs": []}
for pair in pairs:
    P, G = pair["parent"], pair["domain"]
    entry = {"parent": P, "domain": G, "into": into[G], "typeTransitionsInto": sorted(type_into[G]), "states": {}}
    for name, state in states.items():
        # Our module declares no boolean: both policies have the same.
        raw = effective(built, g_rules[G], state, lambda t: t)
        g = effective(built, g_rules[G], state, lambda t: read_as.get(t, t))
        p = effective(original, p_rules[P], state, lambda t: t)
        excess, packet, entries, back, dyn = [], [], set(), [], []
        for (t, cls), perms in raw.items():
            if "entrypoint" in perms:
                entries.add(t)
            if cls == "packet":
                packet += [[t, cls, x] for x in perms]
            if cls == "process" and t == P:
                back += sorted(perms & ENTERING)
            if cls == "process" and "dyntransition" in perms:
                dyn.append(t)
            held = p.get((read_as.get(t, t), cls), set())
            for x in perms - held:
                if not (cls == "packet" and t in tolerated) and not (t == E and cls == "file" and x == "entrypoint"):
                    excess.append([t, cls, x])
        lacks = []
        for (t, cls), perms in p.items():
            if cls != "packet":
                lacks += [[t, cls, x] for x in perms - g.get((t, cls), set()) if x != "entrypoint"]
        entry["states"][name] = {
            "excess": sorted(excess), "packet": sorted(packet), "entrypointTargets": sorted(entries),
            "backToParent": sorted(back), "dyntransition": sorted(dyn), "lacks": sorted(lacks),
            "triples": {"domain": sum(len(v) for v in raw.values()), "parent": sum(len(v) for v in p.values())},
        }
    result["pairs"].append(entry)
json.dump(result, sys.stdout)
