"""The layers of the tree, bottom first, and who may depend on each.

A layer's targets are visible only to the layers above it (and to its own
packages), so a dependency that points down the list builds and one that
points up fails `bazel build` with a visibility error. An #include of a
header outside a target's dependencies fails too (undeclared inclusion), so
a wrong-way include cannot slip in either. docs/layers.md explains why each
layer sits where it does; tests/layers_test.py checks every #include against
this list as well.

Side packages (tests, tools, bench, third_party) are not layers: they may
use any layer, and no layer uses them except through test-only targets.
"""

LAYERS = [
    ("ipc", ["//ipc"]),
    ("kernel/lib", ["//kernel/lib"]),
    ("kernel/sched", ["//kernel/sched"]),
    ("kernel/arch", ["//kernel/arch", "//boot"]),
    ("kernel/mm", ["//kernel/mm"]),
    ("kernel/drivers", ["//kernel/drivers", "//kernel/drivers/virtio"]),
    ("kernel/top", ["//kernel/top"]),
    ("services/runtime", ["//services/runtime"]),
    ("services", ["//services"]),  # every service: //services/NAME
    ("apps", ["//apps"]),
    ("images", ["//images"]),
]

_SIDE = ["//tests", "//tools", "//bench", "//third_party"]

def _packages(names):
    out = []
    for p in names:
        # "//services" and "//apps" hold one package per service or app.
        if p in ("//services", "//apps", "//third_party", "//tools"):
            out.append(p + ":__subpackages__")
        else:
            out.append(p + ":__pkg__")
    return out

def layer_visibility(layer):
    """Visibility for the targets of `layer`: its own packages and every layer above."""
    names = [name for name, _ in LAYERS]
    if layer not in names:
        fail("unknown layer %s (toolchain/layers.bzl)" % layer)
    index = names.index(layer)
    packages = []
    for _, pkgs in LAYERS[index:]:
        packages += pkgs
    return _packages(packages + _SIDE)
