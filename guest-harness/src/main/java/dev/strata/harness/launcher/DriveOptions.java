package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.NodeCache;
import dev.strata.blockdrv.error.OnError;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code -drive} values and hands out QEMU's default drive ids. One instance per command
 * line, because the ids depend on the drives seen before ({@code virtio0}, {@code virtio1}, ...;
 * {@code ide0-hd0}, {@code ide0-hd1}, {@code ide1-hd0}, {@code ide1-hd1}; {@code none0}, ...).
 *
 * <p>Not thread-safe; used by one parser on one thread.
 */
final class DriveOptions {

    /** A PC machine has two IDE buses with two units each, as QEMU's {@code pc} machine. */
    static final int IDE_BUSES = 2;
    static final int IDE_UNITS = 2;

    private static final String CACHE_WRITEBACK = "cache.writeback";
    private static final Set<String> CACHE_MODES = Set.of("writeback", "none", "writethrough", "directsync", "unsafe");
    private static final Set<String> OTHER_BUSES = Set.of("scsi", "floppy", "pflash", "mtd", "sd", "xen");
    /** QEMU -drive options (throttling, legacy geometry, device properties) that Strata does not implement. */
    private static final Set<String> QEMU_DRIVE_ONLY = Set.of("bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr",
            "bps_max", "bps_rd_max", "bps_wr_max", "iops_max", "iops_rd_max", "iops_wr_max", "bps_max_length",
            "bps_rd_max_length", "bps_wr_max_length", "iops_max_length", "iops_rd_max_length", "iops_wr_max_length",
            "iops_size", "group", "serial", "addr", "cyls", "heads", "secs", "trans", "boot", "werror_policy");
    private static final Set<String> DETECT_ZEROES = Set.of("off", "on", "unmap");
    private static final Set<String> DISCARD = Set.of("ignore", "off", "unmap", "on");

    private final Map<DriveInterface, Set<Integer>> usedIndexes = new LinkedHashMap<>();
    private final Set<String> ids = new HashSet<>();

    DriveSpec parse(String value, String typed) {
        Map<String, String> o = OptionText.parse(value, "file", List.of(), typed, true);
        DriveInterface iface = iface(o.getOrDefault("if", "ide"), typed);
        // QEMU's -drive defaults to if=ide; Strata follows it, and the docs say so.
        int index = index(iface, o, typed);
        String id = o.getOrDefault("id", defaultId(iface, index));
        if (id.isEmpty()) {
            throw new UsageException(typed, "Parameter 'id' expects an identifier");
        }
        if (!ids.add(id)) {
            throw new UsageException(typed, "Duplicate ID '" + id + "' for drive");
        }
        String file = o.get("file");
        if (file == null || file.isEmpty()) {
            throw new UsageException(typed, "a drive needs a file= (empty drives are not supported)");
        }
        String cache = o.getOrDefault("cache", "writeback");
        if (!CACHE_MODES.contains(cache)) {
            throw new UsageException(typed, "invalid cache option");
        }
        // cache=MODE only sets defaults: cache.writeback, cache.direct and cache.no-flush win (as QEMU)
        boolean writeCache = o.containsKey(CACHE_WRITEBACK) ? OptionText.bool(o.get(CACHE_WRITEBACK), CACHE_WRITEBACK, typed)
                : BlockBackend.CacheMode.parse(cache).writeback();
        boolean readOnly = OptionText.bool(o.getOrDefault("readonly", o.getOrDefault("read-only", "off")), "read-only", typed);
        OnError rerror = policy(o.getOrDefault("rerror", OnError.DEFAULT_RERROR.qapiName()), true, typed);
        OnError werror = policy(o.getOrDefault("werror", OnError.DEFAULT_WERROR.qapiName()), false, typed);
        String media = o.getOrDefault("media", "disk");
        if (!media.equals("disk")) {
            throw new UsageException(typed, media.equals("cdrom") ? "media=cdrom is not supported (Strata has disks only)"
                    : "'" + media + "' invalid media");
        }
        if (OptionText.bool(o.getOrDefault("snapshot", "off"), "snapshot", typed)) {
            throw new UsageException(typed, "snapshot=on is not supported");
        }
        // QEMU's -drive wording for bad values of the generic request options
        if (o.containsKey("detect-zeroes") && !DETECT_ZEROES.contains(o.get("detect-zeroes"))) {
            throw new UsageException(typed, "invalid parameter value: " + o.get("detect-zeroes"));
        }
        if (o.containsKey("discard") && !DISCARD.contains(o.get("discard"))) {
            throw new UsageException(typed, "Invalid discard option");
        }
        if (o.containsKey("copy-on-read")) {
            o.put("copy-on-read", OptionText.bool(o.get("copy-on-read"), "copy-on-read", typed) ? "on" : "off");
        }
        return new DriveSpec(id, iface, index, cache, writeCache, readOnly, rerror, werror, blockOptions(o, readOnly, cache, typed), typed);
    }

    private static Map<String, String> blockOptions(Map<String, String> o, boolean readOnly, String cache, String typed) {
        Map<String, String> b = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : o.entrySet()) {
            String k = e.getKey();
            switch (k) {
                case "if", "id", "index", "bus", "unit", "cache", "readonly", "read-only", "rerror", "werror", "media",
                     "snapshot", CACHE_WRITEBACK -> { }
                case "file" -> b.put("file", e.getValue());
                case "format" -> {
                    if (e.getValue().isEmpty()) {
                        throw new UsageException(typed, "Parameter 'format' expects a format name");
                    }
                    b.put("driver", e.getValue());
                }
                case "node-name" -> b.put("node-name", e.getValue());
                // QEMU applies aio to the protocol layer under the image
                case "aio" -> b.put("file.aio", e.getValue());
                default -> {
                    if (QEMU_DRIVE_ONLY.contains(k) || k.startsWith("throttling.") || k.startsWith("stats-")) {
                        throw new UsageException(typed, "-drive option '" + k + "' is not supported by Strata");
                    }
                    // everything else goes to the block layer, which acts on it or refuses it by
                    // name as QEMU does (Block format 'qcow2' does not support the option 'foo')
                    b.put(k, e.getValue());
                }
            }
        }
        b.put("read-only", readOnly ? "on" : "off");
        // QEMU's default for a drive's node: discards (and the unmap wish of zero writes) are dropped
        b.putIfAbsent("discard", "ignore");
        // direct (none, directsync) and no-flush (unsafe) are options of the image node and of
        // everything opened under it; write-back versus writethrough is the backend's
        BlockBackend.CacheMode mode = BlockBackend.CacheMode.parse(cache);
        if (o.containsKey("cache")) {
            b.putIfAbsent(NodeCache.DIRECT, mode.direct() ? "on" : "off");
            b.putIfAbsent(NodeCache.NO_FLUSH, mode.noFlush() ? "on" : "off");
        }
        return b;
    }

    private static OnError policy(String value, boolean forRead, String typed) {
        try {
            return OnError.parseDriveOption(value, forRead);
        } catch (BlockException e) {
            throw new UsageException(typed, e.getMessage());
        }
    }

    private static DriveInterface iface(String word, String typed) {
        for (DriveInterface i : DriveInterface.values()) {
            if (i.word().equals(word)) {
                return i;
            }
        }
        if (OTHER_BUSES.contains(word)) {
            throw new UsageException(typed, "if=" + word + " is not supported (Strata has if=virtio, if=ide and if=none)");
        }
        throw new UsageException(typed, "unsupported bus type '" + word + "'");
    }

    private int index(DriveInterface iface, Map<String, String> o, String typed) {
        Set<Integer> used = usedIndexes.computeIfAbsent(iface, k -> new HashSet<>());
        int perBus = iface == DriveInterface.IDE ? IDE_UNITS : 0;
        int index;
        if (o.containsKey("index")) {
            if (o.containsKey("bus") || o.containsKey("unit")) {
                throw new UsageException(typed, "index cannot be used with bus and unit");
            }
            index = (int) OptionText.number(o.get("index"), "index", typed, 0, 1 << 20);
        } else if (o.containsKey("bus") || o.containsKey("unit")) {
            int bus = (int) OptionText.number(o.getOrDefault("bus", "0"), "bus", typed, 0, 1 << 10);
            int unit = (int) OptionText.number(o.getOrDefault("unit", "0"), "unit", typed, 0, 1 << 10);
            if (perBus > 0 && unit >= perBus) {
                throw new UsageException(typed, "unit " + unit + " too big (max is " + (perBus - 1) + ")");
            }
            index = perBus > 0 ? bus * perBus + unit : unit;
        } else {
            index = 0;
            while (used.contains(index)) {
                index++;
            }
        }
        if (iface == DriveInterface.IDE && index >= IDE_BUSES * IDE_UNITS) {
            throw new UsageException(typed, "machine type does not support if=ide,bus=" + index / perBus + ",unit=" + index % perBus);
        }
        if (!used.add(index)) {
            String where = perBus > 0 ? "bus=" + index / perBus + ", unit=" + index % perBus : "bus=0, unit=" + index;
            throw new UsageException(typed, "drive with " + where + " (index=" + index + ") exists");
        }
        return index;
    }

    private static String defaultId(DriveInterface iface, int index) {
        return switch (iface) {
            case IDE -> "ide" + index / IDE_UNITS + "-hd" + index % IDE_UNITS;
            case VIRTIO -> "virtio" + index;
            case NONE -> "none" + index;
        };
    }

    /** Ids taken so far (drives only), for the parser's cross checks. */
    List<String> ids() {
        return new ArrayList<>(ids);
    }
}
