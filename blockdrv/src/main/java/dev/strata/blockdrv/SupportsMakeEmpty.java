package dev.strata.blockdrv;

/**
 * Optional driver ability, QEMU's {@code bdrv_make_empty}: forget every mapping of this layer so
 * the whole disk reads from the backing file again (HMP {@code commit} empties the active image
 * after copying its data down). Guest-visible content changes unless the backing file already
 * holds the same data, so callers hold the node drained and notify nobody. Drivers without this
 * ability are simply left as they are, as QEMU does.
 */
public interface SupportsMakeEmpty {
    void makeEmpty();
}
