"""Walk two results.json and report differing leaves (old layout -> new layout mapping)."""
import json, math, sys

IGNORE = {"timings", "durations", "started", "finished", "path"}

def remap(new):
    """Map the new layout back onto the old keys (identity until the layout changes)."""
    if "analyses" not in new:
        return new
    out = {k: v for k, v in new.items() if k != "analyses"}
    a = new["analyses"]
    out["tables"] = {k: v["table"] for k, v in a.items() if v.get("kind") == "summary_table"}
    trend = [v for v in a.values() if v.get("kind") == "trend"]
    out["trend"] = trend[0]["trend"] if trend else None
    out["kaplan_meier"] = {k: {kk: vv for kk, vv in v.items() if kk not in ("kind", "title")} for k, v in a.items() if v.get("kind") == "km"}
    uni = [v for v in a.values() if v.get("kind") == "cox_univariable"]
    mv = [v for v in a.values() if v.get("kind") == "cox"]
    out["cox"] = {"univariable": uni[0]["models"] if uni else {}, "multivariable": mv[0]["model"] if mv else None}
    ps = [v for v in a.values() if v.get("kind") == "iptw"]
    if ps:
        out["propensity"] = {k: v for k, v in ps[0].items() if k not in ("kind", "title", "bootstrap")}
    m = [v for v in a.values() if v.get("kind") == "matching"]
    if m:
        out["matching"] = {k: v for k, v in m[0].items() if k not in ("kind", "title")}
    return out

def walk(a, b, path, diffs):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in IGNORE:
                continue
            if k not in b:
                diffs.append(f"{path}/{k}: missing in new")
                continue
            if k not in a:
                print(f"  (new key {path}/{k})")
                continue
            walk(a[k], b[k], f"{path}/{k}", diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{path}: length {len(a)} vs {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", diffs)
    elif isinstance(a, float) and isinstance(b, float):
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            diffs.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        diffs.append(f"{path}: {a!r} vs {b!r}")

old = json.load(open(sys.argv[1])); new = remap(json.load(open(sys.argv[2])))
drop = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
diffs = []
walk(old, new, "", diffs)
diffs = [d for d in diffs if not any(d.startswith(x) for x in drop)]
n = 0
def count(x):
    global n
    if isinstance(x, dict): [count(v) for v in x.values()]
    elif isinstance(x, list): [count(v) for v in x]
    else: n += 1
count(old)
print(f"{n} leaves in old; {len(diffs)} differences")
for d in diffs[:40]: print(" ", d)
sys.exit(1 if diffs else 0)
