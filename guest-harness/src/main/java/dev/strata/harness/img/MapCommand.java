package dev.strata.harness.img;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** {@code img map [-f fmt] [--output=human|json] [-U] FILE}: where each guest range comes from. Stateless. */
final class MapCommand implements ImgTool.Command {

    /** One merged extent of the map; {@code offset} is -1 when the host offset is not known. */
    record Extent(long start, long length, int depth, boolean present, boolean zero, boolean data, long offset, String file) {

        boolean continues(Extent prev) {
            return prev.depth == depth && prev.present == present && prev.zero == zero && prev.data == data
                    && prev.file.equals(file) && prev.start + prev.length == start
                    && ((prev.offset < 0 && offset < 0) || (prev.offset >= 0 && prev.offset + prev.length == offset));
        }

        String json() {
            return "{ \"start\": " + start + ", \"length\": " + length + ", \"depth\": " + depth + ", \"present\": " + present
                    + ", \"zero\": " + zero + ", \"data\": " + data + (offset >= 0 ? ", \"offset\": " + offset : "") + "}";
        }
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "output", "s", "l", "start-offset", "max-length"), Set.of("U"));
        boolean json = a.json();
        if (a.positional().size() != 1) {
            throw new ImgOptions.UsageException("Expecting one image file name");
        }
        String file = a.positional().get(0);
        try (OpenedImage img = OpenedImage.open(file, a.get("f"), false, a.has("U"), BlockOptions.empty())) {
            List<Extent> map = map(img.node, file);
            if (json) {
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < map.size(); i++) {
                    sb.append(i == 0 ? "" : ",\n").append(map.get(i).json());
                }
                out.println(sb.append(']'));
                return 0;
            }
            out.println(String.format("%-16s%-16s%-16s%s", "Offset", "Length", "Mapped to", "File"));
            for (Extent e : map) {
                if (!e.data()) {
                    continue;
                }
                if (e.offset() < 0) {
                    err.println(ImgTool.PROG + ": File contains external, encrypted or compressed clusters.");
                    return 1;
                }
                out.println(String.format("%-16s%-16s%-16s%s", hex(e.start()), hex(e.length()), hex(e.offset()), e.file()));
            }
            return 0;
        }
    }

    private static String hex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }

    /** The merged map of {@code top}'s whole virtual disk. */
    static List<Extent> map(BlockNode top, String topName) {
        List<String> names = new ArrayList<>();
        names.add(topName);
        for (BlockNode n = top; n.backing() != null; n = n.backing()) {
            String stored = n.backingFileName();
            names.add(stored == null ? n.backing().filename() : InfoCommand.fullBackingName(names.get(names.size() - 1), stored));
        }
        List<Extent> out = new ArrayList<>();
        long size = top.size();
        long pos = 0;
        while (pos < size) {
            Extent e = extentAt(top, pos, size - pos, names);
            if (e.length() <= 0) {
                throw new BlockException(BlockException.Kind.IO, "block status made no progress at offset " + pos);
            }
            Extent prev = out.isEmpty() ? null : out.get(out.size() - 1);
            if (prev != null && e.continues(prev)) {
                out.set(out.size() - 1, new Extent(prev.start(), prev.length() + e.length(), prev.depth(), prev.present(),
                        prev.zero(), prev.data(), prev.offset(), prev.file()));
            } else {
                out.add(e);
            }
            pos += e.length();
        }
        return out;
    }

    private static Extent extentAt(BlockNode top, long pos, long limit, List<String> names) {
        BlockNode n = top;
        int depth = 0;
        while (true) {
            if (pos >= n.size()) {
                // the layer above reads zeros past the end of its shorter backing file
                return new Extent(pos, limit, depth - 1, false, true, false, -1, names.get(depth - 1));
            }
            BlockStatus s = n.blockStatus(pos, Math.min(limit, n.size() - pos));
            String file = names.get(depth);
            switch (s.state()) {
                case DATA:
                    return new Extent(pos, s.length(), depth, true, false, true, s.hostOffset(), file);
                case ZERO:
                    return new Extent(pos, s.length(), depth, true, true, false, -1, file);
                default:
                    limit = s.length();
                    if (n.backing() == null) {
                        return new Extent(pos, limit, depth, false, true, false, -1, file);
                    }
                    n = n.backing();
                    depth++;
            }
        }
    }
}
