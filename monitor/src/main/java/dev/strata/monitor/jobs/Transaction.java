package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * QMP {@code transaction}: all or nothing. The actions run in order through the ordinary command
 * handlers while the guest I/O of every drive they name is held at the drive's door, so no guest
 * write lands between them (one point in time for all). Each done action leaves an undo step; when
 * one fails, the done ones are undone newest first (a snapshot's drive goes back onto the old
 * image, the overlay is closed and, if this transaction created it, deleted; a backup job is
 * force-cancelled and waited for, and a target file it created is deleted) and the failing action's
 * error is the reply. With {@code completion-mode: grouped} the backup jobs started together watch
 * each other: when one fails or is cancelled, the others are force-cancelled ({@link JobGroup}).
 *
 * <p>Runs on the calling monitor thread; graph edits happen only inside drained sections.
 */
final class Transaction {

    /** The action types QEMU 7.2 knows (QAPI enum TransactionActionKind). */
    private static final List<String> KINDS = List.of("abort", "block-dirty-bitmap-add", "block-dirty-bitmap-remove",
            "block-dirty-bitmap-clear", "block-dirty-bitmap-enable", "block-dirty-bitmap-disable", "block-dirty-bitmap-merge",
            "blockdev-backup", "blockdev-snapshot", "blockdev-snapshot-internal-sync", "blockdev-snapshot-sync", "drive-backup");
    private static final Set<String> DONE_HERE = Set.of("abort", "blockdev-snapshot-sync", "drive-backup", "blockdev-backup",
            "block-dirty-bitmap-add", "block-dirty-bitmap-remove", "block-dirty-bitmap-clear", "block-dirty-bitmap-enable",
            "block-dirty-bitmap-disable");

    private Transaction() {
    }

    static void register(CommandRegistry r, JobManager jobs) {
        r.register(Command.qmp("transaction")
                .params(new Param("actions", Param.Type.ANY, false, List.of()), Param.optAny("properties"))
                .help("run several snapshot and backup actions atomically")
                .handler((ctx, a) -> {
                    run(ctx, jobs, a.get("actions"), a.get("properties"));
                    return null;
                })
                .build());
    }

    private record Action(String type, ObjectNode data) {
    }

    private static List<Action> parse(JsonNode actions, JsonNode properties) {
        if (!actions.isArray()) {
            throw CommandException.generic("Invalid parameter type for 'actions', expected: array");
        }
        if (properties != null) {
            if (!properties.isObject()) {
                throw CommandException.generic("Invalid parameter type for 'properties', expected: object");
            }
            properties.fieldNames().forEachRemaining(f -> {
                if (!f.equals("completion-mode")) {
                    throw CommandException.generic("Parameter 'properties." + f + "' is unexpected");
                }
            });
            JsonNode mode = properties.get("completion-mode");
            if (mode != null && !(mode.isTextual() && (mode.asText().equals("individual") || mode.asText().equals("grouped")))) {
                throw CommandException.generic("Parameter 'properties.completion-mode' does not accept value '" + mode.asText() + "'");
            }
        }
        List<Action> out = new ArrayList<>();
        for (int i = 0; i < actions.size(); i++) {
            JsonNode act = actions.get(i);
            String at = "actions[" + i + "]";
            if (!act.isObject()) {
                throw CommandException.generic("Invalid parameter type for '" + at + "', expected: object");
            }
            JsonNode type = act.get("type");
            if (type == null) {
                throw CommandException.generic("Parameter '" + at + ".type' is missing");
            }
            if (!type.isTextual()) {
                throw CommandException.generic("Invalid parameter type for '" + at + ".type', expected: string");
            }
            if (!KINDS.contains(type.asText())) {
                throw CommandException.generic("Parameter '" + at + ".type' does not accept value '" + type.asText() + "'");
            }
            JsonNode data = act.get("data");
            if (data == null) {
                throw CommandException.generic("Parameter '" + at + ".data' is missing");
            }
            if (!data.isObject()) {
                throw CommandException.generic("Invalid parameter type for '" + at + ".data', expected: object");
            }
            act.fieldNames().forEachRemaining(f -> {
                if (!f.equals("type") && !f.equals("data")) {
                    throw CommandException.generic("Parameter '" + at + "." + f + "' is unexpected");
                }
            });
            if (!DONE_HERE.contains(type.asText())) {
                throw CommandException.generic("Transaction action '" + type.asText() + "' is not supported by Strata");
            }
            out.add(new Action(type.asText(), (ObjectNode) data));
        }
        return out;
    }

    private static void run(CommandContext ctx, JobManager jobs, JsonNode actionsJson, JsonNode properties) {
        List<Action> actions = parse(actionsJson, properties);
        boolean grouped = properties != null && properties.has("completion-mode")
                && properties.get("completion-mode").asText().equals("grouped");
        BlockGraph g = ctx.machine().graph();
        Deque<BlockNode.Drained> doors = new ArrayDeque<>();
        Deque<Runnable> undo = new ArrayDeque<>();
        List<Runnable> onSuccess = new ArrayList<>();
        List<Job> started = new ArrayList<>();
        try {
            for (Action a : actions) {
                BlockBackend b = a.data().has("device") ? g.backend(a.data().get("device").asText()) : null;
                if (b != null) {
                    doors.push(b.drain());
                }
            }
            for (Action a : actions) {
                switch (a.type()) {
                    case "abort" -> throw CommandException.generic("Transaction aborted using Abort action");
                    case "blockdev-snapshot-sync" -> snapshot(ctx, g, a.data(), undo);
                    case "block-dirty-bitmap-add" -> {
                        ctx.call(a.type(), a.data());
                        NodeDirtyBitmap b = BitmapCommands.usable(g, a.data().get("node").asText(), a.data().get("name").asText());
                        undo.push(() -> NodeBitmaps.remove(b));
                    }
                    case "block-dirty-bitmap-clear" -> {
                        Args.validate(ctx.registry().qmp(a.type()).params(), a.data());
                        NodeDirtyBitmap b = BitmapCommands.usable(g, a.data().get("node").asText(), a.data().get("name").asText());
                        BitSet before = b.clearReturningBits();
                        undo.push(() -> b.merge(before));
                    }
                    case "block-dirty-bitmap-enable", "block-dirty-bitmap-disable" -> {
                        Args.validate(ctx.registry().qmp(a.type()).params(), a.data());
                        NodeDirtyBitmap b = BitmapCommands.usable(g, a.data().get("node").asText(), a.data().get("name").asText());
                        boolean was = b.isEnabled();
                        b.setEnabled(a.type().endsWith("enable"));
                        undo.push(() -> b.setEnabled(was));
                    }
                    case "block-dirty-bitmap-remove" -> {
                        // removal cannot be taken back once done, so it happens only when everything else worked
                        Args.validate(ctx.registry().qmp(a.type()).params(), a.data());
                        NodeDirtyBitmap b = BitmapCommands.usable(g, a.data().get("node").asText(), a.data().get("name").asText());
                        onSuccess.add(() -> NodeBitmaps.remove(b));
                    }
                    default -> backup(ctx, jobs, a, undo, started);
                }
            }
            undo.clear();
            onSuccess.forEach(Runnable::run);
            if (grouped && started.size() > 1) {
                JobGroup.watch(jobs, started);
            }
        } catch (RuntimeException e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (RuntimeException ignored) {
                    // undo what can be undone; the reply is the failing action's error
                }
            }
            throw e;
        } finally {
            while (!doors.isEmpty()) {
                doors.pop().close();
            }
        }
    }

    private static void snapshot(CommandContext ctx, BlockGraph g, ObjectNode data, Deque<Runnable> undo) {
        String device = data.has("device") ? data.get("device").asText() : null;
        String nodeName = data.has("node-name") ? data.get("node-name").asText() : null;
        BlockBackend backend = device != null ? g.backend(device) : null;
        BlockNode old = backend != null ? backend.root() : nodeName != null ? g.node(nodeName) : null;
        Path file = data.has("snapshot-file") ? Path.of(data.get("snapshot-file").asText()) : null;
        boolean created = file != null && !Files.exists(file)
                && !(data.has("mode") && data.get("mode").asText().equals("existing"));
        BlockNode parent = null;
        if (old != null && backend == null) {
            for (BlockBackend b : g.backends()) {
                if (b.root() == old) {
                    backend = b;
                }
            }
            if (backend == null) {
                for (BlockNode n : g.nodesNewestFirst()) {
                    if (n.backing() == old) {
                        parent = n;
                    }
                }
            }
        }
        boolean wasReadOnly = old != null && old.isReadOnly();
        ctx.call("blockdev-snapshot-sync", data);
        BlockBackend be = backend;
        BlockNode par = parent;
        undo.push(() -> {
            BlockNode overlay = be != null ? be.root() : par.backing();
            try (BlockNode.Drained d = be != null ? be.drain() : par.drain(); BlockNode.Drained o = old.drain()) {
                if (be != null) {
                    be.replaceRoot(old);
                } else {
                    par.replaceBacking(old);
                }
                if (!wasReadOnly) {
                    old.setReadOnly(false);
                }
            }
            g.close(overlay);
            if (created) {
                deleteQuietly(file);
            }
        });
    }

    private static void backup(CommandContext ctx, JobManager jobs, Action a, Deque<Runnable> undo, List<Job> started) {
        Set<Job> before = new HashSet<>(jobs.jobsNewestFirst());
        Path file = a.type().equals("drive-backup") && a.data().has("target") ? Path.of(a.data().get("target").asText()) : null;
        boolean created = file != null && !Files.exists(file)
                && !(a.data().has("mode") && a.data().get("mode").asText().equals("existing"));
        ObjectNode data = a.data().deepCopy();
        ctx.call(a.type(), data);
        Job job = null;
        for (Job j : jobs.jobsNewestFirst()) {
            if (!before.contains(j)) {
                job = j;
            }
        }
        Job mine = job;
        if (mine != null) {
            started.add(mine);
        }
        undo.push(() -> {
            if (mine != null) {
                try {
                    jobs.cancel(mine, true);
                } catch (RuntimeException e) {
                    // already ending by itself
                }
                mine.awaitEnded(Duration.ofSeconds(60));
            }
            if (created) {
                deleteQuietly(file);
            }
        });
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // left behind; the transaction's error is what the client needs
        }
    }

}
