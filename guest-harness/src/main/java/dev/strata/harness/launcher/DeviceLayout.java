package dev.strata.harness.launcher;

import dev.strata.blockdrv.error.OnError;
import java.util.ArrayList;
import java.util.List;

/**
 * Which disk devices a command line creates, in QEMU's creation order: explicit {@code -device}s
 * first, then the devices QEMU adds for {@code if=virtio} and {@code if=ide} drives (observed on
 * QEMU 7.2). The order matters because anonymous devices are numbered
 * {@code /machine/peripheral-anon/device[N]} as they are created.
 *
 * <p>Pure; any thread.
 */
public final class DeviceLayout {

    /**
     * One disk device to create.
     *
     * @param virtio    virtio-blk when true, IDE hard disk when false
     * @param drive     the drive id or node name it is attached to
     * @param qdevId    the device id ({@code -device ...,id=}) or null
     * @param fromDrive true when made by {@code -drive if=virtio|ide} (an on-board IDE disk), false for {@code -device}
     * @param rerror    read error policy (the drive's {@code rerror=}; default for a -blockdev node)
     * @param werror    write error policy
     * @param writeCache the device's {@code write-cache} (on/off), or null to keep the drive's
     * @param typed     the option that asked for it, for messages
     */
    public record Planned(boolean virtio, String drive, String qdevId, boolean fromDrive,
                          OnError rerror, OnError werror, Boolean writeCache, String typed) {
    }

    private DeviceLayout() {
    }

    public static List<Planned> plan(MachineConfig c) {
        List<Planned> out = new ArrayList<>();
        for (DeviceSpec d : c.devices()) {
            DriveSpec drive = c.drives().stream().filter(x -> x.id().equals(d.drive())).findFirst().orElse(null);
            out.add(new Planned(d.model().isVirtio(), d.drive(), d.id(), false,
                    drive != null ? drive.rerror() : OnError.DEFAULT_RERROR,
                    drive != null ? drive.werror() : OnError.DEFAULT_WERROR, d.writeCache(), d.typed()));
        }
        for (DriveSpec d : c.drives()) {
            if (d.iface() != DriveInterface.NONE) {
                out.add(new Planned(d.iface() == DriveInterface.VIRTIO, d.id(), null, true, d.rerror(), d.werror(), null, d.typed()));
            }
        }
        return out;
    }
}
