package dev.strata.monitor.qemuio;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;

/**
 * HMP {@code qemu-io [-d] device "command"}: QEMU's debugging command that pokes a disk. QEMU
 * prints qemu-io's report on its own stdout; Strata prints it on the monitor where it was typed
 * (and so into {@code human-monitor-command}'s return value).
 */
public final class QemuIoCommand {

    private QemuIoCommand() {
    }

    public static void register(CommandRegistry r) {
        r.register(Command.hmpOnly("qemu-io", "qdev:-d,device:B,command:s", "[-d] [device] \"[command]\"")
                .help("run a qemu-io command (read, write, discard, flush) on a drive or node\n"
                        + "\t\t\t-d: [device] is a device ID rather than a drive ID or node name")
                .hmpRun((ctx, a) -> {
                    String device = a.str("device");
                    IoTarget target;
                    if (a.bool("qdev", false)) {
                        BlockBackend found = null;
                        for (BlockBackend b : ctx.machine().graph().backends()) {
                            String q = b.attachedTo();
                            if (q != null && (q.equals(device) || q.equals("/machine/peripheral/" + device + "/virtio-backend"))) {
                                found = b;
                            }
                        }
                        if (found == null) {
                            throw CommandException.generic("Device '" + device + "' not found");
                        }
                        target = IoTarget.of(found);
                    } else {
                        BlockBackend b = ctx.machine().graph().backend(device);
                        if (b != null) {
                            target = IoTarget.of(b);
                        } else {
                            BlockNode n = ctx.machine().graph().node(device);
                            if (n == null) {
                                throw CommandException.generic("Cannot find device='' nor node-name='" + device + "'");
                            }
                            target = IoTarget.of(n);
                        }
                    }
                    ctx.print(QemuIo.run(target, a.str("command")));
                })
                .build());
    }
}
