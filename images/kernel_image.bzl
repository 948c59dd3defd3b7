"""kernel_image: links kernel + services + an application into a bootable
image and makes `bazel run` boot it in QEMU.

    kernel_image(
        name = "hello",
        deps = ["//apps/hello"],       # the application (alwayslink: it defines AppMain)
        srcs = [],                     # or its sources here (tests/ uses this)
        guest_port = 0,                # guest TCP port the runner forwards, 0 for none
        default_host_port = 0,
        guest_udp_port = 0,            # guest UDP port the runner forwards, 0 for none
        default_host_udp_port = 0,
        flags = [],                    # default runner/image flags, before the user's
    )

creates
    :hello             runnable: `bazel run //images:hello -- [runner flags]`
    hello.elf          (an output of :hello) the bootable ELF (PVH), with a
                       symbol table for backtraces and no DWARF
    :hello_debug.elf   the same link with DWARF: what gdb loads for file:line,
                       locals and backtraces (`--gdb`; README, "Debugging")

The debug information stays out of the booted file so that its size means
what it says (bench/ compares kernel sizes); the addresses are the same.

Images are linked twice. The first link has an empty symbol table; its
function symbols become the .ksymtab section of the second link. That
section comes after all code (boot/linker.ld), so code addresses do not move
between the links; :NAME_symtab_check verifies it on every build.

Everything below the top-level target is built for the kernel platform: the
rule's transition switches to //toolchain:kernel_platform, so users need no
flags and `bazel build //...` on the host skips the kernel-only parts.
"""

load("//toolchain:defs.bzl", "KERNEL_ONLY")

def _kernel_platform_impl(settings, attr):
    # strip=never: Bazel's default strips debug information from fastbuild
    # links (-Wl,-S); the image rule strips the booted copy itself.
    return {
        "//command_line_option:platforms": "//toolchain:kernel_platform",
        "//command_line_option:strip": "never",
    }

_kernel_platform = transition(
    implementation = _kernel_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms", "//command_line_option:strip"],
)

def _image_impl(ctx):
    debug_elf = ctx.files.elf[0]
    check = ctx.files.symtab_check[0]
    elf = ctx.actions.declare_file(ctx.label.name + ".elf")
    ctx.actions.run(
        executable = "objcopy",
        arguments = ["--strip-debug", debug_elf.path, elf.path],
        inputs = [debug_elf],
        outputs = [elf],
        mnemonic = "StripDebug",
        progress_message = "Stripping DWARF from %s" % elf.short_path,
    )
    launcher = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.write(
        output = launcher,
        is_executable = True,
        content = """#!/bin/sh
# Boots {elf} in QEMU; see images/run.py --help.
set -e
here=$(dirname "$0")
runfiles="${{RUNFILES_DIR:-$0.runfiles}}"
[ -d "$runfiles" ] || runfiles="${{TEST_SRCDIR:-$here}}"
ws="$runfiles/{workspace}"
exec python3 "$ws/{runner}" --kernel="$ws/{elf}" --debug-elf="$ws/{debug_elf}" --name={name} \
  --guest-port={guest_port} --default-port={default_port} \
  --guest-udp-port={guest_udp_port} --default-udp-port={default_udp_port} {flags} "$@"
""".format(
            elf = elf.short_path,
            debug_elf = debug_elf.short_path,
            workspace = ctx.workspace_name,
            runner = ctx.file._runner.short_path,
            name = ctx.label.name,
            guest_port = ctx.attr.guest_port,
            default_port = ctx.attr.default_host_port,
            guest_udp_port = ctx.attr.guest_udp_port,
            default_udp_port = ctx.attr.default_host_udp_port,
            flags = " ".join(["'%s'" % a.replace("'", "'\\''") for a in ctx.attr.flags]),
        ),
    )
    runfiles = ctx.runfiles(files = [elf, debug_elf, ctx.file._runner, check])
    return [DefaultInfo(
        executable = launcher,
        files = depset([launcher, elf, debug_elf]),
        runfiles = runfiles,
    )]

_kernel_image = rule(
    implementation = _image_impl,
    executable = True,
    attrs = {
        "elf": attr.label(cfg = _kernel_platform, mandatory = True),
        "symtab_check": attr.label(cfg = _kernel_platform, mandatory = True),
        "guest_port": attr.int(default = 0),
        "default_host_port": attr.int(default = 0),
        "guest_udp_port": attr.int(default = 0),
        "default_host_udp_port": attr.int(default = 0),
        "flags": attr.string_list(default = []),
        "_runner": attr.label(default = "//images:run.py", allow_single_file = True),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

# What every image links under its application: the kernel and the message
# runtime's start-up on each core.
_KERNEL = [
    "//kernel/top",
    "//services/runtime:kernel_hooks",
]

_LINKOPTS = [
    "-T",
    "$(location //boot:linker.ld)",
]

def kernel_image(name, srcs = [], deps = [], guest_port = 0, default_host_port = 0, guest_udp_port = 0, default_host_udp_port = 0, flags = [], visibility = None, **kwargs):
    native.cc_library(
        name = name + "_app",
        srcs = srcs,
        alwayslink = True,
        target_compatible_with = KERNEL_ONLY,
        deps = deps + _KERNEL,
    )
    common = dict(
        additional_linker_inputs = ["//boot:linker.ld"],
        linkopts = _LINKOPTS,
        target_compatible_with = KERNEL_ONLY,
        deps = [name + "_app"],
    )
    native.cc_binary(name = name + "_stage1.elf", **common)
    native.genrule(
        name = name + "_symtab",
        srcs = [name + "_stage1.elf"],
        outs = [name + "_symtab.S"],
        tools = ["//images:gen_symtab.sh"],
        cmd = "$(location //images:gen_symtab.sh) nm $< > $@",
        target_compatible_with = KERNEL_ONLY,
    )
    native.cc_binary(name = name + "_debug.elf", srcs = [name + "_symtab.S"], **common)

    # Fails the build if any function moved between the two links.
    native.genrule(
        name = name + "_symtab_check",
        srcs = [name + "_stage1.elf", name + "_debug.elf"],
        outs = [name + "_symtab_check.txt"],
        cmd = ("nm -n --defined-only $(location {s1}) | grep -i ' t ' > $@.1 && " +
               "nm -n --defined-only $(location {s2}) | grep -i ' t ' > $@.2 && " +
               "if ! cmp -s $@.1 $@.2; then echo 'kernel_image: code moved between links' >&2; " +
               "diff $@.1 $@.2 | head >&2; exit 1; fi && echo ok > $@ && rm -f $@.1 $@.2").format(
            s1 = ":" + name + "_stage1.elf",
            s2 = ":" + name + "_debug.elf",
        ),
        target_compatible_with = KERNEL_ONLY,
    )
    _kernel_image(
        name = name,
        elf = name + "_debug.elf",
        symtab_check = name + "_symtab_check",
        guest_port = guest_port,
        default_host_port = default_host_port,
        guest_udp_port = guest_udp_port,
        default_host_udp_port = default_host_udp_port,
        flags = flags,
        visibility = visibility,
        **kwargs
    )
