package dev.strata.harness.launcher;

/**
 * One {@code -device}: a disk model attached to a drive id or node name.
 *
 * @param id         the qdev id, or null for an anonymous device
 * @param writeCache {@code write-cache=on|off} (sets the drive's write cache), null for auto (the drive's own)
 * @param typed      the option as typed, for messages
 */
public record DeviceSpec(DeviceModel model, String drive, String id, Boolean writeCache, String typed) {

    public DeviceSpec(DeviceModel model, String drive, String id, String typed) {
        this(model, drive, id, null, typed);
    }
}
