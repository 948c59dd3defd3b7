"""Compatibility helpers shared by BUILD files."""

# Targets that only make sense inside the kernel (boot code, drivers).
KERNEL_ONLY = ["@platforms//os:none"]

# Targets that need a hosted C++ runtime (tests, tools, benchmarks).
HOST_ONLY = select({
    "//toolchain:kernel": ["@platforms//:incompatible"],
    "//conditions:default": [],
})
