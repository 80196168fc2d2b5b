package dev.strata.monitor.system;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.device.RunState;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.ErrorClass;
import dev.strata.monitor.Json;
import dev.strata.monitor.Machine;
import dev.strata.monitor.Param;
import dev.strata.monitor.Version;

/**
 * Machine-level commands: version, status, stop/cont, quit, the command list, and the
 * post-negotiation form of {@code qmp_capabilities}. Stateless; registered once.
 */
public final class SystemCommands {

    private SystemCommands() {
    }

    public static void register(CommandRegistry r) {
        r.register(Command.qmp("qmp_capabilities")
                .params(Param.optEnumList("enable", "oob"))
                .help("leave capabilities negotiation mode (only valid right after connecting)")
                // a negotiated session reaches this handler; the session itself answers the first call
                .handler((ctx, a) -> {
                    throw new CommandException(ErrorClass.CommandNotFound,
                            "Capabilities negotiation is already complete, command ignored");
                })
                .build());

        r.register(Command.qmp("query-version")
                .help("print the QEMU interface version and the Strata package")
                .handler((ctx, a) -> version())
                .hmp("info version", "", "")
                .hmpFormat((ctx, a, res) -> ctx.println(Version.qemu() + res.get("package").asText()))
                .build());

        r.register(Command.qmp("query-commands")
                .help("list the QMP commands this monitor knows")
                .handler((ctx, a) -> {
                    ArrayNode l = Json.array();
                    for (Command c : ctx.registry().qmpCommands()) {
                        l.addObject().put("name", c.name());
                    }
                    return l;
                })
                .build());

        r.register(Command.qmp("query-status")
                .help("print whether the guest is running or paused")
                .handler((ctx, a) -> status(ctx.machine()))
                .hmp("info status", "", "")
                .hmpFormat((ctx, a, res) -> ctx.println(RunState.ofQapiName(res.get("status").asText()).hmpStatusLine()))
                .build());

        r.register(Command.qmp("stop")
                .help("pause the guest CPUs (block jobs keep running)")
                .handler((ctx, a) -> {
                    boolean was = ctx.machine().runState().running();
                    // STOP goes out once the vCPUs are paused, before the drain, as in QEMU's do_vm_stop
                    ctx.machine().stop(() -> {
                        if (was && !ctx.machine().runState().running()) {
                            ctx.events().emit("STOP", null);
                        }
                    });
                    return null;
                })
                .hmp("stop|s", "", "")
                .build());

        r.register(Command.qmp("cont")
                .help("resume the guest CPUs")
                .handler((ctx, a) -> {
                    boolean was = ctx.machine().runState().running();
                    ctx.machine().cont();
                    if (!was && ctx.machine().runState().running()) {
                        ctx.events().emit("RESUME", null);
                    }
                    return null;
                })
                .hmp("cont|c", "", "")
                .build());

        r.register(Command.qmp("quit")
                .help("flush and close every image, then exit")
                .handler((ctx, a) -> {
                    // as QEMU: the reply goes out first, then SHUTDOWN, then the images are flushed and closed
                    ctx.afterReply(() -> {
                        ObjectNode d = Json.object();
                        d.put("guest", false);
                        d.put("reason", "host-qmp-quit");
                        ctx.events().emit("SHUTDOWN", d);
                        ctx.machine().quit();
                    });
                    ctx.endSession();
                    return null;
                })
                .hmp("quit|q", "", "")
                .build());
    }

    static ObjectNode version() {
        ObjectNode v = Json.object();
        ObjectNode q = v.putObject("qemu");
        q.put("major", Version.MAJOR);
        q.put("minor", Version.MINOR);
        q.put("micro", Version.MICRO);
        v.put("package", Version.PACKAGE);
        return v;
    }

    static ObjectNode status(Machine m) {
        RunState s = m.runState();
        ObjectNode o = Json.object();
        o.put("running", s.running());
        o.put("singlestep", false);
        o.put("status", s.qapiName());
        return o;
    }
}
