package dev.strata.monitor;

import dev.strata.blockdrv.BlockException;
import dev.strata.jobs.JobException;

/**
 * A command failed in a way the client is told about: QMP answers {@code {"error": {"class": ..,
 * "desc": ..}}}, HMP prints {@code Error: <desc>}. Thrown by handlers and by argument validation;
 * the registry maps the lower layers' failures ({@link BlockException}, {@link JobException}) with
 * {@link #of}; anything else escaping a handler is a bug and is reported as a GenericError.
 */
public final class CommandException extends RuntimeException {

    private final ErrorClass errorClass;

    public CommandException(ErrorClass errorClass, String desc) {
        super(desc, null, false, false);
        this.errorClass = errorClass;
    }

    public static CommandException generic(String desc) {
        return new CommandException(ErrorClass.GenericError, desc);
    }

    /** The block layer's failure as QEMU reports it: its message, class GenericError. */
    public static CommandException of(BlockException e) {
        return generic(e.getMessage());
    }

    /**
     * A refused job command as QEMU reports it: {@code DeviceNotActive} for an unknown block job,
     * {@code DeviceNotFound} for an unknown drive, {@code GenericError} for everything else.
     */
    public static CommandException of(JobException e) {
        ErrorClass c = switch (e.kind()) {
            case BLOCK_JOB_NOT_FOUND -> ErrorClass.DeviceNotActive;
            case DEVICE_NOT_FOUND -> ErrorClass.DeviceNotFound;
            case GENERIC, INVALID_STATE, BUSY, JOB_NOT_FOUND -> ErrorClass.GenericError;
        };
        return new CommandException(c, e.getMessage());
    }

    public ErrorClass errorClass() {
        return errorClass;
    }

    public String desc() {
        return getMessage();
    }

    /**
     * The text QMP puts in {@code desc}: QEMU's hints (the image-lock message's second line, "Is
     * another process using the image [x]?") are printed by HMP only.
     */
    public String qmpDesc() {
        String d = desc();
        int hint = d == null ? -1 : d.indexOf("\nIs another process using the image");
        return hint < 0 ? d : d.substring(0, hint);
    }
}
