package dev.strata.blockdrv;

import java.util.Set;

/**
 * Refuses open options a node's driver would not act on, so nothing the user typed is silently
 * ignored: keys no layer knows get QEMU's {@code -drive} message ({@code Block format 'qcow2' does
 * not support the option 'foo'}, {@code Block protocol 'file' doesn't support the option 'foo'}),
 * QEMU options Strata's driver lacks say so. The refused key's full dotted path travels in the
 * cause ({@link Unexpected}) for front ends that word it as QEMU's {@code -blockdev} does.
 *
 * <p>Stateless.
 */
public final class DriverOptions {

    /** Keys every node takes (generic node options and the child references). */
    private static final Set<String> GENERIC = Set.of("driver", "format", "node-name", "read-only", "readonly",
            "detect-zeroes", "discard", "copy-on-read", "force-share", "locking", "x-unshare-write", "auto-read-only",
            "cache", "cache.direct", "cache.no-flush", "file", "backing",
            // Strata's internal open flags (image probing, strata img check, tests)
            "x-probed", "x-check", "x-mmap");

    /** The refused key, with its path from the option tree's root (e.g. {@code file.foo}). */
    static final class Unexpected extends RuntimeException {
        private final String path;

        Unexpected(String path) {
            super(path, null, false, false);
            this.path = path;
        }

        String path() {
            return path;
        }
    }

    private DriverOptions() {
    }

    /**
     * Checks the top-level keys of {@code o} (children are checked when they are opened);
     * {@code prefix} is where {@code o} sits in the user's option tree ({@code ""}, {@code file.}).
     */
    static void check(BlockDriverFactory f, BlockOptions o, String prefix) {
        for (String k : o.keys()) {
            if (k.startsWith("file.") || k.startsWith("backing.") || GENERIC.contains(k)
                    || (f.isProtocol() && k.equals("filename")) || f.runtimeOptions().contains(k)) {
                continue;
            }
            String message = f.qemuOptionsNotImplemented().contains(k)
                    ? f.name() + " option '" + k + "' is not supported by Strata"
                    : f.isProtocol() ? "Block protocol '" + f.name() + "' doesn't support the option '" + k + "'"
                    : "Block format '" + f.name() + "' does not support the option '" + k + "'";
            throw new BlockException(BlockException.Kind.INVALID_ARGUMENT, message, new Unexpected(prefix + k));
        }
        if (o.getBool("auto-read-only", false)) {
            throw BlockException.unsupported("auto-read-only=on is not supported by Strata");
        }
    }

    /** The dotted path of the key {@code e} refused, or null when {@code e} is about something else. */
    public static String unexpectedPath(BlockException e) {
        return e.getCause() instanceof Unexpected u ? u.path() : null;
    }
}
