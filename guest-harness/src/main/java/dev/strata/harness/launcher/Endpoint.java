package dev.strata.harness.launcher;

import java.nio.file.Path;

/**
 * Where a monitor talks: the terminal, a unix socket Strata listens on, or nowhere.
 *
 * @param path  the socket path for {@link Kind#UNIX}, else null
 * @param waitForClient QEMU's {@code wait=}: block start-up until the first client connects
 * @param typed the option as typed, for messages
 */
public record Endpoint(Kind kind, Path path, boolean waitForClient, String typed) {

    /** The char-device backends Strata supports. */
    public enum Kind { STDIO, UNIX, NONE }

    public static Endpoint stdio(String typed) {
        return new Endpoint(Kind.STDIO, null, false, typed);
    }

    public static Endpoint none(String typed) {
        return new Endpoint(Kind.NONE, null, false, typed);
    }
}
