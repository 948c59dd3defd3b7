"""oci_image: the kernel of a kernel_image as an OCI image (tools/oci_image.py).

    oci_image(
        name = "webserver_oci",   # creates webserver_oci.tar, an oci-archive
        image = ":webserver",
        cmdline = "net_core=1",   # the kernel command line it boots with
        machine = "pc",
        memory = "256M",
        vcpus = 2,
        ports = ["tcp/80"],
    )
"""

def oci_image(name, image, cmdline = "", machine = "pc", memory = "256M", vcpus = 1, ports = []):
    native.genrule(
        name = name,
        srcs = [image],
        outs = [name + ".tar"],
        tools = ["//tools:oci_image"],
        # The image's files: its launcher, its ELF and the ELF with DWARF.
        cmd = ("kernel=$$(for f in $(locations {image}); do case $$f in */{base}.elf) echo $$f;; esac; done) && " +
               "$(location //tools:oci_image) --kernel=$$kernel --out=$@ --name={name} " +
               "--cmdline='{cmdline}' --machine={machine} --memory={memory} --vcpus={vcpus} {ports}").format(
            image = image,
            base = image.lstrip(":").split(":")[-1],
            name = name,
            cmdline = cmdline,
            machine = machine,
            memory = memory,
            vcpus = vcpus,
            ports = " ".join(["--port=" + p for p in ports]),
        ),
    )
