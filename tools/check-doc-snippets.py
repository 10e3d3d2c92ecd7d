#!/usr/bin/env python3
"""Checks that the C++ quoted by the guides (docs/*.md) is the code that compiles (examples/...).

A quote is a ```cpp block preceded by a marker line naming a source file and a region:

    <!-- snippet: examples/snippets/rooms.cpp#rooms-join -->
    ```cpp
    ...
    ```

The region is the text between `// [snippet rooms-join]` and `// [end]` in that file (the marker lines
excluded), with the indentation common to its lines removed. The block must equal it, line for line
(trailing spaces ignored).

Usage: check-doc-snippets.py [ROOT] [--update]
  ROOT      the repository (default: the parent of this script's folder)
  --update  rewrite the marked blocks from their sources instead of checking them

It also checks the relative links between the guides: `[text](file.md)` must name an existing file and
`[text](file.md#anchor)` / `[text](#anchor)` a heading of it (GitHub's anchors).

Exit status: 0 when every marked block matches (or was updated) and every link resolves, 1 otherwise.
Regions that no guide quotes are listed as a note.
"""

import difflib
import pathlib
import re
import sys

MARKER = re.compile(r"^<!--\s*snippet:\s*(\S+?)#(\S+)\s*-->\s*$")
REGION_START = re.compile(r"^\s*//\s*\[snippet\s+([A-Za-z0-9_.-]+)\]\s*$")
REGION_END = re.compile(r"^\s*//\s*\[end\]\s*$")
FENCE_OPEN = re.compile(r"^```cpp\s*$")
FENCE_CLOSE = re.compile(r"^```\s*$")


LINK = re.compile(r"\]\(([^)\s]*?\.md)?(?:#([^)\s]+))?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


def anchors_of(path):
    """The GitHub anchors of a Markdown file's headings (outside code blocks)."""
    anchors = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else HEADING.match(line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def check_links(doc, root, errors):
    fenced = False
    # HTML comments (notes to the maintainers) are not links; keep the line numbers.
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), doc.read_text(encoding="utf-8"),
                  flags=re.S)
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in LINK.finditer(line):
            target, anchor = match.group(1), match.group(2)
            if not target and not anchor:
                continue
            if target and "://" in target:
                continue
            path = (doc.parent / target).resolve() if target else doc
            where = f"{doc.relative_to(root)}:{number}"
            if not path.is_file():
                errors.append(f"{where}: link to a missing file {target}")
            elif anchor and anchor not in anchors_of(path):
                errors.append(f"{where}: {target or doc.name} has no heading for #{anchor}")


def dedent(lines):
    lines = [line.rstrip() for line in lines]
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return [line[cut:] if line.strip() else "" for line in lines]


def regions_of(path, errors):
    """{name: [lines]} of a source file."""
    regions = {}
    current = None
    body = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        start = REGION_START.match(line)
        if start:
            if current is not None:
                errors.append(f"{path}:{number}: region '{start.group(1)}' starts inside '{current}'")
            current, body = start.group(1), []
            if current in regions:
                errors.append(f"{path}:{number}: region '{current}' defined twice")
        elif REGION_END.match(line):
            if current is None:
                errors.append(f"{path}:{number}: [end] without a region")
            else:
                regions[current] = dedent(body)
                current = None
        elif current is not None:
            body.append(line)
    if current is not None:
        errors.append(f"{path}: region '{current}' has no [end]")
    return regions


def main(argv):
    update = "--update" in argv
    args = [a for a in argv if a != "--update"]
    root = pathlib.Path(args[0]) if args else pathlib.Path(__file__).resolve().parent.parent
    errors = []
    sources = {}  # relative path -> regions
    used = set()
    quotes = 0

    def region(rel, name, where):
        if rel not in sources:
            path = root / rel
            if not path.is_file():
                errors.append(f"{where}: no such source file {rel}")
                sources[rel] = None
            else:
                sources[rel] = regions_of(path, errors)
        regions = sources[rel]
        if regions is None:
            return None
        if name not in regions:
            errors.append(f"{where}: {rel} has no region '{name}'")
            return None
        used.add((rel, name))
        return regions[name]

    for doc in sorted((root / "docs").glob("*.md")):
        check_links(doc, root, errors)
        lines = doc.read_text(encoding="utf-8").splitlines()
        out = []
        i = 0
        changed = False
        while i < len(lines):
            line = lines[i]
            out.append(line)
            marker = MARKER.match(line)
            i += 1
            if not marker:
                continue
            where = f"{doc.relative_to(root)}:{i}"
            if i >= len(lines) or not FENCE_OPEN.match(lines[i]):
                errors.append(f"{where}: a snippet marker must be followed by a ```cpp block")
                continue
            out.append(lines[i])
            close = i + 1
            while close < len(lines) and not FENCE_CLOSE.match(lines[close]):
                close += 1
            if close >= len(lines):
                errors.append(f"{where}: unterminated ```cpp block")
                out.extend(lines[i + 1:])
                break
            block = [b.rstrip() for b in lines[i + 1:close]]
            quotes += 1
            expected = region(marker.group(1), marker.group(2), where)
            if expected is None:
                out.extend(lines[i + 1:close + 1])
            elif block != expected:
                if update:
                    out.extend(expected)
                    out.append(lines[close])
                    changed = True
                else:
                    diff = difflib.unified_diff(expected, block, f"{marker.group(1)}#{marker.group(2)}",
                                                str(doc.relative_to(root)), lineterm="")
                    errors.append(f"{where}: the quote differs from its source:\n" + "\n".join(diff))
                    out.extend(lines[i + 1:close + 1])
            else:
                out.extend(lines[i + 1:close + 1])
            i = close + 1
        if update and changed:
            doc.write_text("\n".join(out) + "\n", encoding="utf-8")
            print(f"updated {doc.relative_to(root)}")

    for rel, regions in sorted((k, v) for k, v in sources.items() if v):
        for name in sorted(regions):
            if (rel, name) not in used:
                print(f"note: {rel}#{name} is quoted by no guide")
    snippet_dir = root / "examples" / "snippets"
    for path in sorted(snippet_dir.glob("*.cpp")) if snippet_dir.is_dir() else []:
        rel = str(path.relative_to(root))
        if rel not in sources and path.name != "main.cpp":
            print(f"note: {rel} is quoted by no guide")

    for e in errors:
        print(f"error: {e}")
    print(f"{quotes} quotes checked, {len(errors)} errors")
    if quotes == 0:
        print("error: no marked quote found (is ROOT right?)")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
