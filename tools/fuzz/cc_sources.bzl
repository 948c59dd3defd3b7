"""cc_sources: the .cc and .h files of cc_library targets, for tools that
compile them outside Bazel's C++ toolchain (libfuzzer_target in fuzz.bzl
builds a library with clang's libFuzzer; the toolchain here is gcc).

    cc_sources(name = "ext2_fuzz_sources", deps = [":ext2"])

An aspect walks `deps` transitively, so a file added to the library is
picked up without editing this list. Only this workspace's files are
collected: external libraries are not rebuilt.
"""

CcSourcesInfo = provider(fields = {"files": "depset of srcs, hdrs and textual_hdrs"})

def _collect_aspect_impl(target, ctx):
    direct = []
    for name in ["srcs", "hdrs", "textual_hdrs"]:
        for dep in getattr(ctx.rule.attr, name, []):
            direct += [f for f in dep.files.to_list() if not f.owner.workspace_name]
    transitive = [
        dep[CcSourcesInfo].files
        for dep in getattr(ctx.rule.attr, "deps", [])
        if CcSourcesInfo in dep
    ]
    return [CcSourcesInfo(files = depset(direct, transitive = transitive))]

_collect_aspect = aspect(
    implementation = _collect_aspect_impl,
    attr_aspects = ["deps"],
)

def _cc_sources_impl(ctx):
    files = depset(transitive = [dep[CcSourcesInfo].files for dep in ctx.attr.deps])
    return [DefaultInfo(files = files, runfiles = ctx.runfiles(transitive_files = files))]

cc_sources = rule(
    implementation = _cc_sources_impl,
    attrs = {"deps": attr.label_list(aspects = [_collect_aspect])},
)
