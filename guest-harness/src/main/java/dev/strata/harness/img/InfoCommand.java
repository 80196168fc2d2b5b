package dev.strata.harness.img;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Sizes;
import dev.strata.blockdrv.qcow2.Qcow2Driver;
import dev.strata.blockdrv.qcow2.Qcow2Info;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code img info [-f fmt] [--output=human|json] [--backing-chain] [-U] FILE}. Stateless. */
final class InfoCommand implements ImgTool.Command {

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "output"), Set.of("U", "backing-chain", "q"));
        boolean json = a.json();
        if (a.positional().size() != 1) {
            throw new ImgOptions.UsageException("Expecting one image file name");
        }
        String file = a.positional().get(0);
        try (OpenedImage img = OpenedImage.open(file, a.get("f"), false, a.has("U"), BlockOptions.empty())) {
            List<Map<String, Object>> infos = new ArrayList<>();
            String name = file;
            for (BlockNode n = img.node; n != null; n = n.backing()) {
                infos.add(info(n, name));
                if (!a.has("backing-chain")) {
                    break;
                }
                Object full = infos.get(infos.size() - 1).get("full-backing-filename");
                name = full == null ? null : full.toString();
            }
            if (json) {
                out.println(PrettyJson.pretty(a.has("backing-chain") ? infos : infos.get(0)));
            } else {
                for (int i = 0; i < infos.size(); i++) {
                    if (i > 0) {
                        out.println();
                    }
                    out.print(human(infos.get(i)));
                }
            }
        }
        return 0;
    }

    /** qemu-img's ImageInfo for one layer, keys in the order qemu-img 7.2 prints them. */
    static Map<String, Object> info(BlockNode n, String shownName) {
        Map<String, Object> m = new LinkedHashMap<>();
        String backing = n.backingFileName();
        String backingFmt = n.driver().backingFormat();
        if (backing != null && backingFmt != null) {
            m.put("backing-filename-format", backingFmt);
        }
        m.put("virtual-size", n.size());
        m.put("filename", shownName);
        Qcow2Info q = n.driver() instanceof Qcow2Driver d ? d.info() : null;
        if (q != null) {
            m.put("cluster-size", q.clusterSize());
        }
        m.put("format", n.formatName());
        m.put("actual-size", OpenedImage.diskUsage(n.filename()));
        if (q != null) {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("compat", q.compat());
            data.put("compression-type", q.compressionType());
            if (q.version() >= 3) {
                data.put("lazy-refcounts", q.lazyRefcounts());
            }
            data.put("refcount-bits", q.refcountBits());
            if (q.version() >= 3) {
                data.put("corrupt", q.corrupt());
                data.put("extended-l2", q.extendedL2());
            }
            Map<String, Object> fs = new LinkedHashMap<>();
            fs.put("type", "qcow2");
            fs.put("data", data);
            m.put("format-specific", fs);
        }
        if (backing != null) {
            m.put("full-backing-filename", fullBackingName(shownName, backing));
            m.put("backing-filename", backing);
        }
        m.put("dirty-flag", q != null && q.dirty());
        return m;
    }

    /** QEMU combines a relative backing name with the directory part of the image name as given. */
    static String fullBackingName(String image, String backing) {
        if (backing.startsWith("/")) {
            return backing;
        }
        int slash = image.lastIndexOf('/');
        return slash < 0 ? backing : image.substring(0, slash + 1) + backing;
    }

    static String human(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        long vsize = (Long) m.get("virtual-size");
        sb.append("image: ").append(m.get("filename")).append('\n');
        sb.append("file format: ").append(m.get("format")).append('\n');
        sb.append("virtual size: ").append(Sizes.human(vsize)).append(" (").append(vsize).append(" bytes)\n");
        sb.append("disk size: ").append(Sizes.human((Long) m.get("actual-size"))).append('\n');
        if (m.containsKey("cluster-size")) {
            sb.append("cluster_size: ").append(m.get("cluster-size")).append('\n');
        }
        if (m.containsKey("backing-filename")) {
            String b = (String) m.get("backing-filename");
            String full = (String) m.get("full-backing-filename");
            sb.append("backing file: ").append(b);
            if (!b.equals(full)) {
                sb.append(" (actual path: ").append(full).append(')');
            }
            sb.append('\n');
            if (m.containsKey("backing-filename-format")) {
                sb.append("backing file format: ").append(m.get("backing-filename-format")).append('\n');
            }
        }
        if (m.get("format-specific") instanceof Map<?, ?> fs && fs.get("data") instanceof Map<?, ?> data) {
            sb.append("Format specific information:\n");
            for (Map.Entry<?, ?> e : data.entrySet()) {
                sb.append("    ").append(e.getKey().toString().replace('-', ' ')).append(": ").append(e.getValue()).append('\n');
            }
        }
        return sb.toString();
    }

    static String baseName(String f) {
        return Path.of(f).getFileName().toString();
    }
}
