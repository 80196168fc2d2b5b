package dev.strata.harness.launcher;

import java.util.ArrayList;
import java.util.List;

/**
 * Which disk devices a command line creates, in QEMU's creation order, with the QOM path
 * {@code info block} prints as "Attached to". Explicit {@code -device}s come first, then the
 * devices QEMU adds for {@code if=virtio} and {@code if=ide} drives; anonymous devices are
 * numbered {@code /machine/peripheral-anon/device[N]} in that order (observed on QEMU 7.2).
 *
 * <p>Pure; any thread.
 */
public final class DeviceLayout {

    /** QOM index of the first on-board IDE disk on QEMU 7.2's {@code pc} machine with -nodefaults. */
    static final int FIRST_IDE_QOM_INDEX = 18;

    /**
     * One disk device to create.
     *
     * @param virtio   virtio-blk when true, IDE hard disk when false
     * @param drive    the drive id or node name it is attached to
     * @param qdevId   the device id ({@code -device ...,id=}) or null
     * @param qomPath  what "Attached to" shows
     * @param fromDrive true when made by {@code -drive if=virtio|ide}, false for {@code -device}
     */
    public record Planned(boolean virtio, String drive, String qdevId, String qomPath, boolean fromDrive) {
    }

    private DeviceLayout() {
    }

    public static List<Planned> plan(MachineConfig c) {
        List<Planned> out = new ArrayList<>();
        int anon = 0;
        for (DeviceSpec d : c.devices()) {
            String path;
            if (d.id() == null) {
                path = "/machine/peripheral-anon/device[" + anon++ + "]" + (d.model().isVirtio() ? "/virtio-backend" : "");
            } else {
                path = d.model().isVirtio() ? "/machine/peripheral/" + d.id() + "/virtio-backend" : d.id();
            }
            out.add(new Planned(d.model().isVirtio(), d.drive(), d.id(), path, false));
        }
        int ide = FIRST_IDE_QOM_INDEX;
        for (DriveSpec d : c.drives()) {
            switch (d.iface()) {
                case VIRTIO -> out.add(new Planned(true, d.id(), null,
                        "/machine/peripheral-anon/device[" + anon++ + "]/virtio-backend", true));
                case IDE -> out.add(new Planned(false, d.id(), null, "/machine/unattached/device[" + ide++ + "]", true));
                case NONE -> { }
            }
        }
        return out;
    }
}
