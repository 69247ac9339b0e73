#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that reStructuredText files parse cleanly with docutils.

usage: check-rst.py <file.rst>...

Every warning or error docutils reports (bad markup, broken internal links, unknown
directives) fails the check. Sphinx's ``literalinclude``, which plain docutils does
not know, is checked for a file that exists and rendered as a literal block.
"""
import os
import sys

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives


class LiteralInclude(Directive):
    """Sphinx's literalinclude: the named file, relative to the document, verbatim."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = True
    option_spec = {"language": directives.unchanged, "lines": directives.unchanged}

    def run(self):
        source = self.state_machine.input_lines.source(
            self.lineno - self.state_machine.input_offset - 1)
        path = os.path.join(os.path.dirname(source), self.arguments[0])
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise self.error(f"literalinclude: cannot read {path}: {e.strerror}")
        lines = self.options.get("lines")
        if lines:
            # Sphinx's forms "N-", "N-M" and "N" (1-based, inclusive).
            first, _, last = lines.partition("-")
            try:
                start = int(first) - 1
                end = int(last) if last else (None if "-" in lines else start + 1)
            except ValueError:
                raise self.error(f"literalinclude: bad :lines: {lines}")
            all_lines = text.splitlines(keepends=True)
            if start < 0 or start >= len(all_lines):
                raise self.error(f"literalinclude: :lines: {lines} outside {path}")
            text = "".join(all_lines[start:end])
        return [nodes.literal_block(text, text)]


def main(paths):
    directives.register_directive("literalinclude", LiteralInclude)
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        doctree = publish_doctree(
            text, source_path=path,
            settings_overrides={"report_level": 5, "halt_level": 5})
        # Parser messages sit in the tree; those of the transforms (unknown link
        # targets, duplicate names) are kept aside.
        messages = list(doctree.findall(nodes.system_message))
        messages += doctree.transform_messages
        for msg in messages:
            if msg["level"] >= 2:
                bad += 1
                print(msg.astext().split("\n\n")[0])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
