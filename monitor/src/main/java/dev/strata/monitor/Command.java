package dev.strata.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * One monitor command, declared once: its QMP name, typed parameters, handler and help, and
 * (optionally) its HMP form: the word(s) typed, QEMU's {@code args_type} string, the parameter
 * synopsis shown by {@code help}, and how the result is printed.
 *
 * <p>By default the HMP form parses its words into arguments of the same names, calls the QMP
 * handler through the registry (same validation, same errors) and prints what
 * {@link Builder#hmpFormat} says (nothing by default). {@link Builder#hmpArgs} renames or derives
 * arguments when HMP's differ (e.g. {@code snapshot_blkdev -n} becomes {@code mode=existing});
 * {@link Builder#hmpRun} replaces the whole HMP side for commands that are not one QMP call.
 * A command may also be QMP-only ({@code human-monitor-command}) or HMP-only
 * ({@link #hmpOnly}, e.g. {@code qemu-io}).
 *
 * <p>Immutable; any thread.
 */
public final class Command {

    /** The QMP side: returns the {@code return} value (null means {@code {}}). */
    @FunctionalInterface
    public interface Handler {
        JsonNode handle(CommandContext ctx, Args args);
    }

    /** A whole HMP command: prints its output through {@link CommandContext#print}. */
    @FunctionalInterface
    public interface HmpRunner {
        void run(CommandContext ctx, Args hmpArgs);
    }

    /** Prints the result of the QMP call an HMP command made. */
    @FunctionalInterface
    public interface HmpFormatter {
        void format(CommandContext ctx, Args hmpArgs, JsonNode result);
    }

    private final String name;
    private final List<Param> params;
    private final Handler handler;
    private final String help;
    private final String hmpName;
    private final String argsType;
    private final String hmpParams;
    private final String hmpHelp;
    private final HmpRunner hmpRunner;
    private final Map<String, CompletionKind> completions;
    private final boolean strataOwn;

    private Command(Builder b) {
        this.name = b.name;
        this.params = List.copyOf(b.params);
        this.handler = b.handler;
        this.help = b.help;
        this.hmpName = b.hmpName;
        this.argsType = b.argsType;
        this.hmpParams = b.hmpParams;
        this.hmpHelp = b.hmpHelp != null ? b.hmpHelp : b.help;
        this.completions = Map.copyOf(b.completions);
        this.strataOwn = b.strataOwn;
        if (b.hmpRunner != null) {
            this.hmpRunner = b.hmpRunner;
        } else if (hmpName != null) {
            Function<Args, ObjectNode> map = b.hmpArgs;
            HmpFormatter fmt = b.hmpFormat;
            String qmp = name;
            this.hmpRunner = (ctx, a) -> {
                JsonNode r = ctx.call(qmp, map.apply(a));
                fmt.format(ctx, a, r);
            };
        } else {
            this.hmpRunner = null;
        }
    }

    /** Starts a command with a QMP side named {@code name}. */
    public static Builder qmp(String name) {
        return new Builder(Objects.requireNonNull(name));
    }

    /**
     * Starts an HMP-only command.
     *
     * @param hmpName   e.g. {@code qemu-io}, {@code info block}, or with aliases {@code quit|q}
     * @param argsType  QEMU's args_type, e.g. {@code device:B,command:s}
     * @param hmpParams the synopsis {@code help} shows, e.g. {@code [device] "[command]"}
     */
    public static Builder hmpOnly(String hmpName, String argsType, String hmpParams) {
        Builder b = new Builder(null);
        return b.hmp(hmpName, argsType, hmpParams);
    }

    /** QMP name, or null for an HMP-only command. */
    public String name() {
        return name;
    }

    public List<Param> params() {
        return params;
    }

    public Handler handler() {
        return handler;
    }

    public String help() {
        return help;
    }

    public boolean hasQmp() {
        return name != null;
    }

    public boolean hasHmp() {
        return hmpName != null;
    }

    /** HMP name as declared, with aliases ({@code cont|c}) and the {@code info } prefix for info sub-commands. */
    public String hmpName() {
        return hmpName;
    }

    /** The HMP words without the {@code info } prefix, e.g. {@code block} or {@code cont|c}: what QEMU prints in parse errors. */
    public String hmpShortName() {
        return hmpName.startsWith("info ") ? hmpName.substring(5) : hmpName;
    }

    /** All names the HMP command answers to (without the info prefix). */
    public List<String> hmpAliases() {
        return Arrays.asList(hmpShortName().split("\\|"));
    }

    /** A command of Strata's own (no QEMU counterpart): {@code help} and the reference list it apart. */
    public boolean isStrataOwn() {
        return strataOwn;
    }

    public boolean isInfo() {
        return hmpName != null && hmpName.startsWith("info ");
    }

    public String argsType() {
        return argsType;
    }

    public String hmpParams() {
        return hmpParams;
    }

    public String hmpHelp() {
        return hmpHelp;
    }

    public HmpRunner hmpRunner() {
        return hmpRunner;
    }

    /** How the HMP argument {@code argName} completes; by default from its args_type letter. */
    public CompletionKind completion(String argName, char type) {
        CompletionKind k = completions.get(argName);
        if (k != null) {
            return k;
        }
        return switch (type) {
            case 'B' -> CompletionKind.DEVICE;
            case 'F' -> CompletionKind.FILE;
            default -> argName.contains("file") || argName.equals("target") ? CompletionKind.FILE : CompletionKind.NONE;
        };
    }

    @Override
    public String toString() {
        return name != null ? name : hmpName;
    }

    /** Declares a command; see {@link Command}. Not thread-safe; build once. */
    public static final class Builder {
        private final String name;
        private final List<Param> params = new ArrayList<>();
        private Handler handler;
        private String help = "";
        private String hmpName;
        private String argsType;
        private String hmpParams;
        private String hmpHelp;
        private HmpRunner hmpRunner;
        private Function<Args, ObjectNode> hmpArgs = Args::toJson;
        private HmpFormatter hmpFormat = (ctx, a, r) -> { };
        private final Map<String, CompletionKind> completions = new LinkedHashMap<>();
        private boolean strataOwn;

        private Builder(String name) {
            this.name = name;
        }

        public Builder params(Param... ps) {
            params.addAll(List.of(ps));
            return this;
        }

        public Builder handler(Handler h) {
            this.handler = h;
            return this;
        }

        /** One-line help (QMP reference and, unless {@link #hmp} gives its own, HMP {@code help}). */
        public Builder help(String text) {
            this.help = text;
            return this;
        }

        /** Adds the HMP form. */
        public Builder hmp(String hmpName, String argsType, String hmpParams) {
            this.hmpName = hmpName;
            this.argsType = argsType;
            this.hmpParams = hmpParams;
            return this;
        }

        /** HMP help text when it differs from the QMP one. */
        public Builder hmpHelp(String text) {
            this.hmpHelp = text;
            return this;
        }

        /** Maps parsed HMP arguments to the QMP arguments. */
        public Builder hmpArgs(Function<Args, ObjectNode> mapper) {
            this.hmpArgs = mapper;
            return this;
        }

        public Builder hmpFormat(HmpFormatter f) {
            this.hmpFormat = f;
            return this;
        }

        /** The whole HMP behaviour (for HMP-only commands or ones that are not a single QMP call). */
        public Builder hmpRun(HmpRunner r) {
            this.hmpRunner = r;
            return this;
        }

        /** Overrides tab completion of HMP argument {@code argName}. */
        public Builder complete(String argName, CompletionKind kind) {
            completions.put(argName, kind);
            return this;
        }

        /** Marks the command as Strata's own, not one of QEMU's (QMP name {@code x-strata-...}). */
        public Builder strataOwn() {
            this.strataOwn = true;
            return this;
        }

        public Command build() {
            if (name != null && handler == null) {
                throw new IllegalStateException("QMP command " + name + " has no handler");
            }
            if (name == null && hmpRunner == null) {
                throw new IllegalStateException("HMP-only command " + hmpName + " needs hmpRun");
            }
            if (hmpName != null && argsType == null) {
                throw new IllegalStateException("HMP command " + hmpName + " has no args_type");
            }
            return new Command(this);
        }
    }
}
