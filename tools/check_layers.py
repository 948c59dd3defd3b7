#!/usr/bin/env python3
"""Checks that every #include points down the layers of toolchain/layers.bzl.

Bazel already fails a wrong-way dependency (visibility) and a wrong-way
include (the header is not in the sandbox). This check covers what
visibility cannot say, services/runtime using a service (they share
//services), and prints every offence at once with the layer of each side.

Usage: tools/check_layers.py [--root=DIR]   (default: this file's checkout)
Exit status: 0 clean, 1 an include points up, 2 bad usage.
"""

import argparse
import ast
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE_SUFFIXES = (".h", ".cc", ".S")
SIDE = ("tests/", "tools/", "bench/", "third_party/", "toolchain/")


def load_layers(root):
    """[(layer name, [path prefixes])] bottom first, from layers.bzl's LAYERS."""
    text = open(os.path.join(root, "toolchain", "layers.bzl")).read()
    match = re.search(r"^LAYERS = (\[.*?^\])", text, re.M | re.S)
    if not match:
        raise SystemExit("check_layers: no LAYERS list in toolchain/layers.bzl")
    layers = ast.literal_eval(match.group(1))
    return [(name, [p.lstrip("/") + "/" for p in packages]) for name, packages in layers]


def layer_of(path, layers):
    """Index of the layer holding `path` (the longest matching prefix), None for side files."""
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if path.startswith(prefix) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def check(root):
    layers = load_layers(root)
    offences = []
    for directory, _, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        if rel_dir.startswith((".", "bazel-")) or "/." in rel_dir:
            continue
        for name in files:
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = os.path.normpath(os.path.join(rel_dir, name))
            if path.startswith(SIDE):
                continue
            own = layer_of(path, layers)
            if own is None:
                continue
            with open(os.path.join(root, path), errors="replace") as f:
                text = f.read()
            for included in INCLUDE.findall(text):
                other = layer_of(included, layers)
                if other is not None and other > own:
                    offences.append("%s (%s) includes %s (%s), a layer above it" % (
                        path, layers[own][0], included, layers[other][0]))
    return offences


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.realpath(__file__))), help="the checkout to check (default: this one)")
    args = parser.parse_args(argv)
    offences = check(args.root)
    for line in offences:
        print("check_layers: " + line)
    if offences:
        print("check_layers: %d include(s) point up; see docs/layers.md" % len(offences))
        return 1
    print("check_layers: every include points down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
