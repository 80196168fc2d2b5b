package dev.strata.harness.launcher;

/** The {@code if=} of {@code -drive}: which kind of device the drive is plugged into. */
public enum DriveInterface {
    VIRTIO("virtio"),
    IDE("ide"),
    /** A backend with no device; a later {@code -device ...,drive=ID} attaches it. */
    NONE("none");

    private final String word;

    DriveInterface(String word) {
        this.word = word;
    }

    /** The word used on the command line. */
    public String word() {
        return word;
    }
}
