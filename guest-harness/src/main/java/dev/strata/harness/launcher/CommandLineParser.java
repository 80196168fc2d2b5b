package dev.strata.harness.launcher;

import dev.strata.monitor.cli.JsonOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a QEMU-style machine command line into a {@link MachineConfig}, or fails with one
 * {@link UsageException} naming the option. Pure: it opens no file and starts nothing, so every
 * rule here is testable without a machine.
 *
 * <p>Options are QEMU's subset Strata implements ({@code -drive}, {@code -blockdev},
 * {@code -device}, {@code -monitor}, {@code -qmp}, {@code -chardev}/{@code -mon}, {@code -S},
 * {@code -name}), options a lab script passes that have no meaning here (accepted and ignored:
 * {@code -machine}, {@code -m}, {@code -cpu}, ...), and Strata's own {@code -guest}. As in QEMU,
 * {@code --opt} is the same as {@code -opt}.
 *
 * <p>Stateless; any thread.
 */
public final class CommandLineParser {

    /** Options that take a value and mean nothing to a block-layer machine. */
    private static final Set<String> IGNORED_WITH_VALUE = Set.of("machine", "M", "m", "cpu", "smp", "accel",
            "display", "vga", "serial", "parallel", "boot", "k", "rtc");
    /** Flags that mean nothing here. */
    private static final Set<String> IGNORED_FLAGS = Set.of("enable-kvm", "nographic", "no-user-config",
            "no-reboot", "no-shutdown", "no-hpet");
    /** Options that take a value and are handled below. */
    private static final Set<String> WITH_VALUE = Set.of("drive", "blockdev", "device", "monitor", "qmp",
            "qmp-pretty", "chardev", "mon", "name", "guest", "object");

    /** Parses the arguments after {@code strata} (not a subcommand such as {@code img}). */
    public MachineConfig parse(List<String> args) {
        State s = new State();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg == null) {
                throw new UsageException(null, "empty argument");
            }
            if (!arg.startsWith("-") || arg.equals("-") || arg.equals("--")) {
                throw new UsageException(arg, "unexpected argument (Strata takes no bare image names; use -drive file=" + arg + ")");
            }
            String name = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
            boolean takesValue = WITH_VALUE.contains(name) || IGNORED_WITH_VALUE.contains(name);
            if (takesValue) {
                if (i + 1 >= args.size()) {
                    throw new UsageException("-" + name, "requires an argument");
                }
                String value = args.get(++i);
                if (value == null) {
                    throw new UsageException("-" + name, "requires an argument");
                }
                s.option(name, value, "-" + name + " " + value);
            } else if (IGNORED_FLAGS.contains(name)) {
                // accepted so QEMU command lines run unchanged
            } else if (name.equals("S")) {
                s.startPaused = true;
            } else if (name.equals("nodefaults")) {
                s.nodefaults = true;
            } else {
                throw new UsageException("-" + name, "invalid option");
            }
        }
        return s.finish();
    }

    /** The command line being read; one per {@link #parse} call. */
    private static final class State {
        final DriveOptions drives = new DriveOptions();
        final List<DriveSpec> driveList = new ArrayList<>();
        final List<BlockdevSpec> blockdevs = new ArrayList<>();
        final List<DeviceSpec> devices = new ArrayList<>();
        final List<GuestSpec> guests = new ArrayList<>();
        final List<String> objects = new ArrayList<>();
        final Map<String, Endpoint> chardevs = new LinkedHashMap<>();
        final List<String[]> mons = new ArrayList<>(); // {chardev id, mode, typed}
        final List<Endpoint> qmp = new ArrayList<>();
        Endpoint monitor;
        boolean startPaused;
        boolean nodefaults;
        String name;

        void option(String opt, String value, String typed) {
            switch (opt) {
                case "drive" -> driveList.add(drives.parse(value, typed));
                case "blockdev" -> blockdevs.add(blockdev(value, typed));
                case "device" -> devices.add(device(value, typed));
                case "monitor" -> {
                    Endpoint e = ChardevOptions.parseShort(value, typed);
                    if (monitor != null && monitor.kind() != Endpoint.Kind.NONE && e.kind() != Endpoint.Kind.NONE) {
                        throw new UsageException(typed, "Strata runs one HMP monitor; this is the second -monitor");
                    }
                    monitor = e;
                }
                case "qmp", "qmp-pretty" -> {
                    Endpoint e = ChardevOptions.parseShort(value, typed);
                    if (e.kind() == Endpoint.Kind.STDIO) {
                        throw new UsageException(typed, "QMP on stdio is not supported (use unix:PATH,server=on,wait=off)");
                    }
                    if (e.kind() == Endpoint.Kind.UNIX) {
                        qmp.add(e);
                    }
                }
                case "chardev" -> {
                    Map.Entry<String, Endpoint> c = ChardevOptions.parseChardev(value, typed);
                    if (chardevs.putIfAbsent(c.getKey(), c.getValue()) != null) {
                        throw new UsageException(typed, "attempt to add duplicate property '" + c.getKey() + "' to object (type 'container')");
                    }
                }
                case "mon" -> {
                    Map<String, String> o = OptionText.parse(value, "chardev", List.of("pretty"), typed, true);
                    for (String k : o.keySet()) {
                        if (!List.of("chardev", "mode", "pretty", "id").contains(k)) {
                            throw new UsageException(typed, "Invalid parameter '" + k + "'");
                        }
                    }
                    String mode = o.getOrDefault("mode", "readline");
                    if (!mode.equals("readline") && !mode.equals("control")) {
                        throw new UsageException(typed, "Parameter 'mode' does not accept value '" + mode + "'");
                    }
                    String chardev = o.get("chardev");
                    if (chardev == null || chardev.isEmpty()) {
                        throw new UsageException(typed, "Parameter 'chardev' is missing");
                    }
                    mons.add(new String[] {chardev, mode, typed});
                }
                case "name" -> {
                    Map<String, String> o = OptionText.parse(value, "guest", List.of(), typed, true);
                    name = o.getOrDefault("guest", "");
                }
                case "guest" -> guests.add(GuestOptions.parse(value, typed));
                case "object" -> objects.add(value);
                default -> { } // ignored options
            }
        }

        MachineConfig finish() {
            for (String[] m : mons) {
                Endpoint e = chardevs.get(m[0]);
                if (e == null) {
                    throw new UsageException(m[2], "chardev \"" + m[0] + "\" not found");
                }
                if (m[1].equals("control")) {
                    if (e.kind() != Endpoint.Kind.UNIX) {
                        throw new UsageException(m[2], "QMP on stdio is not supported (use a socket chardev)");
                    }
                    qmp.add(e);
                } else {
                    if (monitor != null && monitor.kind() != Endpoint.Kind.NONE) {
                        throw new UsageException(m[2], "Strata runs one HMP monitor; this is the second");
                    }
                    monitor = e;
                }
            }
            Set<String> sockets = new HashSet<>();
            for (Endpoint e : allEndpoints()) {
                if (e.kind() == Endpoint.Kind.UNIX && !sockets.add(e.path().toString())) {
                    throw new UsageException(e.typed(), "socket path '" + e.path() + "' is used twice");
                }
            }
            if (monitor == null) {
                // QEMU's default monitor; -nodefaults drops it, as in QEMU
                monitor = nodefaults ? Endpoint.none(null) : Endpoint.stdio(null);
            }
            checkReferences();
            return new MachineConfig(driveList, blockdevs, devices, monitor, qmp, startPaused, name, guests, objects);
        }

        private List<Endpoint> allEndpoints() {
            List<Endpoint> l = new ArrayList<>(qmp);
            if (monitor != null) {
                l.add(monitor);
            }
            return l;
        }

        /** Name clashes and dangling references a QEMU command line would also refuse. */
        private void checkReferences() {
            Set<String> nodeNames = new HashSet<>();
            for (BlockdevSpec b : blockdevs) {
                if (!nodeNames.add(b.nodeName())) {
                    throw new UsageException(b.typed(), "Duplicate nodes with node-name='" + b.nodeName() + "'");
                }
            }
            Set<String> driveIds = new HashSet<>();
            for (DriveSpec d : driveList) {
                driveIds.add(d.id());
                String nn = d.blockOptions().get("node-name");
                if (nn != null && !nodeNames.add(nn)) {
                    throw new UsageException(d.typed(), "Duplicate nodes with node-name='" + nn + "'");
                }
            }
            for (DriveSpec d : driveList) {
                if (nodeNames.contains(d.id())) {
                    throw new UsageException(d.typed(), "Device name '" + d.id() + "' conflicts with an existing node name");
                }
            }
            Set<String> used = new HashSet<>();
            Set<String> qdevIds = new HashSet<>();
            for (DeviceSpec dev : devices) {
                boolean isDrive = driveIds.contains(dev.drive());
                if (!isDrive && !nodeNames.contains(dev.drive())) {
                    throw new UsageException(dev.typed(), "Property '" + dev.model().word() + ".drive' can't find value '" + dev.drive() + "'");
                }
                if (isDrive) {
                    DriveSpec d = driveList.stream().filter(x -> x.id().equals(dev.drive())).findFirst().orElseThrow();
                    if (d.iface() != DriveInterface.NONE) {
                        throw new UsageException(dev.typed(), "Drive '" + dev.drive() + "' is already in use by if=" + d.iface().word() + " (use if=none)");
                    }
                }
                if (!used.add(dev.drive())) {
                    throw new UsageException(dev.typed(), "Drive '" + dev.drive() + "' is already in use by another device");
                }
                if (dev.id() != null && !qdevIds.add(dev.id())) {
                    throw new UsageException(dev.typed(), "Duplicate device ID '" + dev.id() + "'");
                }
            }
        }

        private static BlockdevSpec blockdev(String value, String typed) {
            Map<String, String> o;
            if (value.startsWith("{")) {
                try {
                    o = JsonOptions.flatten(value);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(typed, e.getMessage());
                }
            } else {
                o = OptionText.parse(value, null, List.of(), typed, false);
            }
            if (!o.containsKey("driver") || o.get("driver").isEmpty()) {
                throw new UsageException(typed, "Parameter 'driver' is missing");
            }
            String nodeName = o.get("node-name");
            if (nodeName == null || nodeName.isEmpty()) {
                throw new UsageException(typed, "'node-name' must be specified for the root node");
            }
            checkNodeName(nodeName, typed);
            return new BlockdevSpec(nodeName, blockdevRequestOptions(o, typed), typed);
        }

        /**
         * The generic request options as QEMU's -blockdev schema takes them: {@code discard} is
         * {@code ignore} (the default) or {@code unmap}, {@code detect-zeroes=unmap} needs
         * {@code discard=unmap}, and {@code copy-on-read} is a {@code -drive} option only.
         */
        private static Map<String, String> blockdevRequestOptions(Map<String, String> given, String typed) {
            Map<String, String> o = new LinkedHashMap<>(given);
            if (o.containsKey("copy-on-read")) {
                throw new UsageException(typed, "Parameter 'copy-on-read' is unexpected");
            }
            String discard = o.getOrDefault("discard", "ignore");
            if (!discard.equals("ignore") && !discard.equals("unmap")) {
                throw new UsageException(typed, "Parameter 'discard' does not accept value '" + discard + "'");
            }
            if ("unmap".equals(o.get("detect-zeroes")) && !discard.equals("unmap")) {
                throw new UsageException(typed, "setting detect-zeroes to unmap is not allowed without setting discard operation to unmap");
            }
            o.put("discard", discard);
            return o;
        }

        /** QEMU's id rule: a letter first, then letters, digits, '-', '.', '_'. */
        static void checkNodeName(String n, String typed) {
            boolean ok = !n.isEmpty() && Character.isLetter(n.charAt(0)) && n.length() <= 31
                    && n.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || c == '-' || c == '.' || c == '_'));
            if (!ok) {
                throw new UsageException(typed, "Invalid node-name: '" + n + "'");
            }
        }

        private static DeviceSpec device(String value, String typed) {
            Map<String, String> o = OptionText.parse(value, "driver", List.of(), typed, true);
            String driver = o.getOrDefault("driver", "");
            if (driver.equals("help")) {
                throw new UsageException(typed, "Strata's device models: virtio-blk-pci, virtio-blk, ide-hd");
            }
            DeviceModel model = DeviceModel.parse(driver, typed);
            for (String k : o.keySet()) {
                if (!List.of("driver", "drive", "id", "bus", "unit", "serial", "bootindex", "write-cache", "addr").contains(k)) {
                    throw new UsageException(typed, "Property '" + model.word() + "." + k + "' not found");
                }
            }
            String drive = o.get("drive");
            if (drive == null || drive.isEmpty()) {
                throw new UsageException(typed, "drive property not set");
            }
            String id = o.get("id");
            if (id != null) {
                checkNodeName(id, typed);
            }
            String wc = o.getOrDefault("write-cache", "auto");
            if (!List.of("on", "off", "auto").contains(wc)) {
                throw new UsageException(typed, "Parameter 'write-cache' does not accept value '" + wc + "'");
            }
            return new DeviceSpec(model, drive, id, wc.equals("auto") ? null : wc.equals("on"), typed);
        }
    }
}
