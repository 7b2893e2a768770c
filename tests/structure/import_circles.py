#!/usr/bin/env python3
"""Import circles between the files of each crate: prints each circle with its edges and exits 1
if there is one.

    python3 import_circles.py CRATE_SRC_DIR...

A file's module path comes from its place under `src/` (and `#[path]` attributes). A file
imports another when it names it: `use crate::a::b`, `super::x`, `self::x`, a path through
one of its own child modules (`child::item`), or a re-export that one of those goes through
(`use super::Thing` where `Thing` is re-exported by the parent counts as importing the
parent). Comments and `#[cfg(test)] mod tests` blocks are left out: a file's own tests may
use its parent.
"""
import os
import re
import sys


def module_path(src, file):
    parts = os.path.relpath(file, src)[:-3].split(os.sep)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def crate_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_path(src, path)] = path
    attribute = r'#\[path\s*=\s*"([^"]+)"\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)'
    for module, path in list(files.items()):
        for found in re.finditer(attribute, open(path).read()):
            target = os.path.normpath(os.path.join(os.path.dirname(path), found.group(1)))
            for other, other_path in list(files.items()):
                if other_path == target:
                    files.pop(other)
                    files[module + (found.group(2),)] = other_path
    return files


def use_paths(body):
    """`a::{b, c::{d}}` -> [[a, b], [a, c, d]]."""
    body = re.sub(r"\s+", "", body)

    def expand(prefix, text):
        if "{" not in text:
            return [prefix + text.split("::")] if text else [prefix]
        at = text.index("{")
        head = [p for p in text[:at].split("::") if p]
        inner = text[at + 1 : text.rindex("}")]
        out, depth, current = [], 0, ""
        for c in inner:
            if c == "," and depth == 0:
                out += expand(prefix + head, current)
                current = ""
                continue
            depth += c == "{"
            depth -= c == "}"
            current += c
        if current:
            out += expand(prefix + head, current)
        return out

    try:
        return expand([], body)
    except ValueError:  # not a use path (a `use` in a string or a macro's text)
        return []


def import_graph(src):
    files = crate_files(src)

    def owner(parts):
        for end in range(len(parts), 0, -1):
            if tuple(parts[:end]) in files:
                return tuple(parts[:end])
        return None

    def target(module, parts):
        parts = [p.split(" as ")[0] for p in parts if p]
        if not parts:
            return None
        if parts[0] == "crate":
            base, rest = [], parts[1:]
        elif parts[0] in ("super", "self"):
            base = list(module)
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base = base[:-1]
                parts = parts[1:]
            rest = parts
        elif owner(list(module) + parts[:1]) == module + (parts[0],):
            base, rest = list(module), parts
        else:
            return None
        found = owner(base + rest)
        return found if found not in (None, module, ()) else None

    graph = {module: set() for module in files}
    for module, path in files.items():
        text = re.sub(r"//[^\n]*", "", open(path).read())
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        named = [use for found in re.finditer(r"\buse\s+([^;]+);", text) for use in use_paths(found.group(1))]
        named += [found.group(1).split("::") for found in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text)]
        # `child::item`: through a child module (`crate`, `super`, `self` are read above).
        named += [
            [found.group(1)]
            for found in re.finditer(r"(?<![:\w])(\w+)::", text)
            if found.group(1) not in ("crate", "super", "self")
        ]
        for parts in named:
            imported = target(module, parts)
            if imported:
                graph[module].add(imported)
    return graph


def circles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main():
    total = 0
    for src in sys.argv[1:]:
        graph = import_graph(src)
        found = circles(graph)
        total += len(found)
        print(f"{src}: {len(graph)} files, {sum(map(len, graph.values()))} imports, {len(found)} circles")
        for component in found:
            name = lambda m: "/".join(m) or "lib"
            print("  circle:", ", ".join(sorted(map(name, component))))
            for a in component:
                for b in sorted(graph[a]):
                    if b in component:
                        print(f"    {name(a)} -> {name(b)}")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
