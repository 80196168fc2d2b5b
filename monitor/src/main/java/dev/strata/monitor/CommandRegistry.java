package dev.strata.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.jobs.JobException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The one table of monitor commands. QMP dispatches by command name, HMP by its words; both end
 * in the same {@link Command.Handler}.
 *
 * <h2>Adding commands</h2>
 * Commands come in {@link CommandSet}s that take the machine parts they drive as constructor
 * arguments; the launcher builds each and passes them all to {@link Monitor#create}:
 * <pre>{@code
 * public final class JobCommands implements CommandSet {
 *     private final JobManager jobs;
 *     public JobCommands(JobManager jobs) { this.jobs = jobs; }
 *     public void register(CommandRegistry r) {
 *         r.register(Command.qmp("block-job-pause")
 *                 .params(Param.str("device"))
 *                 .help("pause an active background block operation")
 *                 .handler((ctx, a) -> { jobs.pause(a.str("device")); return null; })
 *                 .hmp("block_job_pause", "device:B", "device")
 *                 .complete("device", CompletionKind.JOB)
 *                 .build());
 *         r.addCompletionSource(CompletionKind.JOB, m -> jobs.ids());
 *     }
 * }
 * }</pre>
 * {@link #register} refuses a name that is taken, so two sets cannot both claim a command.
 *
 * <p>Errors: a handler throws {@link CommandException} (class + text), or lets a
 * {@link BlockException} or {@link JobException} escape; {@link #invoke} maps those here, once, to
 * QMP error classes ({@link CommandException#of}). Anything else is a bug; it is reported as a
 * GenericError naming the exception rather than crashing the monitor.
 *
 * <p>Thread safety: registration and lookup are guarded by {@code lock}; commands themselves run
 * on the caller's thread, concurrently when several clients call at once.
 */
public final class CommandRegistry {

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Command> qmp = new LinkedHashMap<>();
    private final Map<String, Command> hmpTop = new LinkedHashMap<>();
    private final Map<String, Command> hmpInfo = new LinkedHashMap<>();
    private final Map<CompletionKind, List<Function<Machine, Collection<String>>>> completionSources = new EnumMap<>(CompletionKind.class);

    /** Adds {@code c}; fails if its QMP name or one of its HMP names is already registered. */
    public void register(Command c) {
        lock.lock();
        try {
            if (c.hasQmp() && qmp.containsKey(c.name())) {
                throw new IllegalStateException("QMP command " + c.name() + " is already registered");
            }
            if (c.hasHmp()) {
                Map<String, Command> table = c.isInfo() ? hmpInfo : hmpTop;
                for (String alias : c.hmpAliases()) {
                    if (table.containsKey(alias)) {
                        throw new IllegalStateException("HMP command " + c.hmpName() + " is already registered");
                    }
                }
            }
            put(c);
        } finally {
            lock.unlock();
        }
    }

    private void put(Command c) {
        if (c.hasQmp()) {
            qmp.put(c.name(), c);
        }
        if (c.hasHmp()) {
            Map<String, Command> table = c.isInfo() ? hmpInfo : hmpTop;
            for (String alias : c.hmpAliases()) {
                table.put(alias, c);
            }
        }
    }

    /** The QMP command {@code name}, or null. */
    public Command qmp(String name) {
        lock.lock();
        try {
            return qmp.get(name);
        } finally {
            lock.unlock();
        }
    }

    /** A top-level HMP command by one of its names, or null. */
    public Command hmp(String word) {
        lock.lock();
        try {
            return hmpTop.get(word);
        } finally {
            lock.unlock();
        }
    }

    /** An {@code info} sub-command by one of its names, or null. */
    public Command info(String word) {
        lock.lock();
        try {
            return hmpInfo.get(word);
        } finally {
            lock.unlock();
        }
    }

    /** QMP commands sorted by name. */
    public List<Command> qmpCommands() {
        lock.lock();
        try {
            List<Command> l = new ArrayList<>(qmp.values());
            l.sort(Comparator.comparing(Command::name));
            return l;
        } finally {
            lock.unlock();
        }
    }

    /** Top-level HMP commands, each once, sorted by declared name as QEMU sorts its table. */
    public List<Command> hmpCommands() {
        return distinctSorted(hmpTop);
    }

    /** {@code info} sub-commands, each once, sorted by name. */
    public List<Command> infoCommands() {
        return distinctSorted(hmpInfo);
    }

    private List<Command> distinctSorted(Map<String, Command> table) {
        lock.lock();
        try {
            Set<Command> seen = new java.util.LinkedHashSet<>(table.values());
            List<Command> l = new ArrayList<>(seen);
            l.sort(Comparator.comparing(Command::hmpShortName));
            return l;
        } finally {
            lock.unlock();
        }
    }

    /** Every HMP word a user can type first (all aliases), plus {@code info}, sorted. */
    public Set<String> hmpWords() {
        lock.lock();
        try {
            Set<String> s = new TreeSet<>(hmpTop.keySet());
            s.add("info");
            return s;
        } finally {
            lock.unlock();
        }
    }

    /** Every info sub-command name, sorted. */
    public Set<String> infoWords() {
        lock.lock();
        try {
            return new TreeSet<>(hmpInfo.keySet());
        } finally {
            lock.unlock();
        }
    }

    /** Adds names that complete arguments of {@code kind} (e.g. job ids from the job manager). */
    public void addCompletionSource(CompletionKind kind, Function<Machine, Collection<String>> source) {
        lock.lock();
        try {
            completionSources.computeIfAbsent(kind, k -> new ArrayList<>()).add(source);
        } finally {
            lock.unlock();
        }
    }

    /** Completion candidates of {@code kind}: drives and nodes from the graph plus registered sources. */
    public Set<String> candidates(CompletionKind kind, Machine machine) {
        Set<String> out = new TreeSet<>();
        if (kind == CompletionKind.DEVICE) {
            machine.graph().backends().forEach(b -> out.add(b.name()));
        }
        if (kind == CompletionKind.DEVICE || kind == CompletionKind.NODE) {
            machine.graph().nodesNewestFirst().forEach(n -> out.add(n.nodeName()));
        }
        List<Function<Machine, Collection<String>>> sources;
        lock.lock();
        try {
            sources = List.copyOf(completionSources.getOrDefault(kind, List.of()));
        } finally {
            lock.unlock();
        }
        for (Function<Machine, Collection<String>> s : sources) {
            try {
                out.addAll(s.apply(machine));
            } catch (RuntimeException e) {
                // completion is a convenience; a failing source must not break the prompt
            }
        }
        return out;
    }

    /**
     * Runs QMP command {@code name}: looks it up, validates {@code arguments} (null = none), calls
     * the handler. Unknown names fail with CommandNotFound as QEMU words it.
     *
     * @return the {@code return} value ({@code {}} when the handler returned null)
     */
    public JsonNode invoke(String name, ObjectNode arguments, CommandContext ctx) {
        Command c = qmp(name);
        if (c == null) {
            throw new CommandException(ErrorClass.CommandNotFound, "The command " + name + " has not been found");
        }
        Args args = Args.validate(c.params(), arguments);
        try {
            JsonNode r = c.handler().handle(ctx, args);
            return r == null ? Json.object() : r;
        } catch (BlockException e) {
            throw CommandException.of(e);
        } catch (JobException e) {
            throw CommandException.of(e);
        } catch (CommandException e) {
            throw e;
        } catch (RuntimeException e) {
            // a handler bug: tell the client instead of taking the connection (or the machine) down
            throw CommandException.generic("Internal error in '" + name + "': " + e);
        }
    }
}
