"""app: an application, the code an image runs as AppMain.

    app(
        name = "echo",
        srcs = ["echo.cc"],
        deps = ["//services/net:net_client", "//services/net:start"],
    )

is a kernel-only library with everything an application may use from the
kernel and the message runtime (app.h, Log, the scheduler, the runtime), plus
`deps`. It is alwayslink: only the kernel refers to AppMain. An image names
it in images/BUILD (kernel_image).
"""

load("//toolchain:defs.bzl", "KERNEL_ONLY")

_APP_DEPS = [
    "//kernel/lib",
    "//kernel/lib:log",
    "//kernel/sched",
    "//kernel/top",
    "//services/runtime",
]

def app(name, srcs, deps = []):
    native.cc_library(
        name = name,
        srcs = srcs,
        alwayslink = True,
        target_compatible_with = KERNEL_ONLY,
        deps = deps + [d for d in _APP_DEPS if d not in deps],
    )
