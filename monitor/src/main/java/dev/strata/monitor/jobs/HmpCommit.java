package dev.strata.monitor.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.SupportsMakeEmpty;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandRegistry;
import java.nio.ByteBuffer;

/**
 * HMP {@code commit device|all}: QEMU's synchronous {@code bdrv_commit}, not a job. With the
 * drive's guest I/O held at its door, the active image's allocated data is written into its
 * backing file and then the active image is emptied (its driver's {@link SupportsMakeEmpty});
 * the chain stays as it is. Errors print as QEMU 7.2 prints them, without the
 * {@code Error: } prefix. Runs on the monitor thread and blocks it until done, as QEMU does.
 */
final class HmpCommit {

    private static final int CHUNK = 1 << 20;

    private HmpCommit() {
    }

    static void register(CommandRegistry r) {
        r.register(Command.hmpOnly("commit", "device:B", "device|all")
                .help("commit changes to the disk images (if -snapshot is used) or backing files")
                .hmpRun(HmpCommit::run)
                .build());
    }

    private static void run(CommandContext ctx, Args a) {
        BlockGraph g = ctx.machine().graph();
        String device = a.str("device");
        if (device.equals("all")) {
            for (BlockBackend b : g.backends()) {
                if (b.root().backing() != null && b.root().blocker() == null) {
                    commitOne(ctx, b);
                }
            }
            return;
        }
        BlockBackend b = g.backend(device);
        if (b == null) {
            ctx.println("Device '" + device + "' not found");
            return;
        }
        commitOne(ctx, b);
    }

    private static void commitOne(CommandContext ctx, BlockBackend b) {
        BlockNode top = b.root();
        BlockNode base = top.backing();
        if (base == null) {
            ctx.println("'commit' error for '" + b.name() + "': " + BlockException.Kind.UNSUPPORTED.strerror());
            return;
        }
        if (top.blocker() != null || base.blocker() != null) {
            ctx.println("'commit' error for '" + b.name() + "': " + BlockException.Kind.BUSY.strerror());
            return;
        }
        boolean wasReadOnly = base.isReadOnly();
        try (BlockNode.Drained door = b.drain()) {
            if (wasReadOnly) {
                try (BlockNode.Drained d = base.drain()) {
                    base.setReadOnly(false);
                }
            }
            try {
                long size = top.size();
                long off = 0;
                while (off < size) {
                    var s = top.blockStatus(off, size - off);
                    if (s.state().allocated()) {
                        for (long p = off; p < s.end(); p += CHUNK) {
                            int n = (int) Math.min(CHUNK, Math.min(s.end(), base.size()) - p);
                            if (n <= 0) {
                                break;
                            }
                            ByteBuffer buf = ByteBuffer.allocate(n);
                            top.read(p, buf);
                            buf.flip();
                            base.write(p, buf);
                        }
                    }
                    off = s.end();
                }
                base.flush();
                // only once the data is durable in the backing file may the top forget it
                if (top.driver() instanceof SupportsMakeEmpty m) {
                    try (BlockNode.Drained d = top.drain()) {
                        m.makeEmpty();
                    }
                }
            } catch (BlockException e) {
                ctx.println("'commit' error for '" + b.name() + "': " + e.kind().strerror());
            } finally {
                if (wasReadOnly) {
                    try (BlockNode.Drained d = base.drain()) {
                        base.setReadOnly(true);
                    }
                }
            }
        }
    }
}
