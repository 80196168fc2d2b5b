package dev.strata.jobs;

/**
 * A refused job command. The {@link Kind} says what went wrong in the framework's own terms, so a
 * boundary maps it without parsing text (the monitor's command registry turns it into a QMP error
 * class); the message is QEMU's text for the refusal. Immutable; thrown on the caller's thread.
 */
public final class JobException extends RuntimeException {

    /** What the job framework refused, as far as a caller may need to tell the cases apart. */
    public enum Kind {
        /** Refused for the reason the message gives: a bad argument, an unsupported option ... */
        GENERIC,
        /** The job's current status does not allow the verb (QEMU's verb table, a paused job). */
        INVALID_STATE,
        /** A node the command needs is in use by another job or operation. */
        BUSY,
        /** No job has the ID a {@code job-*} verb names. */
        JOB_NOT_FOUND,
        /** No block job has the ID a {@code block-job-*} verb names. */
        BLOCK_JOB_NOT_FOUND,
        /** No drive has the name the command names ({@code block-commit}'s {@code device}). */
        DEVICE_NOT_FOUND
    }

    private final Kind kind;

    public JobException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static JobException generic(String message) {
        return new JobException(Kind.GENERIC, message);
    }
}
