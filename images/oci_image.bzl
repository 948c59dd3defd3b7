"""oci_image: the kernel of a kernel_image as an OCI image (tools/oci_image.py).

    oci_image(
        name = "webserver_oci",   # creates webserver_oci.tar, an oci-archive
        image = ":webserver",
        cmdline = "net_core=1",   # the kernel command line it boots with
        machine = "microvm",      # the annotation; pc and q35 boot it too
        memory = "256M",
        vcpus = 2,
        ports = ["tcp/80"],
        disk = ":site_disk",      # optional: an ext2 image, shipped at /disk/
        disk_readonly = True,
    )

cmdline, memory and vcpus say what the image's runner would boot with
(images/BUILD's flags); tests/oci_image_test.py compares them with the
runner's --print-command so the two cannot drift apart.
"""

def oci_image(name, image, cmdline = "", machine = "microvm", memory = "256M", vcpus = 1, ports = [], disk = None, disk_readonly = False):
    srcs = [image] + ([disk] if disk else [])
    disk_flags = ""
    if disk:
        disk_flags = "--disk=$(location %s)" % disk + (" --disk-readonly" if disk_readonly else "")
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".tar"],
        tools = ["//tools:oci_image"],
        # The image's files: its launcher, its ELF and the ELF with DWARF.
        cmd = ("kernel=$$(for f in $(locations {image}); do case $$f in */{base}.elf) echo $$f;; esac; done) && " +
               "$(location //tools:oci_image) --kernel=$$kernel --out=$@ --name={name} " +
               "--cmdline='{cmdline}' --machine={machine} --memory={memory} --vcpus={vcpus} {ports} {disk}").format(
            image = image,
            base = image.lstrip(":").split(":")[-1],
            name = name,
            cmdline = cmdline,
            machine = machine,
            memory = memory,
            vcpus = vcpus,
            ports = " ".join(["--port=" + p for p in ports]),
            disk = disk_flags,
        ),
    )
