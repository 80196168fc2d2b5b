package dev.strata.harness.launcher;

/** The {@code -device} models Strata has: a virtio-blk disk and an IDE hard disk. */
public enum DeviceModel {
    VIRTIO_BLK_PCI("virtio-blk-pci"),
    /** QEMU's alias for virtio-blk-pci on a PC machine. */
    VIRTIO_BLK("virtio-blk"),
    IDE_HD("ide-hd");

    private final String word;

    DeviceModel(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    public boolean isVirtio() {
        return this != IDE_HD;
    }

    static DeviceModel parse(String word, String option) {
        for (DeviceModel m : values()) {
            if (m.word.equals(word)) {
                return m;
            }
        }
        throw new UsageException(option, "'" + word + "' is not a valid device model name");
    }
}
