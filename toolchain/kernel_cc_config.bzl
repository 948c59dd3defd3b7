"""A freestanding x86-64 C++ toolchain for kernel code.

It drives the host's GCC with flags that make code safe to run in ring 0
without a C++ runtime: no exceptions, no RTTI, no red zone (interrupts
would clobber it), no SSE (the kernel does not save vector state), the
kernel code model (the image is linked in the top 2 GiB), frame pointers
kept for backtraces, and no implicit libraries at link time.
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")

_COMPILE_ACTIONS = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
]

_CXX_ACTIONS = [
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_static_library,
]

def _flags(actions, flags):
    return flag_set(actions = actions, flag_groups = [flag_group(flags = flags)])

def _impl(ctx):
    tools = [
        tool_path(name = "gcc", path = "/usr/bin/gcc"),
        tool_path(name = "g++", path = "/usr/bin/g++"),
        tool_path(name = "ld", path = "/usr/bin/ld"),
        tool_path(name = "ar", path = "/usr/bin/ar"),
        tool_path(name = "cpp", path = "/usr/bin/cpp"),
        tool_path(name = "nm", path = "/usr/bin/nm"),
        tool_path(name = "objcopy", path = "/usr/bin/objcopy"),
        tool_path(name = "objdump", path = "/usr/bin/objdump"),
        tool_path(name = "strip", path = "/usr/bin/strip"),
        tool_path(name = "gcov", path = "/usr/bin/false"),
        tool_path(name = "dwp", path = "/usr/bin/false"),
    ]

    freestanding = feature(
        name = "freestanding",
        enabled = True,
        flag_sets = [
            _flags(_COMPILE_ACTIONS, [
                "-ffreestanding",
                "-fno-pic",
                "-fno-pie",
                "-mcmodel=kernel",
                "-mno-red-zone",
                "-mgeneral-regs-only",
                "-mno-sse",
                "-mno-mmx",
                "-fno-stack-protector",
                "-fno-omit-frame-pointer",
                "-mno-omit-leaf-frame-pointer",
                # Tail calls would drop frames from panic backtraces.
                "-fno-optimize-sibling-calls",
                "-fno-builtin",
                "-fno-strict-aliasing",
                "-g",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Werror=return-type",
                "-no-canonical-prefixes",
                "-fno-canonical-system-headers",
                "-Wno-builtin-macro-redefined",
                "-D__DATE__=\"redacted\"",
                "-D__TIMESTAMP__=\"redacted\"",
                "-D__TIME__=\"redacted\"",
            ]),
            _flags(_CXX_ACTIONS, [
                "-std=c++20",
                "-fno-exceptions",
                "-fno-rtti",
                "-fno-threadsafe-statics",
                "-fno-use-cxa-atexit",
                "-fsized-deallocation",
            ]),
            _flags(_LINK_ACTIONS[:1], [
                "-nostdlib",
                "-static",
                "-no-pie",
                "-Wl,--build-id=none",
                "-Wl,-z,max-page-size=0x1000",
                "-Wl,--no-relax",
                "-Wl,--no-warn-rwx-segments",
                "-lgcc",
            ]),
        ],
    )

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "kernel-x86_64-gcc",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "x86_64-elf",
        target_cpu = "x86_64",
        target_libc = "none",
        compiler = "gcc",
        abi_version = "none",
        abi_libc_version = "none",
        tool_paths = tools,
        features = [freestanding, feature(name = "supports_pic", enabled = False)],
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/x86_64-linux-gnu/12/include",
            "/usr/include/c++/12",
            "/usr/include/x86_64-linux-gnu/c++/12",
            "/usr/include",
        ],
    )

kernel_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
