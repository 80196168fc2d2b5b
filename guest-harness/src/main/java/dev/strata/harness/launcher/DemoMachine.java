package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The seed's demo machine: a fresh folder holding the chain
 * {@code [A] <- [B] <- [C] <- [D] <- [E]} ({@code file-A.img} ... {@code file-E.img}, all qcow2,
 * {@value #SIZE_MIB} MiB virtual), each layer with its own visible data, and the command line
 * that runs E as {@code virtio0} with node names {@code node-A} ... {@code node-E}.
 *
 * <p>What each layer holds: layer {@code L} (A=0 ... E=4) fills
 * [{@code L*8 MiB}, {@code L*8 MiB + 8 MiB}) with 512-byte sectors reading
 * {@code "layer L sector N"} padded with the letter, and every layer writes the shared
 * 1 MiB at 40 MiB, so the top layer (E) is what the guest sees there. The guest workload runs in
 * the upper half (64 MiB ...) and never touches the layers' data.
 *
 * <p>Stateless; called from the launcher's main thread.
 */
public final class DemoMachine {

    static final int SIZE_MIB = 128;
    static final long LAYER_BYTES = 8L << 20;
    static final long SHARED_OFFSET = 40L << 20;
    static final long SHARED_BYTES = 1L << 20;
    static final long GUEST_OFFSET = 64L << 20;
    /** The guest's pace: a busy real disk, not flat out (a flat-out guest leaves a background mirror no moment to converge). */
    static final int GUEST_IOPS = 5000;
    static final String LETTERS = "ABCDE";

    private DemoMachine() {
    }

    /**
     * Where the demo's images go: {@code $STRATA_DEMO_DIR} when set, else a new folder
     * {@code ./strata-demo/<timestamp>} when the current directory is writable, else
     * {@code $TMPDIR/strata-demo/<timestamp>}; {@code -2}, {@code -3}, ... when two demos start in
     * the same second ({@link FreshFolder}). Always a new folder, so earlier runs stay intact.
     */
    public static Path defaultFolder() {
        String env = System.getenv("STRATA_DEMO_DIR");
        if (env != null && !env.isEmpty()) {
            return Path.of(env).toAbsolutePath();
        }
        Path cwd = Path.of("").toAbsolutePath();
        Path parent = Files.isWritable(cwd) ? cwd.resolve("strata-demo") : Path.of(System.getProperty("java.io.tmpdir"), "strata-demo");
        try {
            return FreshFolder.create(parent, "");
        } catch (IOException e) {
            throw new UsageException(null, "cannot create a demo folder under " + parent + ": " + e.getMessage());
        }
    }

    /** The image of layer {@code letter} in {@code folder}. */
    public static Path image(Path folder, char letter) {
        return folder.resolve("file-" + letter + ".img");
    }

    /** Creates the folder and the five images with their data; fails if the folder holds a chain already. */
    public static void createChain(Path folder) {
        BlockDriverFactory qcow2 = DriverRegistry.standard().find("qcow2");
        if (qcow2 == null) {
            throw new UsageException(null, "the demo machine needs the qcow2 driver, which is not in this build yet; "
                    + "start a machine on a raw image instead, e.g. bin/strata -drive file=disk.img,format=raw,if=virtio");
        }
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UsageException(null, "cannot create the demo folder " + folder + ": " + e.getMessage());
        }
        if (Files.exists(image(folder, 'A'))) {
            throw new UsageException(null, "the demo folder " + folder + " already holds a chain; pick a fresh one");
        }
        for (int layer = 0; layer < LETTERS.length(); layer++) {
            char letter = LETTERS.charAt(layer);
            BlockOptions create = BlockOptions.empty();
            if (layer > 0) {
                // relative names, as a user would write them: `block_stream node-D file-B.img` matches
                create = create.with("backing_file", "file-" + LETTERS.charAt(layer - 1) + ".img").with("backing_fmt", "qcow2");
            }
            try {
                qcow2.create(image(folder, letter), (long) SIZE_MIB << 20, create);
                fill(image(folder, letter), layer);
            } catch (BlockException e) {
                throw new UsageException(null, "creating the demo image " + image(folder, letter) + " failed: " + e.getMessage());
            }
        }
    }

    private static void fill(Path image, int layer) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode top = g.open(BlockOptions.empty().with("file", image.toString()).with("driver", "qcow2"));
            char letter = LETTERS.charAt(layer);
            write(top, layer * LAYER_BYTES, LAYER_BYTES, letter);
            write(top, SHARED_OFFSET, SHARED_BYTES, letter);
            top.flush();
        } finally {
            g.closeAll();
        }
    }

    private static void write(BlockNode node, long offset, long bytes, char letter) {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        for (long pos = offset; pos < offset + bytes; pos += buf.capacity()) {
            buf.clear();
            for (int s = 0; s < buf.capacity() / 512; s++) {
                buf.put(sector(letter, (pos >> 9) + s));
            }
            buf.flip();
            node.write(pos, buf);
        }
    }

    /** The 512 bytes layer {@code letter} writes at sector {@code n}; readable in a hex dump. */
    static byte[] sector(char letter, long n) {
        byte[] s = new byte[512];
        java.util.Arrays.fill(s, (byte) letter);
        byte[] text = ("layer " + letter + " sector " + n + "\n").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, s, 0, text.length);
        return s;
    }

    /** The machine command line of the demo, given what this build can run. */
    public static List<String> commandLine(Path folder) {
        StringBuilder drive = new StringBuilder("file=").append(escape(image(folder, 'E').toString()))
                .append(",format=qcow2,if=virtio,node-name=node-E");
        String prefix = "backing.";
        for (int layer = LETTERS.length() - 2; layer >= 0; layer--) {
            drive.append(',').append(prefix).append("node-name=node-").append(LETTERS.charAt(layer));
            prefix += "backing.";
        }
        List<String> args = new ArrayList<>(List.of("-name", "strata-demo", "-drive", drive.toString()));
        args.addAll(List.of("-qmp", "unix:" + escape(qmpSocket(folder).toString()) + ",server=on,wait=off"));
        args.addAll(List.of("-guest", "drive=virtio0,rw=randrw,bs=4k,iodepth=8,offset=" + (GUEST_OFFSET >> 20)
                + "M,size=" + ((SIZE_MIB << 20) - GUEST_OFFSET >> 20) + "M,rate_iops=" + GUEST_IOPS + ",verify=on"));
        return args;
    }

    /** The QMP socket: in the folder unless that path is too long for a unix socket (108 bytes). */
    static Path qmpSocket(Path folder) {
        Path p = folder.resolve("qmp.sock");
        if (p.toString().getBytes(StandardCharsets.UTF_8).length < 100) {
            return p;
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "strata-demo-" + ProcessHandle.current().pid() + ".qmp");
    }

    private static String escape(String s) {
        return s.replace(",", ",,");
    }

    /** The one-screen welcome of the demo machine. */
    static String banner(Path folder) {
        StringBuilder b = new StringBuilder();
        b.append("Strata demo machine\n");
        b.append("  folder:  ").append(folder).append('\n');
        b.append("  chain:   file-A.img <- file-B.img <- file-C.img <- file-D.img <- file-E.img (qcow2, ")
                .append(SIZE_MIB).append(" MiB; nodes node-A .. node-E)\n");
        b.append("  data:    layer A at 0-8M, B at 8-16M, C 16-24M, D 24-32M, E 32-40M; all write 40-41M (E shows)\n");
        b.append("  virtio0: file-E.img\n");
        b.append("  guest:   random 4k reads and writes, iodepth 8, " + GUEST_IOPS + " IOPS, verifying, on 64M-128M of virtio0\n");
        b.append("  QMP:     ").append(qmpSocket(folder)).append('\n');
        b.append("Try:\n");
        b.append("  info chain       info guest      info block-jobs      info block (-n)\n");
        b.append("  block_stream virtio0 8 file-A.img   (pull B..D into E at 8 MiB/s: about 5 s to watch;\n");
        b.append("                                       without the 8 this small chain streams in under a second)\n");
        b.append("  block_stream node-D 0 file-B.img (copy C into D; D then backs onto B)\n");
        b.append("  snapshot_blkdev virtio0 ").append(folder.resolve("snap.qcow2")).append(" qcow2\n");
        b.append("  commit virtio0                   drive_mirror virtio0 ").append(folder.resolve("m.qcow2")).append(" qcow2\n");
        b.append("  help                             quit (or Ctrl-D)\n");
        return b.toString();
    }
}
