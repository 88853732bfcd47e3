#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

    python3 scripts/check-module-cycles.py chatkit-leads-core/src

Reads every `.rs` file under the source folder, maps each module to the
modules its code names (`crate::x`, `super::x`; comments and `mod tests`
blocks are ignored) and reports every strongly connected group of more than
one module. A parent declaring its children is not an edge; a child using its
parent's items is. Each module should depend one way (docs/architecture.md).
"""
import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3]
    if rel.endswith("/mod"):
        rel = rel[: -len("/mod")]
    return "" if rel == "lib" else rel.replace("/", "::")


def imports(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            module = module_of(root, path)
            text = open(path, encoding="utf-8").read().split("#[cfg(test)]\nmod tests")[0]
            code = "\n".join(l for l in text.splitlines() if not l.strip().startswith("//"))
            names = set(re.findall(r"crate::([a-z_]+(?:::[a-z_]+)?)", code))
            # `super` is the module's parent, for `x.rs` and `x/mod.rs` alike.
            parent = "::".join(module.split("::")[:-1])
            names |= {(parent + "::" if parent else "") + n for n in re.findall(r"super::([a-z_]+)", code)}
            found[module] = names
    return found


def resolve(name, modules):
    parts = name.split("::")
    for end in range(len(parts), 0, -1):
        candidate = "::".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def cycles(graph):
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def main():
    root = sys.argv[1]
    found = imports(root)
    graph = {m: {resolve(n, found) for n in names} - {None, m} for m, names in found.items()}
    groups = cycles(graph)
    for group in groups:
        print("modules importing each other in a circle: " + " <-> ".join(group), file=sys.stderr)
    if groups:
        sys.exit(1)
    print(f"{root}: no import circles between modules")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
