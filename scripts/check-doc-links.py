#!/usr/bin/env python3
"""Checks the links of a document into the sources (default: docs/TOUR.md).

Every relative link must resolve to an existing file. A link whose text names code in
backticks, as [`Type.function`](../Sources/X/File.swift), must point at a file that
declares that last name: `func function`, `init(` for `Type.init`, or `struct`, `enum`,
`class`, `protocol`, `var`, `let` or `case` with that name.

    scripts/check-doc-links.py [DOCUMENT...]
"""
import os
import re
import sys

LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
DECLARATION = r"\b(func|struct|enum|class|protocol|var|let|case|typealias|actor)\s+{name}\b"


def check(document):
    problems, count = [], 0
    base = os.path.dirname(document)
    with open(document, encoding="utf-8") as file:
        text = file.read()
    for number, line in enumerate(text.splitlines(), 1):
        for label, target in LINK.findall(line):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor in the page
            count += 1
            path = os.path.normpath(os.path.join(base, target.split("#")[0]))
            if not os.path.isfile(path):
                problems.append(f"{document}:{number}: {target}: no such file")
                continue
            code = re.fullmatch(r"`([A-Za-z_][\w.]*)(\(.*\))?`", label)
            if not code:
                continue
            name = code.group(1).split(".")[-1]
            with open(path, encoding="utf-8") as source:
                declarations = source.read()
            pattern = r"\binit\s*[(<]" if name == "init" else DECLARATION.format(name=re.escape(name))
            if not re.search(pattern, declarations):
                problems.append(f"{document}:{number}: {label}: {target} declares no '{name}'")
    return problems, count


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    documents = sys.argv[1:] or [os.path.join(root, "docs", "TOUR.md")]
    failed = False
    for document in documents:
        problems, count = check(document)
        for problem in problems:
            print(problem)
        print(f"{document}: {count} links, {len(problems)} broken")
        failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
