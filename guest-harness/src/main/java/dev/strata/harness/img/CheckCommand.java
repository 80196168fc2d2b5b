package dev.strata.harness.img;

import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.qcow2.CheckResult;
import dev.strata.blockdrv.qcow2.Qcow2Check;
import dev.strata.blockdrv.qcow2.Qcow2Driver;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code img check [-f fmt] [-r leaks|all] [--output=human|json] [-q] [-U] FILE}. Exit codes as
 * qemu-img: 0 clean, 1 check not possible, 2 corruptions, 3 leaks only, 63 format without checks.
 * Stateless.
 */
final class CheckCommand implements ImgTool.Command {

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "r", "output", "T"), Set.of("q", "U"));
        boolean json = a.json();
        if (a.positional().size() != 1) {
            throw new ImgOptions.UsageException("Expecting one image file name");
        }
        Qcow2Check.Repair repair = Qcow2Check.Repair.NONE;
        if (a.has("r")) {
            repair = switch (a.get("r")) {
                case "leaks" -> Qcow2Check.Repair.LEAKS;
                case "all" -> Qcow2Check.Repair.ALL;
                default -> throw new ImgOptions.UsageException("Invalid option for -r. Try '-r leaks' or '-r all'");
            };
            if (a.has("U")) {
                throw new ImgOptions.UsageException("--force-share/-U is not allowed with -r");
            }
        }
        String file = a.positional().get(0);
        boolean quiet = a.has("q");
        BlockOptions extra = BlockOptions.empty().with("x-check", "on");
        try (OpenedImage img = OpenedImage.open(file, a.get("f"), repair != Qcow2Check.Repair.NONE, a.has("U"), extra)) {
            if (!(img.node.driver() instanceof Qcow2Driver q)) {
                err.println(ImgTool.PROG + ": This image format does not support checks");
                return 63;
            }
            CheckResult r = q.check(repair, line -> {
                if (!quiet) {
                    err.println(line);
                }
            });
            if (json) {
                out.println(PrettyJson.pretty(json(r, file)));
            } else if (!quiet) {
                out.print(human(r));
            }
            return r.exitCode();
        }
    }

    static Map<String, Object> json(CheckResult r, String file) {
        // key order as qemu-img 7.2 prints it (its QDict order, not the schema's)
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("image-end-offset", r.imageEndOffset());
        if (r.compressedClusters() > 0) {
            m.put("compressed-clusters", r.compressedClusters());
        }
        m.put("total-clusters", r.totalClusters());
        if (r.corruptions() > 0) {
            m.put("corruptions", r.corruptions());
        }
        if (r.corruptionsFixed() > 0) {
            m.put("corruptions-fixed", r.corruptionsFixed());
        }
        m.put("check-errors", r.checkErrors());
        if (r.leaks() > 0) {
            m.put("leaks", r.leaks());
        }
        if (r.leaksFixed() > 0) {
            m.put("leaks-fixed", r.leaksFixed());
        }
        if (r.allocatedClusters() > 0) {
            m.put("allocated-clusters", r.allocatedClusters());
        }
        m.put("filename", file);
        m.put("format", "qcow2");
        if (r.fragmentedClusters() > 0) {
            m.put("fragmented-clusters", r.fragmentedClusters());
        }
        return m;
    }

    static String human(CheckResult r) {
        StringBuilder sb = new StringBuilder();
        if (r.corruptionsFixed() > 0 || r.leaksFixed() > 0) {
            sb.append("The following inconsistencies were found and repaired:\n\n");
            sb.append("    ").append(r.leaksFixed()).append(" leaked clusters\n");
            sb.append("    ").append(r.corruptionsFixed()).append(" corruptions\n\n");
            sb.append("Double checking the fixed image now...\n");
        }
        if (r.corruptions() == 0 && r.leaks() == 0 && r.checkErrors() == 0) {
            sb.append("No errors were found on the image.\n");
        } else {
            if (r.corruptions() > 0) {
                sb.append('\n').append(r.corruptions()).append(" errors were found on the image.\n");
                sb.append("Data may be corrupted, or further writes to the image may corrupt it.\n");
            }
            if (r.leaks() > 0) {
                sb.append('\n').append(r.leaks()).append(" leaked clusters were found on the image.\n");
                sb.append("This means waste of disk space, but no harm to data.\n");
            }
            if (r.checkErrors() > 0) {
                sb.append('\n').append(r.checkErrors()).append(" internal errors have occurred during the check.\n");
            }
        }
        if (r.totalClusters() != 0 && r.allocatedClusters() != 0) {
            double alloc = 100.0 * r.allocatedClusters() / r.totalClusters();
            double frag = r.allocatedClusters() == 0 ? 0 : 100.0 * r.fragmentedClusters() / r.allocatedClusters();
            double comp = r.allocatedClusters() == 0 ? 0 : 100.0 * r.compressedClusters() / r.allocatedClusters();
            sb.append(String.format(Locale.ROOT, "%d/%d = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters%n",
                    r.allocatedClusters(), r.totalClusters(), alloc, frag, comp));
        }
        sb.append("Image end offset: ").append(r.imageEndOffset()).append('\n');
        return sb.toString();
    }
}
