package dev.strata.harness.launcher;

import dev.strata.blockdrv.error.OnError;
import java.util.Map;

/**
 * One {@code -drive}: a backend named {@link #id()} on an image, plugged into a device by
 * {@link #iface()} (or into nothing for {@code if=none}).
 *
 * @param id           the backend name: given by {@code id=} or made up as QEMU does
 *                     ({@code virtio0}, {@code ide0-hd1}, {@code none0})
 * @param iface        the device kind
 * @param index        the position among drives of that interface (QEMU's {@code index})
 * @param cache        the {@code cache=} mode word (writeback, none, writethrough, directsync, unsafe)
 * @param writeCache   the backend's write cache: {@code cache.writeback}, else what {@code cache=} implies
 * @param blockOptions what goes to the block layer: {@code file}, {@code driver}, {@code node-name},
 *                     {@code read-only} and any format or protocol option ({@code file.locking},
 *                     {@code l2-cache-size}, ...), as flat dotted keys
 * @param typed        the option as the user typed it, for messages
 */
public record DriveSpec(String id, DriveInterface iface, int index, String cache, boolean writeCache, boolean readOnly,
                        OnError rerror, OnError werror, Map<String, String> blockOptions, String typed) {

    public DriveSpec {
        blockOptions = Map.copyOf(blockOptions);
    }

    /** The image file name as given. */
    public String file() {
        return blockOptions.get("file");
    }

    /** The format, or null to probe. */
    public String format() {
        return blockOptions.get("driver");
    }
}
