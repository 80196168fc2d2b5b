package dev.strata.jobs;

/**
 * A refused job command, carrying the QMP error class QEMU uses for it, so the monitor maps it
 * without parsing text ({@code GenericError} for almost everything; {@code DeviceNotActive} for an
 * unknown job via {@code block-job-*}; {@code DeviceNotFound} for {@code block-commit}'s device).
 */
public final class JobException extends RuntimeException {

    /** QMP error classes used by job commands. */
    public enum ErrorClass {
        GENERIC_ERROR("GenericError"), DEVICE_NOT_ACTIVE("DeviceNotActive"), DEVICE_NOT_FOUND("DeviceNotFound");

        private final String qmpName;

        ErrorClass(String qmpName) {
            this.qmpName = qmpName;
        }

        public String qmpName() {
            return qmpName;
        }
    }

    private final ErrorClass errorClass;

    public JobException(ErrorClass errorClass, String message) {
        super(message);
        this.errorClass = errorClass;
    }

    public ErrorClass errorClass() {
        return errorClass;
    }

    public static JobException generic(String message) {
        return new JobException(ErrorClass.GENERIC_ERROR, message);
    }
}
