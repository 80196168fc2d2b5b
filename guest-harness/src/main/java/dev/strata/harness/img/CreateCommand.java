package dev.strata.harness.img;

import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.Sizes;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

/** {@code img create [-q] [-f fmt] [-b backing -F fmt] [-u] [-o options] FILE [SIZE]}. Stateless. */
final class CreateCommand implements ImgTool.Command {

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "b", "F", "o"), Set.of("q", "u"));
        if (a.positional().isEmpty()) {
            throw new ImgOptions.UsageException("Expecting image file name");
        }
        if (a.positional().size() > 2) {
            throw new ImgOptions.UsageException("Unexpected argument: " + a.positional().get(2));
        }
        String file = a.positional().get(0);
        String fmt = a.get("f", "raw");
        long size = -1;
        if (a.positional().size() == 2) {
            try {
                size = Sizes.parseBytes(a.positional().get(1), "size");
            } catch (BlockException e) {
                err.println(ImgTool.PROG + ": Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
                err.println(ImgTool.PROG + ": kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return 1;
            }
        }
        try {
            create(file, fmt, size, a, out);
            return 0;
        } catch (BlockException e) {
            err.println(ImgTool.PROG + ": " + file + ": " + e.getMessage());
            return 1;
        }
    }

    private static void create(String file, String fmt, long size, ImgOptions a, PrintStream out) {
        BlockDriverFactory f = DriverRegistry.standard().find(fmt);
        if (f == null) {
            throw BlockException.invalid("Unknown file format '" + fmt + "'");
        }
        if (!fmt.equals("qcow2") && !fmt.equals("raw")) {
            throw BlockException.unsupported("Format driver '" + fmt + "' does not support image creation");
        }
        BlockOptions o = a.has("o") ? BlockOptions.parse(a.get("o"), null) : BlockOptions.empty();
        if (a.has("b")) {
            o = o.with("backing_file", a.get("b"));
        }
        if (a.has("F")) {
            o = o.with("backing_fmt", a.get("F"));
        }
        java.util.Set<String> known = fmt.equals("qcow2") ? dev.strata.blockdrv.qcow2.Qcow2DriverFactory.createOptions()
                : java.util.Set.of("size");
        for (String k : o.keys()) {
            if (!known.contains(k)) {
                throw BlockException.invalid("Invalid parameter '" + k + "'");
            }
        }
        String backing = o.get("backing_file");
        if (backing != null && !f.supportsBacking()) {
            throw BlockException.unsupported("Backing file not supported for file format '" + fmt + "'");
        }
        if (backing != null && !o.has("backing_fmt")) {
            throw BlockException.invalid("Backing file specified without backing format");
        }
        if (backing != null && (size < 0 || !a.has("u"))) {
            // qemu-img opens the backing file to take its size, and to make sure it exists
            Path resolved = Path.of(file).toAbsolutePath().getParent().resolve(backing);
            long backingSize;
            try (OpenedImage b = OpenedImage.open(resolved.toString(), o.get("backing_fmt"), false, true, BlockOptions.empty())) {
                backingSize = b.node.size();
            } catch (BlockException e) {
                throw new BlockException(e.kind(), e.getMessage().replace(resolved.toString(), backing)
                        + System.lineSeparator() + "Could not open backing image.");
            }
            if (size < 0) {
                size = backingSize;
            }
        }
        if (size < 0) {
            throw BlockException.invalid("Image creation needs a size parameter");
        }
        if (!a.has("q")) {
            out.println("Formatting '" + file + "', fmt=" + fmt + " " + describe(fmt, size, o));
        }
        f.create(Path.of(file), size, o);
    }

    /** The option list qemu-img prints after {@code Formatting}, in its order. */
    static String describe(String fmt, long size, BlockOptions o) {
        if (!fmt.equals("qcow2")) {
            return "size=" + size;
        }
        StringBuilder sb = new StringBuilder();
        sb.append("cluster_size=").append(o.getSize("cluster_size", 65536));
        sb.append(" extended_l2=").append(o.getBool("extended_l2", false) ? "on" : "off");
        sb.append(" compression_type=").append(o.get("compression_type", "zlib"));
        sb.append(" size=").append(size);
        if (o.has("compat")) {
            sb.append(" compat=").append(o.get("compat"));
        }
        if (o.has("backing_file")) {
            sb.append(" backing_file=").append(o.get("backing_file"));
        }
        if (o.has("backing_fmt")) {
            sb.append(" backing_fmt=").append(o.get("backing_fmt"));
        }
        sb.append(" lazy_refcounts=").append(o.getBool("lazy_refcounts", false) ? "on" : "off");
        sb.append(" refcount_bits=").append(o.getSize("refcount_bits", 16));
        return sb.toString();
    }
}
