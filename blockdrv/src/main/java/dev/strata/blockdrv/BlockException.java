package dev.strata.blockdrv;

/**
 * The one failure type of the block layer. The {@link Kind} says what went wrong in terms a
 * boundary can map once (guest status byte, QMP error class, HMP line); the message is written
 * for a person and already names the file or node involved.
 *
 * <p>Unchecked on purpose: block requests are plain blocking calls (from the guest's and NBD's
 * virtual threads, and from the platform threads that run job bodies and their copies), and
 * every boundary catches this one type.
 */
public final class BlockException extends RuntimeException {

    /** What kind of failure this is; chosen so each boundary can map it without parsing text. */
    public enum Kind {
        /** An I/O error from the host (EIO). */
        IO("Input/output error"),
        /** The host file system is full (ENOSPC). */
        NO_SPACE("No space left on device"),
        /** The file is not in the format it claims, or a header field is out of range. */
        INVALID_FORMAT("Invalid argument"),
        /** Metadata inside a valid image is inconsistent (a pointer past EOF, an overlap ...). */
        CORRUPT("Input/output error"),
        /** A feature the image or request needs is not implemented (ENOTSUP). */
        UNSUPPORTED("Operation not supported"),
        /** A file, node, device or job does not exist (ENOENT). */
        NOT_FOUND("No such file or directory"),
        /** The operation is not permitted, e.g. writing a read-only node (EACCES/EPERM). */
        PERMISSION("Permission denied"),
        /** The caller asked for something malformed: out of bounds, misaligned, bad option. */
        INVALID_ARGUMENT("Invalid argument"),
        /** The node or image is in use (EBUSY, image locks). */
        BUSY("Device or resource busy"),
        /** The request was cancelled. */
        CANCELLED("Operation canceled");

        private final String strerror;

        Kind(String strerror) {
            this.strerror = strerror;
        }

        /** The C library text for the errno QEMU would report, e.g. {@code Input/output error}. */
        public String strerror() {
            return strerror;
        }
    }

    private final Kind kind;

    public BlockException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public BlockException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** Shorthand for the common "the request is malformed" failure. */
    public static BlockException invalid(String message) {
        return new BlockException(Kind.INVALID_ARGUMENT, message);
    }

    /** Shorthand for a metadata inconsistency found while reading an image. */
    public static BlockException corrupt(String message) {
        return new BlockException(Kind.CORRUPT, message);
    }

    /** Shorthand for a feature that is deliberately refused. */
    public static BlockException unsupported(String message) {
        return new BlockException(Kind.UNSUPPORTED, message);
    }
}
