"""libfuzzer_target: a libFuzzer target as a test and as a binary to run.

    libfuzzer_target(
        name = "ext2_fuzz",          # also the work folder and env prefix
        src = "ext2_fuzz.cc",        # defines LLVMFuzzerTestOneInput
        library = ":ext2",           # the code under test
        script = "ext2_fuzz.sh",     # seeds and flags; sources libfuzzer.sh
        seconds = 45,                # fuzzing time of the test
    )

gives
  - `<name>_test`, an sh_test (tagged `fuzz`): seeds, a check that each
    runs cleanly, then `seconds` of fuzzing, or `$<PREFIX>_SECONDS`;
  - `<name>`, an sh_binary for `bazel run :<name> -- [libFuzzer flags or
    inputs]`, keeping its corpus in `$<PREFIX>_DIR`;
  - `<name>_sources`, `library`'s sources, which the script compiles with
    clang at run time (see libfuzzer.sh).
PREFIX is `env_prefix`, by default the name in capitals (EXT2_FUZZ).
"""

load("//toolchain:defs.bzl", "HOST_ONLY")
load(":cc_sources.bzl", "cc_sources")

_LIBFUZZER_SH = "//tools/fuzz:libfuzzer.sh"

def libfuzzer_target(
        name,
        src,
        library,
        script,
        seconds,
        env_prefix = None,
        size = "medium",
        data = []):
    sources = name + "_sources"
    cc_sources(
        name = sources,
        deps = [library],
    )

    # The script's arguments; libfuzzer.sh describes them.
    args = [
        name,
        env_prefix or name.upper(),
        str(seconds),
        "$(rootpath %s)" % src,
        "$(rootpaths :%s)" % sources,
        "--",
    ]
    common = dict(
        srcs = [script],
        data = [src, ":" + sources, _LIBFUZZER_SH] + data,
        tags = ["fuzz"],
        target_compatible_with = HOST_ONLY,
    )
    native.sh_test(
        name = name + "_test",
        size = size,
        args = ["$(rootpath %s)" % _LIBFUZZER_SH, "--test"] + args,
        **common
    )
    native.sh_binary(
        name = name,
        args = ["$(rootpath %s)" % _LIBFUZZER_SH, "--run"] + args,
        **common
    )
